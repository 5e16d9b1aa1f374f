"""A submission's nbgrader cells made what the instructor released, before grading (``restore_cells``).

From what the gradebook says each grade_id is (``ReleasedCells``) and the release notebook (where
each cell sits):

- a cell whose nbgrader metadata is malformed, or names a grade_id the assignment does not have,
  loses its nbgrader metadata and becomes an ordinary cell (its content stays, ungraded);
- a known cell gets back its flags (grade, solution, locked, task) and points;
- of several cells claiming one grade_id, the last keeps it (as nbgrader's DeduplicateIds does);
- a grade cell or locked cell that was deleted is put back after the cell that precedes it in the
  release.

So edited, deleted, duplicated or re-pointed test cells are undone, and the honest work in the
rest of the notebook is graded as usual. ``coursegrader.adapters.restore`` runs it as an nbgrader step.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass


def grade_id_of(cell) -> str | None:
    meta = cell.get("metadata", {}).get("nbgrader")
    if isinstance(meta, dict) and isinstance(meta.get("grade_id"), str):
        return meta["grade_id"]
    return None


@dataclass(frozen=True)
class ReleasedCells:
    """What the gradebook says each nbgrader cell of a notebook is."""

    grade_points: dict[str, float]  # grade cells and their points
    solutions: frozenset[str]
    tasks: frozenset[str]
    locked: dict[str, bool]  # every source cell: whether it is locked

    @property
    def known(self) -> set[str]:
        return set(self.locked) | set(self.grade_points) | self.solutions | self.tasks

    def flags(self, grade_id: str) -> dict:
        meta = {"grade": grade_id in self.grade_points, "solution": grade_id in self.solutions,
                "task": grade_id in self.tasks, "locked": self.locked.get(grade_id, False), "grade_id": grade_id,
                "schema_version": 3}
        if grade_id in self.grade_points or grade_id in self.tasks:
            meta["points"] = self.grade_points.get(grade_id, 0.0)
        return meta


def restore_cells(nb, released: ReleasedCells, release_notebook: Callable[[], object], log, student: str) -> None:
    """Restore ``nb``'s nbgrader cells in place; ``release_notebook()`` reads the release, when a cell must be put back."""
    known = released.known
    last_of = {}
    for index, cell in enumerate(nb.cells):
        grade_id = grade_id_of(cell)
        if grade_id in known:
            last_of[grade_id] = index
    for index, cell in enumerate(nb.cells):
        if "nbgrader" not in cell.get("metadata", {}):
            continue
        grade_id = grade_id_of(cell)
        if grade_id in known and last_of[grade_id] == index:
            cell.metadata["nbgrader"] = released.flags(grade_id)
        else:
            why = "a duplicate of" if grade_id in known else "an unknown grade_id" if grade_id else "malformed nbgrader metadata,"
            log.warning("%s: cell %d has %s %r: graded as an ordinary cell", student, index + 1, why, grade_id)
            del cell.metadata["nbgrader"]

    present = {grade_id_of(cell) for cell in nb.cells if "nbgrader" in cell.get("metadata", {})}
    wanted = set(released.grade_points) | {name for name, is_locked in released.locked.items() if is_locked}
    if wanted - present:
        _put_back(nb, release_notebook(), wanted - present, released, log, student)


def _put_back(nb, release, missing: set[str], released: ReleasedCells, log, student: str) -> None:
    """Insert each missing cell after the nearest cell that precedes it in the release and is present."""
    position = {grade_id_of(cell): index for index, cell in enumerate(nb.cells) if grade_id_of(cell)}
    previous = None  # grade_id of the last release cell placed so far
    for cell in release.cells:
        grade_id = grade_id_of(cell)
        if grade_id is None:
            continue
        if grade_id in missing:
            restored = copy.deepcopy(cell)
            restored.metadata["nbgrader"] = released.flags(grade_id)
            if restored.cell_type == "code":
                restored.outputs, restored.execution_count = [], None
            at = position[previous] + 1 if previous in position else 0
            nb.cells.insert(at, restored)
            position = {grade_id_of(c): i for i, c in enumerate(nb.cells) if grade_id_of(c)}
            log.warning("%s: cell %r was missing from the submission: put back", student, grade_id)
        if grade_id in position:
            previous = grade_id
