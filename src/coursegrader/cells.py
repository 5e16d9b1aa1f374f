"""``RestoreCells``: a submission's nbgrader cells made what the instructor released, before grading.

Placed in ``c.Autograde.sanitize_preprocessors`` before nbgrader's ``DeduplicateIds`` and
``OverwriteCells``, which restore the source of locked cells and the points of grade cells but
reject or mis-score a notebook whose nbgrader metadata was edited in other ways. Here, from the
gradebook (what each grade_id is) and the release notebook (where each cell sits):

- a cell whose nbgrader metadata is malformed, or names a grade_id the assignment does not have,
  loses its nbgrader metadata and becomes an ordinary cell (its content stays, ungraded);
- a known cell gets back its flags (grade, solution, locked, task) and points;
- of several cells claiming one grade_id, the last keeps it (as nbgrader's DeduplicateIds does);
- a grade cell or locked cell that was deleted is put back after the cell that precedes it in the
  release.

So edited, deleted, duplicated or re-pointed test cells are undone, and the honest work in the
rest of the notebook is graded as usual.
"""

from __future__ import annotations

import copy
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import NbGraderPreprocessor

from coursegrader.intake import NotANotebook, read_notebook


def _grade_id(cell) -> str | None:
    meta = cell.get("metadata", {}).get("nbgrader")
    if isinstance(meta, dict) and isinstance(meta.get("grade_id"), str):
        return meta["grade_id"]
    return None


class RestoreCells(NbGraderPreprocessor):
    def _release_notebook(self, assignment: str, notebook: str):
        coursedir = self.parent.parent.coursedir
        path = Path(coursedir.format_path(coursedir.release_directory, ".", assignment)) / f"{notebook}.ipynb"
        try:
            return read_notebook(path)
        except NotANotebook as error:
            raise RuntimeError(f"the release notebook {path} is needed to restore deleted cells: {error}") from None

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        student, assignment, notebook = info["student"], info["assignment"], info["notebook"]
        with Gradebook(info["db_url"]) as gradebook:
            try:
                source = gradebook.find_notebook(notebook, assignment)
            except MissingEntry:
                return nb, resources
            grade_points = {cell.name: float(cell.max_score) for cell in source.grade_cells}
            solutions = {cell.name for cell in source.solution_cells}
            tasks = {cell.name for cell in source.task_cells}
            locked = {cell.name: cell.locked for cell in source.source_cells}
        known = set(locked) | set(grade_points) | solutions | tasks

        def flags(grade_id: str) -> dict:
            meta = {"grade": grade_id in grade_points, "solution": grade_id in solutions, "task": grade_id in tasks,
                    "locked": locked.get(grade_id, False), "grade_id": grade_id, "schema_version": 3}
            if grade_id in grade_points or grade_id in tasks:
                meta["points"] = grade_points.get(grade_id, 0.0)
            return meta

        last_of = {}
        for index, cell in enumerate(nb.cells):
            grade_id = _grade_id(cell)
            if grade_id in known:
                last_of[grade_id] = index
        for index, cell in enumerate(nb.cells):
            if "nbgrader" not in cell.get("metadata", {}):
                continue
            grade_id = _grade_id(cell)
            if grade_id in known and last_of[grade_id] == index:
                cell.metadata["nbgrader"] = flags(grade_id)
            else:
                why = "a duplicate of" if grade_id in known else "an unknown grade_id" if grade_id else "malformed nbgrader metadata,"
                self.log.warning("%s: cell %d has %s %r: graded as an ordinary cell", student, index + 1, why, grade_id)
                del cell.metadata["nbgrader"]

        present = {_grade_id(cell) for cell in nb.cells if "nbgrader" in cell.get("metadata", {})}
        wanted = set(grade_points) | {name for name, is_locked in locked.items() if is_locked}
        if wanted - present:
            self._put_back(nb, self._release_notebook(assignment, notebook), wanted - present, flags, student)
        return nb, resources

    def _put_back(self, nb, release, missing: set[str], flags, student: str) -> None:
        """Insert each missing cell after the nearest cell that precedes it in the release and is present."""
        position = {_grade_id(cell): index for index, cell in enumerate(nb.cells) if _grade_id(cell)}
        previous = None  # grade_id of the last release cell placed so far
        for cell in release.cells:
            grade_id = _grade_id(cell)
            if grade_id is None:
                continue
            if grade_id in missing:
                restored = copy.deepcopy(cell)
                restored.metadata["nbgrader"] = flags(grade_id)
                if restored.cell_type == "code":
                    restored.outputs, restored.execution_count = [], None
                at = position[previous] + 1 if previous in position else 0
                nb.cells.insert(at, restored)
                position = {_grade_id(c): i for i, c in enumerate(nb.cells) if _grade_id(c)}
                self.log.warning("%s: cell %r was missing from the submission: put back", student, grade_id)
            if grade_id in position:
                previous = grade_id
