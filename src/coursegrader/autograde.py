"""``course autograde ASSIGNMENT``: nbgrader's autograde for a whole class, in parallel.

Each submission is graded by nbgrader's own ``Autograde`` converter, configured by the course's
``nbgrader_config.py`` exactly as ``nbgrader autograde`` configures it, so the gradebook and the
autograded notebooks are the same. What differs is how the work is spread:

- nbgrader is imported once, here; the worker processes are forked from this one, one submission
  at a time each (``--jobs``, the machine's cores by default), or the submissions go to the workers
  of a Dask cluster (``--scheduler``, ``coursegrader.cluster``);
- each worker forks its kernels from a factory that imported the kernel and the labs' libraries
  once (``coursegrader.factory``), into a bubblewrap sandbox per submission;
- a worker that dies or runs past its deadline is replaced, and its submission reported as failed;
  the others go on;
- with SQLite, every gradebook transaction takes the database's write lock when it begins and waits
  for it, so workers never meet half-way, and the next in line is woken as soon as it is free
  (``serialize_sqlite_transactions``);
- a progress bar counts graded, failed and skipped submissions, with an estimate of the time left;
  nbgrader's log, one block per submission, goes to ``logs/course-autograde.log``.
"""

from __future__ import annotations

import gc
import glob
import io
import logging
import multiprocessing
import os
import re
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from pathlib import Path

FIRST_SANDBOX_UID = 64_000  # worker k runs its kernels as FIRST_SANDBOX_UID + k: process limits per worker
DEADLINE_MARGIN = 120  # seconds a submission may take beyond its notebook's time limit before its worker is replaced


@dataclass
class Outcome:
    student: str
    status: str  # "graded", "failed", "skipped"
    seconds: float
    log: str = ""
    error: str | None = None


@dataclass
class Summary:
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0
    log_path: Path | None = None

    def count(self, status: str) -> int:
        return sum(outcome.status == status for outcome in self.outcomes)


# -----------------------------------------------------------------------------
# nbgrader, set up as `nbgrader autograde` sets itself up


def make_app(course_root: Path, assignment: str, force: bool = False, extra: Iterable[str] = ()):
    """An initialised ``AutogradeApp``: the course's configuration, loaded as `nbgrader autograde` loads it."""
    from nbgrader.apps import AutogradeApp

    app = AutogradeApp()
    cwd = os.getcwd()
    os.chdir(course_root)
    try:
        app.initialize([*(["--force"] if force else []), *extra])
    finally:
        os.chdir(cwd)
    app.coursedir.assignment_id = assignment
    return app


def submitted_students(app, assignment: str, only: Iterable[str] = ()) -> list[str]:
    """Every student with something in submitted/<student>/<assignment> (a folder, or anything else)."""
    coursedir = app.coursedir
    pattern = coursedir.format_path(coursedir.submitted_directory, "*", assignment)
    regexp = coursedir.format_path(coursedir.submitted_directory, "(?P<student>[^/]+)", re.escape(assignment), escape=True)
    found = sorted(match.group("student") for path in glob.glob(pattern) if (match := re.fullmatch(regexp, path)))
    wanted = set(only)
    if wanted:
        missing = wanted - set(found)
        if missing:
            raise SystemExit(f"course autograde: no submission of {assignment} for {', '.join(sorted(missing))} "
                             f"in {coursedir.format_path(coursedir.submitted_directory, '<student>', assignment)}")
        found = [student for student in found if student in wanted]
    return found


class _WriterTurns:
    """Whose turn it is to write an SQLite gradebook, among the processes of this machine: an exclusive
    ``flock`` on a file named after the database, taken before ``BEGIN IMMEDIATE`` and given up when the
    connection goes back to its pool (after its COMMIT or ROLLBACK).

    SQLite's own lock is what keeps the database whole, and stays; but a process that finds it taken
    sleeps and retries (1, 2, 5, 10, 15... ms), long after the lock is free: two workers lost ~24 ms a
    submission that way. A process waiting for a flock wakes the moment it is released, and the
    kernel releases it if its holder dies."""

    def __init__(self):
        self.descriptors: dict[str, int] = {}
        self.held: dict[str, int] = {}  # lock file -> how many of this process's connections hold it

    @staticmethod
    def lock_file(database: str) -> str:
        import hashlib
        import tempfile

        digest = hashlib.sha256(os.path.abspath(database).encode()).hexdigest()[:16]
        return os.path.join(tempfile.gettempdir(), f"coursekit-gradebook-{digest}.lock")

    def take(self, path: str) -> None:
        import fcntl

        if self.held.get(path, 0) == 0:
            if path not in self.descriptors:
                self.descriptors[path] = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self.descriptors[path], fcntl.LOCK_EX)
        self.held[path] = self.held.get(path, 0) + 1

    def give_up(self, path: str) -> None:
        import fcntl

        self.held[path] -= 1
        if self.held[path] == 0:
            fcntl.flock(self.descriptors[path], fcntl.LOCK_UN)


