"""The grading seam of ``course watch``: a job in (grade a submission, then write its feedback), a ``Done`` out.

Two implementations, one shape (``submit``, ``free``, ``busy``, ``waitables``, ``poll``, ``close``):

- ``LocalGrading``: ``jobs`` worker processes forked from the service after nbgrader was imported,
  each set up as ``course autograde``'s workers are (``coursegrader.classrun.pool``: nbgrader's speedups,
  SQLite writers taking turns, kernels forked from a factory) and kept warm for the next submission:
  its kernel factory is started before the first one arrives. A worker grades with
  ``coursegrader.classrun.grade.grade_one`` — the same converter, sandbox, bounds, verdicts and gradebook
  as ``course autograde`` — then writes the feedback page (``coursegrader.service.feedback``). A worker
  that dies, or runs past the deadline, is killed and replaced, and its job reported as failed: the
  others go on. Workers die with the service (``PR_SET_PDEATHSIG``), so a killed service leaves none
  grading behind it, and ignore SIGTERM and SIGINT (the service decides when they stop).
- ``ClusterGrading`` (``--scheduler``): each submission is graded on a Dask cluster through
  ``coursegrader.classrun.cluster.run_on_cluster`` (one call per submission, ``jobs`` at a time), and its
  feedback page written here.
"""

from __future__ import annotations

import ctypes
import gc
import multiprocessing
import os
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from coursegrader.classrun.grade import Outcome, grade_one
from coursegrader.service.feedback import write_feedback

GRADE, FEEDBACK = "grade", "feedback"


@dataclass(frozen=True)
class Job:
    student: str
    record: str  # the inbound folder it came from
    kind: str  # GRADE (then the feedback), or FEEDBACK alone (the page again, e.g. at the reveal time)
    secret: str  # the submission's secret: where its feedback is released
    submitted_at: float
    hidden: str  # what students see of hidden checks (WatchPolicy.hidden_view)
    attempt: int
    late: bool = False


@dataclass
class Done:
    job: Job
    outcome: Outcome | None  # None for a FEEDBACK job
    feedback_written: bool
    feedback_log: str = ""
    seconds: float = 0.0  # the whole job
    feedback_seconds: float = 0.0  # of which writing the feedback page


def run_job(app, assignment: str, job: Job) -> Done:
    """Grade one submission (unless the job is the feedback alone), then write its feedback page."""
    started = time.perf_counter()
    outcome = None
    if job.kind == GRADE:
        outcome = grade_one(app, assignment, job.student)
        if outcome.status == "failed":
            return Done(job, outcome, False, "", time.perf_counter() - started)
    graded = time.perf_counter()
    written, log = write_feedback(app, assignment, job.student, job.hidden, job.attempt, job.submitted_at, job.late)
    return Done(job, outcome, written, log, time.perf_counter() - started, time.perf_counter() - graded)


# -----------------------------------------------------------------------------
# on this machine


def _die_with_parent() -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _worker(app, assignment: str, connection) -> None:
    """A worker process, forked from the service after nbgrader was imported: set up once, then one job at a time."""
    import warnings

    from coursegrader import speedups
    from coursegrader.classrun.sqlite_turns import serialize_sqlite_transactions
    from coursegrader.run.factory import KernelFactory

    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    warnings.simplefilter("ignore")
    speedups.forget_engines()  # never share a database connection with the process it was forked from
    gc.freeze()
    app.config.SandboxedExecute.fork_kernels = True
    serialize_sqlite_transactions()
    try:
        KernelFactory.shared()  # warm now, not when the first submission arrives
    except Exception:  # noqa: BLE001 — the first job starts it again, and reports why it cannot
        pass
    connection.send("ready")
    while True:
        try:
            job = connection.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        connection.send(run_job(app, assignment, job))


