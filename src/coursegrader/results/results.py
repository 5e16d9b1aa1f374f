"""One submission's results, check by check, with one way of counting the total: what every report shows.

The gradebook holds the scores (the autograder's, and a grader's for the written answer); the
autograded notebook holds each check's message (``TrustedVerdicts`` wrote it); the lab gives titles
and blocks. ``submission_results`` joins them. Every report — the student's feedback page, the class
table, the CSV, ``results.json`` for an LMS — reads this and counts the same way:

- autograded: the points of the checks, out of their total (21 for Lab 00), whatever the written
  answer's state;
- written answers (graded by hand): their points once a grader has scored them, else *pending*;
- total: both, out of everything (25); while an answer is pending, the total says how many points
  still wait for a grader instead of counting them as zero.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

from coursegrader.labs import grading_checks
from coursegrader.language.catalog import edition_language
from coursekit.i18n import SOURCE_LANGUAGE, _, ngettext, use_language
from coursekit.lab import Lab

PASSED, FAILED, PENDING, GRADED = "passed", "failed", "pending", "graded"


@dataclass
class Row:
    """One graded cell: a check of the autograder, or a written answer graded by hand."""

    grade_id: str
    block: str
    title: str
    points: float
    earned: float | None  # None while a grader has not scored it
    status: str  # passed, failed (checks); pending, graded (written answers)
    message: str  # the check's message, or the grader's comment
    hidden: bool  # a hidden check: its title, outcome and message may be shown, never its code
    manual: bool


@dataclass
class Results:
    student: str
    rows: list[Row] = field(default_factory=list)
    language: str = SOURCE_LANGUAGE  # of its titles and messages

    def _sum(self, rows, attribute) -> float:
        return sum(getattr(row, attribute) or 0.0 for row in rows)

    @property
    def autograded(self) -> tuple[float, float]:
        rows = [row for row in self.rows if not row.manual]
        return self._sum(rows, "earned"), self._sum(rows, "points")

    @property
    def manual(self) -> tuple[float, float, float]:
        """(earned, possible, pending): the written answers' points."""
        rows = [row for row in self.rows if row.manual]
        return (self._sum(rows, "earned"), self._sum(rows, "points"),
                sum(row.points for row in rows if row.status == PENDING))

    @property
    def total(self) -> tuple[float, float, float]:
        """(earned, possible, pending)."""
        auto_earned, auto_possible = self.autograded
        manual_earned, manual_possible, pending = self.manual
        return auto_earned + manual_earned, auto_possible + manual_possible, pending

    def blocks(self, lab: Lab) -> list[tuple[str, str, list[Row]]]:
        """(letter, title in the current language, rows) for each block with graded cells."""
        return [(letter, _(title), [row for row in self.rows if row.block == letter])
                for letter, title in lab.blocks.items() if any(row.block == letter for row in self.rows)]


def points(value: float) -> str:
    return f"{value:g}"


def total_text(results: Results) -> str:
    """The total, said one way everywhere: '21/25', or '21/25 (4 points await a grader)'."""
    earned, possible, pending = results.total
    text = f"{points(earned)}/{points(possible)}"
    if not pending:
        return text
    waiting = ngettext("{points} point awaits a grader", "{points} points await a grader", 1 if pending == 1 else 2)
    return f"{text} ({waiting.format(points=points(pending))})"


def verdict_message(cell, language: str = SOURCE_LANGUAGE) -> tuple[str | None, str]:
    """(passed, failed or None, the message) of a test cell's verdict, as TrustedVerdicts wrote it: in the
    instructor's language from the cell's metadata, or as the student reads it from the cell's output."""
    verdict = cell.get("metadata", {}).get("coursekit", {}).get("verdict")
    if language == SOURCE_LANGUAGE and isinstance(verdict, dict) and isinstance(verdict.get("message"), str):
        return (PASSED if verdict.get("passed") is True else FAILED), textwrap.dedent(verdict["message"]).strip()
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream" and output.get("text", "").startswith("✔"):
            return PASSED, re.sub(r"^✔[^(]*\([^)]*\): ", "", output["text"]).strip()
        if output.get("output_type") == "error" and output.get("ename") == "CheckFailed":
            return FAILED, textwrap.dedent(output.get("evalue", "").split("\n", 1)[-1]).strip()
    return None, "no verdict in the graded notebook"


def submission_results(lab: Lab, checks, gradebook, student: str, notebook, language: str = SOURCE_LANGUAGE) -> Results:
    """The results of ``student`` for ``lab``, from the gradebook and their autograded notebook; titles and
    messages in ``language`` (the instructor's, or the student's edition's for their feedback), where the
    current language is that one (``coursekit.i18n.use_language``)."""
    from nbgrader.api import MissingEntry

    submission = gradebook.find_submission_notebook(lab.notebook, lab.assignment, student)
    grades = {grade.name: grade for grade in submission.grades}
    comments = {comment.name: comment for comment in submission.comments}
    cells = {cell.metadata.get("nbgrader", {}).get("grade_id"): cell for cell in (notebook.cells if notebook else [])}
    results = Results(student)
    order = [cell.metadata.get("nbgrader", {}).get("grade_id") for cell in (notebook.cells if notebook else [])]
    for name in sorted(grades, key=lambda name: (order.index(name) if name in order else len(order), name)):
        grade = grades[name]
        block = lab.block_of(name) or "?"
        if name in checks:
            check = checks[name]
            _status, message = verdict_message(cells.get(name, {}), language)
            earned = grade.score or 0.0  # a grader's score, where one overrode the autograder's
            status = PASSED if grade.max_score and earned >= grade.max_score else FAILED
            results.rows.append(Row(name, block, _(check.title), grade.max_score, earned, status, message,
                                    hidden=not check.visible, manual=False))
        else:
            try:
                comment = comments.get(name) or gradebook.find_comment(name, lab.notebook, lab.assignment, student)
                remark = comment.comment or ""
            except MissingEntry:
                remark = ""
            pending = grade.needs_manual_grade
            title = _("Block {letter} — {title}").format(letter=block, title=_(lab.blocks[block])) \
                if block in lab.blocks else name
            results.rows.append(Row(name, block, title, grade.max_score, None if pending else grade.score,
                                    PENDING if pending else GRADED, remark, hidden=False, manual=True))
    return results


def class_results(lab: Lab, db_url: str, course_root: Path, students_language: bool = False) -> list[Results]:
    """Every graded submission of ``lab``, by student id: in the instructor's language, or with
    ``students_language`` each in the language of the edition the student submitted."""
    import nbformat
    from nbgrader.api import Gradebook, MissingEntry

    checks = grading_checks(lab)
    everyone = []
    with Gradebook(db_url) as gradebook:
        for student in sorted(gradebook.students, key=lambda student: student.id):
            try:
                gradebook.find_submission_notebook(lab.notebook, lab.assignment, student.id)
            except MissingEntry:
                continue
            path = Path(course_root) / "autograded" / student.id / lab.assignment / f"{lab.notebook}.ipynb"
            notebook = nbformat.read(path, as_version=4) if path.is_file() else None
            language = edition_language(notebook) if students_language and notebook is not None else SOURCE_LANGUAGE
            with use_language(language):
                everyone.append(submission_results(lab, checks, gradebook, student.id, notebook, language))
                everyone[-1].language = language
    return everyone
