"""coursekit: the student kit's course tooling — each lab's description and self-checks, and the generic layer.

What students receive (with ``minimodel``), and what the grader builds on:

- ``coursekit.lab``: what a lab is (assignment, notebook, blocks, results, files), found by assignment id;
- ``coursekit.labs``: the labs, one module each: description and self-checks;
- ``coursekit.checks``: what a check is (name, points, visibility, message) and how it runs;
- ``coursekit.checkers``: reusable pieces of checks (an array of a shape, a number, a manifest field);
- ``coursekit.results``: the one place that reads a live notebook namespace, into plain data;
- ``coursekit.handover``: that plain data as JSON and .npz files, for the grader (never a pickle);
- ``coursekit.selfcheck``: ``run_check``, what a notebook's test cell calls;
- ``coursekit.deliverables``, ``coursekit.cli``: ``course export`` and the students' ``course`` command.

Hidden checks, reference computations and the grader live in ``coursegrader``, which students never
receive. The library (``minimodel``) never imports this package.
"""
