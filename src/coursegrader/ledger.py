"""Which submissions a run finished grading, so a run killed half-way resumes without losing one.

nbgrader skips a submission whose ``autograded/<student>/<assignment>/`` folder exists; a run
killed while grading a student leaves that folder half-made, and the next run would skip it. The
ledger records, outside any folder a submission's code can write to, each submission whose
grading completed (``finish``, nbgrader's ``post_convert_hook``); grading a student first forgets
their entry (``start``). At the start of a run, an autograded folder without an entry is
incomplete and is removed, so nbgrader grades that submission again. Every other submission is
graded exactly once.

    <course>/.coursekit/autograded/<assignment>/<student>.done
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

LEDGER_FOLDER = ".coursekit"


def _entry(course_root: Path, assignment: str, student: str) -> Path:
    return Path(course_root) / LEDGER_FOLDER / "autograded" / assignment / f"{student}.done"


def start(course_root: Path, assignment: str, student: str) -> None:
    _entry(course_root, assignment, student).unlink(missing_ok=True)


def finish(course_root: Path, assignment: str, student: str) -> None:
    entry = _entry(course_root, assignment, student)
    entry.parent.mkdir(parents=True, exist_ok=True)
    partial = entry.with_suffix(".partial")
    partial.write_text(dt.datetime.now(dt.timezone.utc).isoformat() + "\n", encoding="utf-8")
    os.replace(partial, entry)


def finished(course_root: Path, assignment: str, student: str) -> bool:
    return _entry(course_root, assignment, student).is_file()


def record_graded(assignment: str, student: str, notebooks: list[str]) -> None:
    """nbgrader's ``post_convert_hook``: the submission these notebooks belong to is graded.

    nbgrader passes the command's assignment and student patterns, not the submission's ids, so
    they are read from the notebooks' paths (``.../<student>/<assignment>/<notebook>.ipynb``, nbgrader's
    directory structure); nbgrader runs its converters in the course folder.
    """
    from traitlets.config import Application

    for notebook in notebooks[:1]:
        path = Path(notebook)
        submission_assignment, submission_student = path.parent.name, path.parent.parent.name
        finish(Path.cwd(), submission_assignment, submission_student)
        if Application.initialized():
            Application.instance().log.info("Graded %s/%s completely", submission_student, submission_assignment)