class LocalGrading:
    """``jobs`` warm worker processes, one job at a time each; a dead or overdue worker is replaced."""

    def __init__(self, app, assignment: str, jobs: int, deadline: float):
        self.app, self.assignment, self.jobs, self.deadline = app, assignment, jobs, deadline
        self.context = multiprocessing.get_context("fork")
        self.workers: dict[int, tuple] = {}
        self.running: dict[int, tuple[Job, float]] = {}  # slot -> (job, started)
        self.ready: set[int] = set()

    def start(self) -> None:
        for slot in range(self.jobs):
            self.workers[slot] = self._start()

    def _start(self):
        ours, theirs = self.context.Pipe()
        process = self.context.Process(target=_worker, args=(self.app, self.assignment, theirs), daemon=True)
        process.start()
        theirs.close()
        return process, ours

    def free(self) -> int:
        return sum(1 for slot in self.workers if slot not in self.running)

    def busy(self) -> list[Job]:
        return [job for job, _started in self.running.values()]

    def submit(self, job: Job) -> None:
        slot = next(slot for slot in self.workers if slot not in self.running)
        self.workers[slot][1].send(job)
        self.running[slot] = (job, time.monotonic())

    def waitables(self) -> list:
        return [item for process, connection in self.workers.values() for item in (connection, process.sentinel)]

    def poll(self) -> list[Done]:
        """The jobs finished since the last call, and those lost with a dead or overdue worker."""
        finished = []
        for slot in list(self.workers):
            process, connection = self.workers[slot]
            while True:
                try:
                    if not connection.poll():
                        break
                    message = connection.recv()
                except (EOFError, OSError):
                    break
                if message == "ready":
                    self.ready.add(slot)
                elif isinstance(message, Done) and slot in self.running:
                    del self.running[slot]
                    finished.append(message)
            died = not process.is_alive()
            job, started = self.running.get(slot, (None, 0.0))
            overdue = job is not None and time.monotonic() - started > self.deadline
            if died or overdue:
                if job is not None:
                    reason = (f"its grading process died (exit {process.exitcode})" if died
                              else f"it took longer than {self.deadline:.0f} s")
                    finished.append(Done(job, Outcome(job.student, "failed", time.monotonic() - started, "", reason),
                                         False))
                    del self.running[slot]
                process.kill()
                process.join()
                self.ready.discard(slot)
                self.workers[slot] = self._start()
        return finished

    def close(self) -> None:
        for process, connection in self.workers.values():
            try:
                connection.send(None)
            except OSError:
                pass
        for process, _connection in self.workers.values():
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
                process.join()


# -----------------------------------------------------------------------------
# on a Dask cluster


def grade_on_cluster(app, course_root: Path, assignment: str, student: str, scheduler: str) -> Outcome:
    """One submission graded on the cluster: the one call ``course watch`` makes into ``classrun.cluster``.

    What it assumes of ``run_on_cluster(app, course_root, assignment, students, scheduler, force, on_outcome)``:
    it blocks until each listed student's ``Outcome`` was passed to ``on_outcome``; it reads the submission
    from ``submitted/<student>/<assignment>`` here and leaves the graded folder in ``autograded/`` here,
    telling the ledger (``start`` before, ``finish`` once graded); grades go to the gradebook at
    ``app.coursedir.db_url``, which it refuses (``SystemExit``) unless every worker can reach it; with
    ``force=False`` it skips a submission the ledger says is graded and whose graded folder is not older;
    several calls may run at once, from threads, each with its own client.
    """
    from coursegrader.classrun.cluster import run_on_cluster

    outcomes: list[Outcome] = []
    run_on_cluster(app, course_root, assignment, [student], scheduler, False, outcomes.append)
    if not outcomes:
        return Outcome(student, "failed", 0.0, "", "the cluster returned no outcome")
    return outcomes[-1]


class ClusterGrading:
    """Submissions graded on a Dask cluster, ``jobs`` at a time; feedback pages written here, one at a time."""

    def __init__(self, app, course_root: Path, assignment: str, jobs: int, scheduler: str):
        self.app, self.course_root, self.assignment, self.jobs = app, Path(course_root), assignment, jobs
        self.scheduler = scheduler
        self.running: dict[str, Job] = {}
        self.finished: list[Done] = []
        self.lock = threading.Lock()
        self.feedback_lock = threading.Lock()  # nbgrader's converters change the working folder
        self.wake_read, self.wake_write = os.pipe()
        os.set_blocking(self.wake_read, False)

    def start(self) -> None:
        pass

    def free(self) -> int:
        return max(0, self.jobs - len(self.running))

    def busy(self) -> list[Job]:
        return list(self.running.values())

    def submit(self, job: Job) -> None:
        self.running[job.record] = job
        threading.Thread(target=self._run, args=(job,), daemon=True).start()

    def _run(self, job: Job) -> None:
        started = time.perf_counter()
        try:
            outcome = None
            if job.kind == GRADE:
                outcome = grade_on_cluster(self.app, self.course_root, self.assignment, job.student, self.scheduler)
            if outcome is not None and outcome.status == "failed":
                done = Done(job, outcome, False)
            else:
                with self.feedback_lock:
                    page_started = time.perf_counter()
                    written, log = write_feedback(self.app, self.assignment, job.student, job.hidden, job.attempt,
                                                  job.submitted_at, job.late)
                done = Done(job, outcome, written, log, feedback_seconds=time.perf_counter() - page_started)
        except BaseException as error:  # noqa: BLE001 — SystemExit included: run_on_cluster's refusals
            done = Done(job, Outcome(job.student, "failed", 0.0, "", f"{type(error).__name__}: {error}"), False)
        done.seconds = time.perf_counter() - started
        with self.lock:
            self.finished.append(done)
        try:
            os.write(self.wake_write, b"x")
        except OSError:
            pass

    def waitables(self) -> list:
        return [self.wake_read]

    def poll(self) -> list[Done]:
        try:
            while os.read(self.wake_read, 4096):
                pass
        except (BlockingIOError, OSError):
            pass
        with self.lock:
            finished, self.finished = self.finished, []
        for done in finished:
            self.running.pop(done.job.record, None)
        return finished

    def close(self) -> None:
        while self.running:
            time.sleep(0.1)
            self.poll()
