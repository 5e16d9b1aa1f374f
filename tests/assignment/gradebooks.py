"""Reading what grading left: one submission's grades and comments, and, for two grading runs to agree on,
the gradebook's whole content and the autograded notebooks."""

from __future__ import annotations

import datetime
import functools
import glob
import json
from pathlib import Path

import nbformat

GRADING_DAY = "<the day it was graded>"


def submission_grades(course: Path, student: str, assignment: str, notebook: str = "demo"
                      ) -> tuple[dict[str, tuple[float, float, bool]], dict[str, str | None]]:
    """One student's graded notebook in the course's own (SQLite) gradebook: each grade cell's (score, max_score,
    needs_manual_grade), and each comment (by the name of its cell)."""
    database = course / "gradebook.db"
    written = database.stat()  # a gradebook written since it was read is read again
    grades, comments = _class_grades(database, written.st_mtime_ns, written.st_size, assignment, notebook)[student]
    return dict(grades), dict(comments)


@functools.lru_cache(maxsize=16)
def _class_grades(database: Path, _mtime_ns: int, _size: int, assignment: str, notebook: str) -> dict:
    """``submission_grades`` of every student, read in one visit: the tests ask for a class a student at a time,
    and opening the gradebook for each took seconds over a class."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{database}") as gradebook:
        return {found.student.id: (
                    {grade.name: (grade.score, grade.max_score, grade.needs_manual_grade) for grade in found.grades},
                    {comment.name: comment.auto_comment for comment in found.comments})
                for found in gradebook.notebook_submissions(notebook, assignment)}


def gradebook_content(db_url: str, assignment: str) -> dict:
    """Every submission of ``assignment``: each grade and comment, as nbgrader stores them (ids aside)."""
    from nbgrader.api import Gradebook, MissingEntry

    content = {}
    with Gradebook(db_url) as gradebook:
        for student in gradebook.students:
            try:
                submission = gradebook.find_submission(assignment, student.id)
            except MissingEntry:
                continue
            content[student.id] = {
                "timestamp": str(submission.timestamp),
                "notebooks": {notebook.name: {
                    "grades": sorted((grade.name, grade.auto_score, grade.manual_score, grade.extra_credit,
                                      grade.needs_manual_grade, grade.max_score) for grade in notebook.grades),
                    "comments": sorted((comment.name, comment.auto_comment, comment.manual_comment)
                                       for comment in notebook.comments),
                } for notebook in submission.notebooks},
            }
    return content


def graded_notebooks(course: Path, assignment: str, students: list[str] | None = None) -> dict[str, dict]:
    """Every autograded notebook (of ``students``, if named), without what differs from run to run: execution
    timings, and the day the kernel ran (Block E records it in the manifest, and a check quotes it), which is
    not the same for two runs on either side of midnight (UTC)."""
    today = datetime.date.today()
    days = {(today - datetime.timedelta(days=back)).isoformat() for back in (0, 1)}
    notebooks = {}
    patterns = ["*"] if students is None else [glob.escape(student) for student in students]
    paths = [path for pattern in patterns for path in course.glob(f"autograded/{pattern}/{assignment}/*.ipynb")]
    for path in sorted(paths):
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            cell.metadata.pop("execution", None)
        text = json.dumps(notebook)
        for day in days:
            text = text.replace(day, GRADING_DAY)
        notebooks[str(path.relative_to(course))] = nbformat.from_dict(json.loads(text))
    return notebooks
