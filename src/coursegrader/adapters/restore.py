"""``RestoreCells``: nbgrader's step that makes a submission's nbgrader cells what the instructor released.

Placed in ``c.Autograde.sanitize_preprocessors`` before nbgrader's ``DeduplicateIds`` and
``OverwriteCells``, which restore the source of locked cells and the points of grade cells but
reject or mis-score a notebook whose nbgrader metadata was edited in other ways. It reads the
gradebook and the release notebook; ``coursegrader.intake.cells`` does the restoring.
"""

from __future__ import annotations

from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import NbGraderPreprocessor

from coursegrader.intake.cells import ReleasedCells, restore_cells
from coursegrader.intake.notebook import NotANotebook, read_notebook


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
            released = ReleasedCells(
                grade_points={cell.name: float(cell.max_score) for cell in source.grade_cells},
                solutions=frozenset(cell.name for cell in source.solution_cells),
                tasks=frozenset(cell.name for cell in source.task_cells),
                locked={cell.name: cell.locked for cell in source.source_cells})
        restore_cells(nb, released, lambda: self._release_notebook(assignment, notebook), self.log, student)
        return nb, resources
