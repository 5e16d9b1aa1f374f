"""Grading one submission with nbgrader's own ``Autograde`` converter: what every grading process runs.

``grade_one(app, assignment, student)`` grades one submission in the calling process and returns an
``Outcome``. Its status comes from what nbgrader did, never from its log text (whose lines depend on
``--log-level``): *skipped* when nbgrader's converter decided not to process the submission (already
graded, and not ``--force``); *graded* when it converted every notebook and ran its post-convert hook,
which records the submission in the ledger (``coursegrader.intake.ledger``); *failed* otherwise, with
the first exception nbgrader met, explained in one line that names the cause and the fix
(``explain``), not nbgrader's "Please see the above traceback". The traceback stays in the log.

Grading changes what a process has only once: nbgrader's converter changes the working directory
and sets ``NBGRADER_EXECUTION`` in ``os.environ`` while it runs, and this module gives the app's logger
(one per app class, shared by every thread) a handler of its own to capture the log. So a process
runs one ``grade_one`` at a time, from one thread: a ``LocalPool`` worker, or a process forked for
that submission alone (``coursegrader.classrun.gradeserver``), never threads of one process.
"""

from __future__ import annotations

import io
import logging
import os
import socket
import time
import traceback
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Outcome:
    student: str
    status: str  # "graded", "failed", "skipped"
    seconds: float
    log: str = ""
    error: str | None = None  # why it failed, in one line: the cause, and what to do
    note: str | None = None  # anything else the instructor should know (graded again after its worker was lost)


def _one_submission_converter():
    from nbgrader.converters import Autograde, NbGraderException

    class OneSubmission(Autograde):
        """nbgrader's Autograde for one student, which remembers what it did.

        In a whole-class run, a submission without a notebook (or a submission folder that is a file) is
        still graded, by the intake (``SubmissionExporter``); for one student alone nbgrader would stop
        before the intake sees it, so this one lets the intake have it. nbgrader catches every error of a
        submission and logs it; this one also keeps the first exception (``failure``), whether nbgrader
        skipped the submission (``skipped``) and whether it finished it (``finished``)."""

        failure: BaseException | None = None
        skipped = False
        finished = False

        def init_notebooks(self) -> None:
            try:
                super().init_notebooks()
            except NbGraderException:
                self.assignments, self.notebooks = {}, []

        def init_destination(self, assignment_id: str, student_id: str) -> bool:
            process = self._noting(super().init_destination, assignment_id, student_id)
            self.skipped = not process
            return process

        def init_assignment(self, assignment_id: str, student_id: str) -> None:
            self._noting(super().init_assignment, assignment_id, student_id)

        def convert_single_notebook(self, notebook_filename: str) -> None:
            self._noting(super().convert_single_notebook, notebook_filename)

        def run_post_convert_hook(self):
            self.finished = self.failure is None  # nbgrader runs it once every notebook is converted
            return super().run_post_convert_hook()

        def _noting(self, step, *args):
            try:
                return step(*args)
            except BaseException as exception:
                if self.failure is None:
                    self.failure = exception
                raise

    return OneSubmission


