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