def serialize_sqlite_transactions() -> None:
    """Make every SQLite transaction of this process take the write lock at BEGIN and wait up to a minute for it.

    pysqlite begins transactions lazily and upgrades a read lock to a write lock at the first write: two
    processes that both read, then write, deadlock, and SQLite answers one of them "database is locked"
    at once. ``BEGIN IMMEDIATE`` (SQLAlchemy's documented recipe) serialises them instead; ``_WriterTurns``
    hands the turn over without SQLite's sleeps.
    """
    import sqlite3

    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    from sqlalchemy.pool import Pool

    if getattr(serialize_sqlite_transactions, "installed", False):
        return
    turns = _WriterTurns()

    @event.listens_for(Engine, "connect")
    def _connect(dbapi_connection, _record):
        if isinstance(dbapi_connection, sqlite3.Connection):
            dbapi_connection.isolation_level = None
            dbapi_connection.execute("PRAGMA busy_timeout = 60000")

    @event.listens_for(Engine, "begin")
    def _begin(connection):
        if connection.dialect.name == "sqlite":
            database = connection.engine.url.database
            if database and database != ":memory:" and "coursekit.turn" not in connection.connection.info:
                path = turns.lock_file(database)
                turns.take(path)
                connection.connection.info["coursekit.turn"] = path
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    def _give_up(_dbapi_connection, record, *args):
        path = record.info.pop("coursekit.turn", None)
        if path is not None:
            turns.give_up(path)

    event.listen(Pool, "checkin", _give_up)
    event.listen(Pool, "invalidate", _give_up)
    serialize_sqlite_transactions.installed = True


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


# -----------------------------------------------------------------------------
# local workers


def _worker(app, assignment: str, slot: int, connection) -> None:
    """A worker process: forked from the command after nbgrader was imported; grades what it is sent."""
    import warnings

    from coursegrader import speedups

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the command handles Ctrl-C and stops its workers
    warnings.simplefilter("ignore")  # nbgrader's SQLAlchemy warnings would interleave on the console
    speedups.install()
    speedups.forget_engines()  # never share a database connection with the process it was forked from
    speedups.trust_gradebook_schema()  # this process ends with the run
    gc.freeze()  # what was imported lives as long as this process: the collector need not walk it (~10 ms a submission)
    app.config.SandboxedExecute.fork_kernels = True
    app.config.SandboxedExecute.sandbox_uid = FIRST_SANDBOX_UID + 1 + slot
    serialize_sqlite_transactions()
    while True:
        try:
            student = connection.recv()
        except EOFError:
            return
        if student is None:
            return
        connection.send(grade_one(app, assignment, student))


class LocalPool:
    """``jobs`` worker processes forked from this one; a dead or overdue worker is replaced."""

    def __init__(self, app, assignment: str, jobs: int, deadline: float):
        self.app, self.assignment, self.jobs, self.deadline = app, assignment, jobs, deadline
        self.context = multiprocessing.get_context("fork")

    def _start(self, slot: int):
        ours, theirs = self.context.Pipe()
        process = self.context.Process(target=_worker, args=(self.app, self.assignment, slot, theirs), daemon=True)
        process.start()
        theirs.close()
        return process, ours

    def run(self, students: list[str], on_outcome: Callable[[Outcome], None]) -> None:
        queue = list(reversed(students))
        workers = {slot: self._start(slot) for slot in range(min(self.jobs, len(students)))}
        busy: dict[int, tuple[str, float]] = {}  # slot -> (student, started)
        try:
            while queue or busy:
                for slot, (process, connection) in workers.items():
                    if slot not in busy and queue:
                        student = queue.pop()
                        connection.send(student)
                        busy[slot] = (student, time.monotonic())
                ready = wait([workers[slot][1] for slot in busy] + [workers[slot][0].sentinel for slot in busy],
                             timeout=1.0)
                for slot in list(busy):
                    process, connection = workers[slot]
                    student, started = busy[slot]
                    if connection in ready:
                        try:
                            on_outcome(connection.recv())
                            del busy[slot]
                            continue
                        except (EOFError, OSError):
                            pass
                    died = not process.is_alive()
                    overdue = time.monotonic() - started > self.deadline
                    if died or overdue:
                        reason = (f"its grading process died (exit {process.exitcode})" if died
                                  else f"it took longer than {self.deadline:.0f} s")
                        process.kill()
                        process.join()
                        on_outcome(Outcome(student, "failed", time.monotonic() - started, "", reason))
                        del busy[slot]
                        workers[slot] = self._start(slot)
        finally:
            for process, connection in workers.values():
                try:
                    connection.send(None)
                except OSError:
                    pass
            for process, _ in workers.values():
                process.join(timeout=5)
                if process.is_alive():
                    process.kill()