def grade_one(app, assignment: str, student: str) -> Outcome:
    """Grade one submission with nbgrader's converter, in this process, capturing its log (see the module's
    docstring for what it changes in the process, and so where to call it from)."""
    from nbgrader.converters import NbGraderException
    from nbgrader.coursedir import CourseDirectory

    from coursegrader.intake import ledger

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
    cwd = os.getcwd()
    converter, raised = None, None
    try:
        coursedir = CourseDirectory(parent=app)  # a fresh one: a run adds its submission's ignored files to it
        coursedir.assignment_id, coursedir.student_id = assignment, student
        converter = Autograde(coursedir=coursedir, parent=app)
        converter.start()
    except NbGraderException as exception:  # nbgrader's summary of the errors it logged, or a refusal to start
        raised = exception
    except Exception as exception:  # noqa: BLE001 — one submission's failure must not end the run
        raised = exception
        buffer.write(traceback.format_exc())
    finally:
        os.chdir(cwd)
        app.log.handlers[:] = saved
        app.log.setLevel(saved_level)
    seconds = time.perf_counter() - started
    log = buffer.getvalue()
    failure = (converter.failure if converter is not None else None) or raised
    if failure is None and converter is not None and converter.skipped:
        return Outcome(student, "skipped", seconds, log)
    if failure is None and converter is not None and converter.finished:
        if ledger.finished(Path(app.coursedir.root), assignment, student):
            return Outcome(student, "graded", seconds, log)
        return Outcome(student, "failed", seconds, log,
                       "nbgrader graded it, but its post-convert hook did not record it in the ledger: check that "
                       "nbgrader_config.py sets c.Autograde.post_convert_hook = "
                       "'coursegrader.adapters.hooks.record_graded' (the hook's error is in the log)")
    if failure is None:
        failure = RuntimeError("nbgrader converted none of its notebooks (see the log)")
    return Outcome(student, "failed", seconds, log, explain(failure, assignment, app.coursedir.db_url))


# -----------------------------------------------------------------------------
# why a submission failed, in one line


def shown_url(db_url: str) -> str:
    """A database URL as it may be printed: without its password."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(db_url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 — not a URL SQLAlchemy reads: show its scheme only
        return db_url.split(":", 1)[0] + ":…"


def first_line(exception: BaseException) -> str:
    text = str(exception).strip().splitlines()
    return f"{type(exception).__name__}: {text[0] if text else ''}".rstrip(": ")


def _causes(exception: BaseException):
    """The exception and those it came from (nbgrader re-raises some ``from None``: their context stays)."""
    seen = set()
    while exception is not None and id(exception) not in seen:
        seen.add(id(exception))
        yield exception
        exception = exception.__cause__ or exception.__context__


def explain(exception: BaseException, assignment: str, db_url: str) -> str:
    """Why grading failed, in one line: the cause, and what to do about it."""
    from sqlalchemy.exc import DBAPIError, NoSuchModuleError

    from coursegrader.run.sandbox import SandboxUnavailable

    host = socket.gethostname()
    for cause in _causes(exception):
        text = str(cause)
        if "No assignment with ID" in text:
            return (f"assignment {assignment} is not in the gradebook {shown_url(db_url)}: run "
                    f"`nbgrader generate_assignment {assignment} --force` against that gradebook "
                    "(with the same NBGRADER_DB_URL or --db-url), then grade again")
        if isinstance(cause, SandboxUnavailable):
            return (f"no sandbox can start on {host}: {cause}; install bubblewrap there (`make system-deps`) and "
                    "run the grading as root")
        if isinstance(cause, (DBAPIError, NoSuchModuleError)) or (
                isinstance(cause, ModuleNotFoundError) and cause.name in ("psycopg", "psycopg2")):
            return gradebook_unreachable(cause, db_url, host)
        if isinstance(cause, ModuleNotFoundError):
            return (f"{host} lacks a module grading needs ({cause.name}): install this project's environment "
                    "there (`make venv`) and run the grading from it")
        if isinstance(cause, FileNotFoundError) and cause.filename == "alembic":
            return ("nbgrader runs `alembic` by name to set up a new gradebook, and it is not on PATH: activate "
                    "this project's environment first (`source .venv/bin/activate`)")
    return f"{first_line(exception)} (the traceback is in the log)"


def gradebook_unreachable(cause: BaseException, db_url: str, host: str | None = None) -> str:
    """The gradebook could not be opened: say which, from where, and what to check."""
    where = f" from {host}" if host else ""
    if isinstance(cause, ModuleNotFoundError):
        return (f"the gradebook {shown_url(db_url)} needs the database driver {cause.name}, missing{where}: "
                "install this project's environment (`make venv`), which has psycopg and psycopg2")
    reason = str(getattr(cause, "orig", None) or cause).strip().splitlines()
    return (f"the gradebook {shown_url(db_url)} could not be reached{where} ({reason[0] if reason else type(cause).__name__}): "
            "check that its database server is running and reachable, and the URL (NBGRADER_DB_URL or --db-url)")
