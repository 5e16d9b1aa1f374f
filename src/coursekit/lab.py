"""A lab, described once: its nbgrader assignment, notebook, blocks, results, files and self-checks.

Each lab is a module of ``coursekit.labs`` that defines ``LAB = Lab(...)``. Every command takes an
assignment id, as nbgrader's do, and finds the lab with ``find_lab``; nothing else spells out a
lab's name. The grader-only half of a lab — its hidden checks and the reference computations
they use — is the module of the same name in ``coursegrader.labs``, which the student kit never
contains.

Adding a lab: a source notebook in ``source/<assignment>/``, its module here (description and
self-checks), and its hidden checks in ``coursegrader.labs``.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Mapping
from dataclasses import dataclass

from coursekit.checks import Registry
from coursekit.results import ResultSpec


@dataclass(frozen=True)
class Deliverables:
    """What ``course export`` writes: a folder with a script, the answer as README and the run's files."""

    folder: str  # relative to where the command runs, e.g. "experiments/16-permutation-equivariance"
    script: str  # e.g. "demo.py": the cells below, as one script
    script_cells: tuple[tuple[str, str], ...]  # (grade_id of a cell, its title in the script)
    answer_cell: str  # the written answer's grade_id; it becomes README.md
    copied_files: tuple[str, ...]  # files the run writes, copied into the folder


@dataclass(frozen=True)
class Lab:
    assignment: str  # nbgrader assignment id, the folder name under source/ and release/
    notebook: str  # the notebook's name without .ipynb
    title: str
    blocks: Mapping[str, str]  # block letter -> title, in the notebook's order
    results: ResultSpec  # what the checks read from the notebook
    writes: tuple[str, ...]  # files the notebook writes beside itself when it runs
    deliverables: Deliverables
    self_checks: Registry  # the visible checks: what students can run before submitting
    module: str = ""  # the module that defines it (``__name__``): its grader half has the same name
    solution: str = ""  # where ``course solution`` writes the reference solution, e.g. "solutions/00-...-ref.md"

    def block_of(self, grade_id: str) -> str | None:
        """The block a cell belongs to, by the naming convention ``[test_]block_<letter>[_...]``."""
        match = re.match(r"^(?:test_)?block_([a-z])(?:_|$)", grade_id)
        letter = match.group(1).upper() if match else None
        return letter if letter in self.blocks else None


class UnknownLab(LookupError):
    pass


def all_labs() -> list[Lab]:
    """Every lab of ``coursekit.labs``, in module order."""
    from coursekit import labs

    found = []
    for info in sorted(pkgutil.iter_modules(labs.__path__), key=lambda info: info.name):
        module = importlib.import_module(f"{labs.__name__}.{info.name}")
        lab = getattr(module, "LAB", None)
        if isinstance(lab, Lab):
            found.append(lab)
    return found


def find_lab(assignment: str) -> Lab:
    labs = all_labs()
    for lab in labs:
        if lab.assignment == assignment:
            return lab
    known = ", ".join(lab.assignment for lab in labs) or "none"
    raise UnknownLab(f"no lab has the assignment id {assignment!r}; known assignments: {known}")
