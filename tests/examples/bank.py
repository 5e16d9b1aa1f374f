"""The bank of example submissions: what each student did, and which checks that must cost.

Each example is the committed release notebook (of the English edition, or of another language's
edition) with its solution cells filled in as a student would: the instructor's solution, then a few changes that make one realistic mistake, one honest
variation, or one attack on the grader. ``fails`` lists the grade_ids of the checks an example must
fail; every other check must earn its points, graded by the real ``nbgrader autograde``.

A lab's examples live in ``tests/examples/<assignment>/``: ``class/<student>/`` is the realistic
class that ``make demo`` grades, ``adversarial/<student>/`` the attacks and odd inputs that only the
suite grades. Their notebooks are committed (``python -m tests.examples.bank`` rewrites them, a
test fails when they are stale); what cannot be committed — links, FIFOs, file names that are not
UTF-8, a notebook of hundreds of MB — an example makes when it is placed (``files``).
"""

from __future__ import annotations

import copy
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Example:
    description: str
    fails: frozenset[str]
    kind: str = "class"  # "class" (make demo), or the class of attack or input it stands for
    # (solution cell grade_id, text in the instructor's solution, what the student wrote instead, everywhere)
    edits: tuple[tuple[str, str, str], ...] = ()
    replace: dict[str, str] = field(default_factory=dict)  # solution cell grade_id -> the student's whole cell
    append: dict[str, str] = field(default_factory=dict)  # solution cell grade_id -> code added at its end
    prepend: dict[str, str] = field(default_factory=dict)  # solution cell grade_id -> code added at its start
    untouched: bool = False  # the release exactly as students receive it
    test_cell_edits: dict[str, str] = field(default_factory=dict)  # grade_id -> new source (tampering)
    notebook: Callable | None = None  # a change to the whole notebook (tampering with its structure)
    built: bool = True  # False: committed as a real tool wrote it, never rebuilt
    has_notebook: bool = True  # False: ``files`` makes the whole submission
    files: Callable[[Path, Path], None] | None = None  # (submission folder, course root): what cannot be committed
    notes: tuple[str, ...] = ()  # what the notes at the top of the graded notebook must say
    language: str = "en"  # the edition the student worked in: "en" (release/) or another (release-<language>/)

    @property
    def folder(self) -> str:
        return "class" if self.kind == "class" else "adversarial"


_MARKERS = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", re.MULTILINE)


class Bank:
    """The examples of one lab."""

    def __init__(self, assignment: str, notebook: str, examples: dict[str, Example]):
        self.assignment, self.notebook, self.examples = assignment, notebook, examples
        self.source = ROOT / "source" / assignment / f"{notebook}.ipynb"
        self.release = ROOT / "release" / assignment / f"{notebook}.ipynb"

    def release_of(self, language: str) -> Path:
        """The committed release notebook of an edition (``course release`` writes them)."""
        folder = "release" if language == "en" else f"release-{language}"
        return ROOT / folder / self.assignment / f"{self.notebook}.ipynb"

    def student_answers(self) -> dict[str, str]:
        """The instructor's solution cells as a student would type them: markers removed."""
        source = nbformat.read(self.source, as_version=4)
        return {cell.metadata["nbgrader"]["grade_id"]: _MARKERS.sub("", cell.source).strip()
                for cell in source.cells if cell.metadata.get("nbgrader", {}).get("solution")}

    def build(self, name: str) -> nbformat.NotebookNode:
        """The submitted notebook of example ``name``: the release of its edition with its solution cells filled in."""
        example = self.examples[name]
        notebook = copy.deepcopy(nbformat.read(self.release_of(example.language), as_version=4))
        if example.untouched:
            return notebook
        answers = self.student_answers()
        for grade_id, old, new in example.edits:
            if old not in answers[grade_id]:
                raise ValueError(f"example {name}: {old!r} no longer occurs in the solution of {grade_id}")
            answers[grade_id] = answers[grade_id].replace(old, new)
        answers.update(example.replace)
        for grade_id, code in example.prepend.items():
            answers[grade_id] = f"{code.strip()}\n\n{answers[grade_id]}"
        for grade_id, code in example.append.items():
            answers[grade_id] = f"{answers[grade_id]}\n\n{code.strip()}"
        for cell in notebook.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if cell.metadata.get("nbgrader", {}).get("solution"):
                cell.source = answers[grade_id]
            if grade_id in example.test_cell_edits:
                cell.source = example.test_cell_edits[grade_id]
        if example.notebook is not None:
            notebook = example.notebook(notebook)
        return notebook

    def folder_of(self, name: str) -> Path:
        return EXAMPLES_DIR / self.assignment / self.examples[name].folder / name

    def path_of(self, name: str) -> Path:
        return self.folder_of(name) / f"{self.notebook}.ipynb"

    def names(self, kind: str | None = None, folder: str | None = None) -> list[str]:
        return sorted(name for name, example in self.examples.items()
                      if (kind is None or example.kind == kind) and (folder is None or example.folder == folder))

    def place(self, name: str, submission: Path, course_root: Path) -> None:
        """Put example ``name`` where nbgrader finds a submission: ``submission`` (``submitted/<name>/<assignment>``)."""
        example = self.examples[name]
        if example.has_notebook:
            submission.mkdir(parents=True, exist_ok=True)
            nbformat.write(nbformat.read(self.path_of(name), as_version=4), submission / f"{self.notebook}.ipynb")
        else:
            submission.parent.mkdir(parents=True, exist_ok=True)
        if example.files is not None:
            example.files(submission, course_root)

    def write_all(self) -> None:
        for name, example in self.examples.items():
            if example.built and example.has_notebook:
                self.path_of(name).parent.mkdir(parents=True, exist_ok=True)
                nbformat.write(self.build(name), self.path_of(name))
                print(f"wrote {self.path_of(name).relative_to(ROOT)}")


def all_banks() -> list[Bank]:
    from tests.examples.lab00 import BANK

    return [BANK]


if __name__ == "__main__":
    for bank in all_banks():
        bank.write_all()
    sys.exit(0)
