"""Grading a submission of another edition with nbgrader's own steps: two preprocessors around them.

nbgrader keeps one release per assignment in its gradebook, the English one: ``OverwriteCells``
puts the English source back into every locked cell, and ``SaveAutoGrades`` recognises an
unanswered solution cell by comparing it with the English stub. A submission of the Spanish
edition (``metadata.coursekit.language``) is therefore graded in English, cell for cell, and given
back its language afterwards:

- ``UntranslateStubs`` (first of ``c.Autograde.autograde_preprocessors``): a solution cell still
  holding the edition's stub, untouched, gets the English stub, so nbgrader records "No response."
  for it exactly as for an English submission;
- ``TranslateEdition`` (after ``SaveAutoGrades``): every locked cell, and every stub left as it was,
  is translated again from the English source the gradebook holds, with the lab's catalog; what the
  student wrote is never touched. The autograded notebook, the feedback page and formgrader then
  show the edition the student worked in.

The verdicts in the test cells are already in the student's language (``TrustedVerdicts``).
"""

from __future__ import annotations

from pathlib import Path

from nbgrader import utils as nbgrader_utils
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import NbGraderPreprocessor

from coursegrader.language.catalog import CellTranslations, cell_translations, edition_language
from coursekit.i18n import SOURCE_LANGUAGE


class _EditionStep(NbGraderPreprocessor):
    def _translations(self, assignment: str, language: str) -> CellTranslations | None:
        coursedir = self.parent.parent.coursedir if self.parent is not None and self.parent.parent is not None else None
        if coursedir is None:
            return None
        source = Path(coursedir.format_path(coursedir.source_directory, ".", assignment))
        try:
            return cell_translations(source, language)
        except FileNotFoundError as error:
            self.log.warning("edition %r: %s; its cells stay as submitted", language, error)
            return None

    def preprocess(self, nb, resources):
        language = edition_language(nb)
        if language == SOURCE_LANGUAGE:
            return nb, resources
        info = resources["nbgrader"]
        translations = self._translations(info["assignment"], language)
        if translations is None:
            return nb, resources
        with Gradebook(info["db_url"]) as gradebook:
            try:
                notebook = gradebook.find_notebook(info["notebook"], info["assignment"])
            except MissingEntry:
                return nb, resources
            sources = {cell.name: (cell.cell_type, cell.source) for cell in notebook.source_cells}
        for cell in nb.cells:
            grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if not isinstance(grade_id, str) or grade_id not in sources:
                continue
            cell_type, english = sources[grade_id]
            self.update(cell, english, translations(cell_type, english))
        return nb, resources

    def update(self, cell, english: str, translated: str) -> None:
        raise NotImplementedError


class UntranslateStubs(_EditionStep):
    def update(self, cell, english: str, translated: str) -> None:
        if nbgrader_utils.is_solution(cell) and cell.source == translated:
            cell.source = english


class TranslateEdition(_EditionStep):
    def update(self, cell, english: str, translated: str) -> None:
        if nbgrader_utils.is_solution(cell):
            if cell.source == english:  # a stub left as it was
                cell.source = translated
        elif nbgrader_utils.is_locked(cell) or nbgrader_utils.is_grade(cell):
            cell.source = translated  # the gradebook's English source, as OverwriteCells put it back
