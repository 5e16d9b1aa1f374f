"""Grading one submission with nbgrader's own ``Autograde`` converter, capturing its log: what every worker runs."""

from __future__ import annotations

import io
import logging
import os
import time
import traceback
from dataclasses import dataclass


@dataclass
class Outcome:
    student: str
    status: str  # "graded", "failed", "skipped"
    seconds: float
    log: str = ""
    error: str | None = None


def _one_submission_converter():
    from nbgrader.converters import Autograde, NbGraderException

    class OneSubmission(Autograde):
        """nbgrader's Autograde for one student. In a whole-class run, a submission without a notebook (or a
        submission folder that is a file) is still graded, by the intake (``SubmissionExporter``); for one
        student alone nbgrader would stop before the intake sees it, so this one lets the intake have it."""

        def init_notebooks(self) -> None:
            try:
                super().init_notebooks()
            except NbGraderException:
                self.assignments, self.notebooks = {}, []

    return OneSubmission


def grade_one(app, assignment: str, student: str) -> Outcome:
    """Grade one submission with nbgrader's converter, capturing its log."""
    from nbgrader.converters import NbGraderException
    from nbgrader.coursedir import CourseDirectory

    Autograde = _one_submission_converter()

    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("[%(name)s | %(levelname)s] %(message)s"))
    # what `nbgrader autograde` prints at its --log-level (INFO unless told otherwise), not the debug lines
    # (one per kernel message, with its content) that nbgrader's logger makes only for its handlers to drop
    level = logging.getLevelName(app.log_level) if isinstance(app.log_level, str) else app.log_level
    saved, saved_level = app.log.handlers[:], app.log.level
    app.log.handlers[:] = [handler]
    app.log.setLevel(level)
    started = time.perf_counter()
    status, error = "graded", None
    cwd = os.getcwd()
    try:
        coursedir = CourseDirectory(parent=app)  # a fresh one: a run adds its submission's ignored files to it
        coursedir.assignment_id, coursedir.student_id = assignment, student
        Autograde(coursedir=coursedir, parent=app).start()
    except NbGraderException as exception:
        status, error = "failed", str(exception) or "nbgrader reported an error (see the log)"
    except Exception as exception:  # noqa: BLE001 — one submission's failure must not end the run
        status, error = "failed", f"{type(exception).__name__}: {exception}"
        buffer.write(traceback.format_exc())
    finally:
        os.chdir(cwd)
        app.log.handlers[:] = saved
        app.log.setLevel(saved_level)
    log = buffer.getvalue()
    if status == "graded" and "Skipping existing assignment" in log:
        status = "skipped"
    elif status == "graded" and "There was an error processing assignment" in log:
        status, error = "failed", "nbgrader reported an error (see the log)"
    return Outcome(student, status, time.perf_counter() - started, log, error)
