"""A lab, described once: its nbgrader assignment, notebook, blocks, graded cells, results, files and checks.

Each lab is a module that defines ``LAB = Lab(...)``. Every command takes an assignment id, as
nbgrader's do, and finds the lab with ``find_lab``; nothing else spells out a lab's name.

The description lists every cell of the notebook that nbgrader grades or students answer in
(``Cells``): each test cell (``CheckCell``: its grade_id, block, points, and whether students see its
check) and each answer cell (``AnswerCell``: code the checks read, or a written answer graded by
hand). These are public, as the release notebook shows them. Whatever needs a cell's block, points or
visibility reads them here: the checks, which attach a title and a function to a test cell
(``Cells.check``); ``course release``, which refuses a source notebook whose nbgrader metadata says
otherwise; the verdicts, results and reports. The grader-only half of a lab, its hidden checks and
the reference computations behind them, is the module of the same name in ``coursegrader.labs``,
which the student kit never contains.

Where labs are found: the modules of ``coursekit.labs``, then those of the folders a course names in
the environment variable ``COURSEKIT_LABS`` (``os.pathsep`` between folders). A module
``<folder>/<name>.py`` there that defines ``LAB`` is a lab, imported as ``<name>`` (the folder joins
``sys.path``); it keeps its hidden checks, ``HIDDEN_CHECKS``, beside its description, and at grading
the file is readable in the sandbox, on the kernel's import path (``coursegrader.run.sandbox``). So
its hidden checks are no secret from the code it grades: such a folder suits a lab whose checks need
none (the test suite's own second lab, ``tests/labs/``); a lab whose hidden checks must stay secret
belongs in the packages.

Adding a lab: a source notebook in ``source/<assignment>/``, its module in ``coursekit.labs`` (description and
self-checks), and its hidden checks in ``coursegrader.labs``.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import KW_ONLY, dataclass
from pathlib import Path

from coursekit.checks import Check, Registry
from coursekit.results import ResultSpec

LABS_VARIABLE = "COURSEKIT_LABS"  # folders of labs kept outside the packages, os.pathsep between them


@dataclass(frozen=True)
class Deliverables:
    """What ``course export`` writes: a folder with a script, the answer as README and the run's files."""

    folder: str  # relative to where the command runs, e.g. "experiments/16-permutation-equivariance"
    script: str  # e.g. "demo.py": the cells below, as one script
    script_cells: tuple[tuple[str, str], ...]  # (grade_id of a cell, its title in the script)
    answer_cell: str  # the written answer's grade_id; it becomes README.md
    copied_files: tuple[str, ...]  # files the run writes, copied into the folder


# -----------------------------------------------------------------------------
# the cells nbgrader grades, or students answer in


@dataclass(frozen=True)
class CheckCell:
    """A test cell: ``run_check("<grade_id>", globals())``, one check worth ``points``.

    A visible check is a self-check students run before submitting; a hidden one (its call inside
    ``### BEGIN HIDDEN TESTS``) runs only at grading."""

    grade_id: str
    _keywords: KW_ONLY  # CheckCell("test_block_a_x", block="A", points=1, visible=True)
    block: str
    points: float
    visible: bool


@dataclass(frozen=True)
class AnswerCell:
    """A cell students answer in (an nbgrader solution cell): code the checks read, worth nothing itself,
    or, with ``points``, an answer graded by hand (an nbgrader manually graded answer)."""

    grade_id: str
    _keywords: KW_ONLY  # AnswerCell("block_d", block="D", points=4)
    block: str
    points: float = 0

    @property
    def graded_by_hand(self) -> bool:
        return self.points > 0


class Cells:
    """The cells of a lab's notebook that nbgrader grades or students answer in, in the notebook's order."""

    def __init__(self, cells: Iterable[CheckCell | AnswerCell]):
        self._cells: dict[str, CheckCell | AnswerCell] = {}
        for cell in cells:
            if cell.grade_id in self._cells:
                raise ValueError(f"two cells share the grade_id {cell.grade_id!r}")
            self._cells[cell.grade_id] = cell

    def __getitem__(self, grade_id: str) -> CheckCell | AnswerCell:
        try:
            return self._cells[grade_id]
        except KeyError:
            raise KeyError(f"no cell named {grade_id!r}; described cells: {', '.join(self._cells)}") from None

    def get(self, grade_id: str) -> CheckCell | AnswerCell | None:
        return self._cells.get(grade_id)

    def __contains__(self, grade_id: object) -> bool:
        return grade_id in self._cells

    def __iter__(self) -> Iterator[CheckCell | AnswerCell]:
        return iter(self._cells.values())

    def __len__(self) -> int:
        return len(self._cells)

    def check_cells(self) -> list[CheckCell]:
        return [cell for cell in self if isinstance(cell, CheckCell)]

    def answer_cells(self) -> list[AnswerCell]:
        return [cell for cell in self if isinstance(cell, AnswerCell)]

    def check(self, grade_id: str, title: str, function: Callable[[object], str]) -> Check:
        """The check that test cell ``grade_id`` runs: ``function`` under ``title`` (English, marked ``N_``),
        with the block, points and visibility described here."""
        cell = self._cells.get(grade_id)
        if not isinstance(cell, CheckCell):
            raise ValueError(f"{grade_id!r} is not a test cell of the lab's description; its test cells: "
                             f"{', '.join(cell.grade_id for cell in self.check_cells())}")
        return Check(grade_id, block=cell.block, points=cell.points, visible=cell.visible, title=title,
                     function=function)

    def disagreements(self, checks: Iterable[Check], *, visible: bool) -> list[str]:
        """How ``checks`` (a lab's self-checks with ``visible``, or its hidden checks) differ from the test
        cells described with that visibility: one line per check or cell that has no counterpart, or
        another block, points or visibility."""
        problems, named = [], set()
        for check in checks:
            named.add(check.grade_id)
            cell = self._cells.get(check.grade_id)
            if not isinstance(cell, CheckCell):
                problems.append(f"check {check.grade_id!r} runs in no test cell of the description")
                continue
            described = (cell.block, cell.points, cell.visible)
            if (check.block, check.points, check.visible) != described:
                problems.append(f"check {check.grade_id!r} has block {check.block!r}, {check.points:g} point(s), "
                                f"visible={check.visible}; its cell: block {cell.block!r}, {cell.points:g}, "
                                f"visible={cell.visible}")
        kind = "self-check" if visible else "hidden check"
        problems += [f"test cell {cell.grade_id!r} (visible={visible}) has no {kind}"
                     for cell in self.check_cells() if cell.visible is visible and cell.grade_id not in named]
        return problems