# -----------------------------------------------------------------------------
# the command


def progress_reporter(console, total: int):
    """A rich progress bar on a terminal; a line per submission elsewhere (a log, a pipe)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    if console.is_terminal:
        progress = Progress(TextColumn("[bold]autograde[/]"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("[red]{task.fields[failed]} failed[/] · {task.fields[skipped]} skipped"),
                            TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), console=console)
        task = progress.add_task("autograde", total=total, failed=0, skipped=0)
        counts = {"failed": 0, "skipped": 0}

        def report(outcome: Outcome) -> None:
            if outcome.status in counts:
                counts[outcome.status] += 1
            if outcome.status == "failed":
                progress.console.print(f"[red]✗ {outcome.student}: {outcome.error}[/]")
            progress.update(task, advance=1, **counts)

        return progress, report

    done = {"count": 0, "failed": 0, "skipped": 0}
    started = time.monotonic()

    def report(outcome: Outcome) -> None:
        done["count"] += 1
        if outcome.status in ("failed", "skipped"):
            done[outcome.status] += 1
        elapsed = time.monotonic() - started
        left = elapsed / done["count"] * (total - done["count"])
        mark = {"graded": "✓", "failed": "✗", "skipped": "·"}[outcome.status]
        console.print(f"  [{done['count']}/{total}] {mark} {outcome.student} ({outcome.seconds:.1f} s)"
                      f"{': ' + outcome.error if outcome.error else ''} · {done['failed']} failed · ETA {left:.0f} s")

    class Quiet:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    return Quiet(), report


def autograde(course_root: Path, assignment: str, console, jobs: int | None = None, students: Iterable[str] = (),
              force: bool = False, scheduler: str | None = None, db_url: str | None = None) -> Summary:
    """Grade ``assignment``'s submissions in ``course_root``; return what happened to each."""
    from nbgrader.converters.base import NbGraderException  # noqa: F401 — nbgrader, imported once, before forking

    from coursegrader.execute import SandboxedExecute
    from coursekit.lab import find_lab

    find_lab(assignment)
    extra = [f"--CourseDirectory.db_url={db_url}"] if db_url else []
    app = make_app(course_root, assignment, force, extra)
    SandboxedExecute(config=app.config).refuse_unless_sandboxed()
    todo = submitted_students(app, assignment, students)
    jobs = max(1, jobs or os.cpu_count() or 1)
    summary = Summary()
    started = time.perf_counter()
    log_dir = Path(course_root) / "logs"
    log_dir.mkdir(exist_ok=True)
    summary.log_path = log_dir / "course-autograde.log"
    deadline = SandboxedExecute(config=app.config).notebook_timeout + DEADLINE_MARGIN
    progress, report = progress_reporter(console, len(todo))
    with summary.log_path.open("w", encoding="utf-8") as log, progress:
        log.write(f"course autograde {assignment}: {len(todo)} submissions, "
                  f"{'Dask scheduler ' + scheduler if scheduler else f'{jobs} local workers'}\n")

        def on_outcome(outcome: Outcome) -> None:
            summary.outcomes.append(outcome)
            log.write(f"\n===== {outcome.student}: {outcome.status} in {outcome.seconds:.2f} s"
                      f"{' — ' + outcome.error if outcome.error else ''}\n{outcome.log}")
            log.flush()
            report(outcome)

        if scheduler:
            from coursegrader.cluster import run_on_cluster

            run_on_cluster(app, course_root, assignment, todo, scheduler, force, on_outcome)
        else:
            LocalPool(app, assignment, jobs, deadline).run(todo, on_outcome)
    summary.seconds = time.perf_counter() - started
    return summary
