"""coursekit: the course tooling that extends nbgrader for the minimodel labs.

Students never need to read it; instructors run it through ``nbgrader`` and the ``course`` command.

- ``coursekit.checks``: what a check is (name, points, visibility, message) and how it runs;
- ``coursekit.lab00``: the checks of Lab 00 "Permutation Equivariance, in Numbers";
- ``coursekit.notebook``: the bridge from a notebook's test cell to a check;
- ``coursekit.deliverables``: export a completed notebook into the lab's four files;
- ``coursekit.classreport``: per-student, per-block scores read from nbgrader's gradebook;
- ``coursekit.demo``: the end-to-end run behind ``make demo``;
- ``coursekit.cli``: the ``course`` command.

The library (``minimodel``) never imports this package.
"""