# -----------------------------------------------------------------------------
# the lab


@dataclass(frozen=True)
class Lab:
    assignment: str  # nbgrader assignment id, the folder name under source/ and release/
    notebook: str  # the notebook's name without .ipynb
    title: str
    blocks: Mapping[str, str]  # block letter -> title, in the notebook's order
    cells: Cells  # every graded or answer cell: grade_id, block, points, visibility
    results: ResultSpec  # what the checks read from the notebook
    writes: tuple[str, ...]  # files the notebook writes beside itself when it runs
    deliverables: Deliverables
    self_checks: Registry  # the visible checks (``cells.check``): what students can run before submitting
    module: str = ""  # the module that defines it (``__name__``): its grader half has the same name
    solution: str = ""  # where ``course solution`` writes the reference solution, e.g. "solutions/00-...-ref.md"
    # A typical cell of this lab, ending in the mistake students make most. The kernel factory runs it
    # once (``coursegrader.run.zygote``), so every kernel it forks starts with the caches a first cell
    # and a first traceback fill.
    warm_up: str = ""

    def __post_init__(self):
        problems = [f"cell {cell.grade_id!r} is in block {cell.block!r}, not one of the lab's blocks "
                    f"({', '.join(self.blocks)})" for cell in self.cells if cell.block not in self.blocks]
        problems += self.cells.disagreements(self.self_checks, visible=True)
        answer = self.cells.get(self.deliverables.answer_cell)
        if not isinstance(answer, AnswerCell):
            problems.append(f"the deliverables' answer cell {self.deliverables.answer_cell!r} is no answer cell of "
                            "the description")
        if problems:
            raise ValueError(f"the description of lab {self.assignment!r} ({self.module or 'its module'}) contradicts "
                             "itself:\n  " + "\n  ".join(problems))

    def block_of(self, grade_id: str) -> str | None:
        """The block of a described cell (a test cell or an answer cell); None for any other cell."""
        cell = self.cells.get(grade_id)
        return cell.block if cell is not None else None


class UnknownLab(LookupError):
    pass


def lab_folders() -> list[Path]:
    """The folders of labs outside the packages, as ``COURSEKIT_LABS`` names them."""
    folders = []
    for entry in os.environ.get(LABS_VARIABLE, "").split(os.pathsep):
        if not entry:
            continue
        folder = Path(entry).resolve()
        if not folder.is_dir():
            raise UnknownLab(f"{LABS_VARIABLE} names {entry!r}, which is not a folder; it lists folders of lab "
                             f"modules, separated by {os.pathsep!r}")
        folders.append(folder)
    return folders


def lab_module_files() -> list[Path]:
    """The modules in ``COURSEKIT_LABS``'s folders: what a grading kernel reads of them (``coursegrader.run.sandbox``)."""
    return [path for folder in lab_folders() for path in sorted(folder.glob("*.py"))]


def all_labs() -> list[Lab]:
    """Every lab: those of ``coursekit.labs``, in module order, then those of ``COURSEKIT_LABS``'s folders."""
    from coursekit import labs

    names = [f"{labs.__name__}.{info.name}"
             for info in sorted(pkgutil.iter_modules(labs.__path__), key=lambda info: info.name)]
    for folder in lab_folders():
        if str(folder) not in sys.path:
            sys.path.append(str(folder))
        names += [path.stem for path in sorted(folder.glob("*.py"))]
    found: dict[str, Lab] = {}
    for name in names:
        lab = getattr(importlib.import_module(name), "LAB", None)
        if not isinstance(lab, Lab):
            continue
        if lab.assignment in found:
            raise UnknownLab(f"two labs have the assignment id {lab.assignment!r}: {found[lab.assignment].module} "
                             f"and {lab.module}")
        found[lab.assignment] = lab
    return list(found.values())


def find_lab(assignment: str) -> Lab:
    labs = all_labs()
    for lab in labs:
        if lab.assignment == assignment:
            return lab
    known = ", ".join(lab.assignment for lab in labs) or "none"
    raise UnknownLab(f"no lab has the assignment id {assignment!r}; known assignments: {known} (a lab kept outside "
                     f"the packages is found when {LABS_VARIABLE} names its folder)")
