"""``course autograde --scheduler ADDRESS``: the same grading, on the workers of a Dask cluster.

The workers share no folder with the instructor. Each task carries what grading one submission needs,
as bytes (``coursegrader.classrun.transfer``): the course's files and the submission folder as the
student left it. On the worker, the submission is graded in a process of
its own, forked for it from the worker's grading server (``coursegrader.classrun.gradeserver``),
whatever the number of threads or processes the worker was started with: two submissions never share
a process, so nothing one grading changes process-wide (working directory, environment, loggers)
reaches another. That process grades it with nbgrader's converter in a throwaway course folder, writes
the grades to the shared gradebook (PostgreSQL: a SQLite file on the instructor's disk cannot be
shared) and returns the autograded folder, which replaces ``autograded/<student>/<assignment>`` here
(``install_graded``: only folders and regular files, never following a link).

Before any task, every worker is asked whether it can grade (``worker_environment``): the same Python,
packages and version of this project as the instructor's (a different numpy or lab module would grade
differently), and a sandbox that starts. A worker that cannot stops the run before it begins, with what
to fix. And the gradebook is checked from here (``coursegrader.classrun.app.check_gradebook``).

Faults, and what happens to the submissions:

- a worker process that dies while grading (killed, out of memory) takes its grading processes with it
  (they die with its grading server); the scheduler gives its tasks to another worker, so each
  submission is graded elsewhere, and its outcome says it was graded again; a submission whose workers
  died three times (Dask's ``allowed-failures``) is reported failed, with the reason;
- a submission still grading at its deadline (its notebook's time limit, and a margin) is stopped and
  reported failed;
- the scheduler going away ends the command (``ClusterLost``) with what was done; the ledger
  (``coursegrader.intake.ledger``) records every submission whose graded folder arrived here, and a
  submission is entered only then, so running the command again grades exactly the others;
- whatever a task returns is one submission's: its outcome and its folder, or nothing.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import logging
import platform
import socket
import time
import uuid
import warnings
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

from coursegrader.classrun.app import make_app
from coursegrader.classrun.grade import Outcome, first_line, grade_one
from coursegrader.classrun.gradeserver import CallFailed, GradingProcessDied, GradingServer, work_folder
from coursegrader.classrun.transfer import CourseFiles, TooLarge, course_files, install_graded, pack, unpack_submission
from coursegrader.intake import ledger

EVENTS = "coursekit-autograde"  # the Dask event topic where each task says where it started
PACKAGES = ("nbgrader", "numpy", "ipykernel", "nbclient", "nbconvert", "nbformat", "jupyter_client", "SQLAlchemy",
            "distributed")


class ClusterLost(RuntimeError):
    """The scheduler went away before every submission came back."""


# -----------------------------------------------------------------------------
# on a worker


@functools.lru_cache(maxsize=1)
def project_digest() -> str:
    """A digest of this project's installed code and data (minimodel, coursekit, coursegrader)."""
    import coursegrader
    import coursekit
    import minimodel

    digest = hashlib.sha256()
    for package in (minimodel, coursekit, coursegrader):
        root = Path(package.__file__).parent
        for path in sorted(root.rglob("*")):
            if path.suffix in (".py", ".json", ".mo", ".j2", ".txt") and path.is_file():
                digest.update(str(path.relative_to(root.parent)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def environment() -> dict:
    """What grading depends on in this Python: its version, the packages', this project's code."""
    packages = {}
    for name in PACKAGES:
        try:
            packages[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            packages[name] = None
    return {"python": platform.python_version(), "packages": packages, "project": project_digest()}


def worker_environment(bubblewrap: str) -> dict:
    """Run on each worker before the run (``Client.run``): its environment, and whether a sandbox starts there."""
    from coursegrader.run.sandbox import SandboxUnavailable, check_available

    found = environment()
    found["host"] = socket.gethostname()
    try:
        check_available(bubblewrap)
        found["sandbox"] = None
    except SandboxUnavailable as error:
        found["sandbox"] = str(error)
    return found


def grade_in_throwaway_course(files: CourseFiles, assignment: str, student: str, submission: bytes,
                              db_url: str) -> tuple[Outcome, bytes]:
    """In a process forked for this submission alone: grade it in a course folder of its own; return its
    outcome and its autograded folder (``pack``: folders and regular files only)."""
    from coursegrader import speedups

    speedups.trust_gradebook_schema()  # this process grades one submission and ends
    root = work_folder() / "course"
    root.mkdir()
    (root / "nbgrader_config.py").write_bytes(files.config)
    for relative, content in files.files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(content)
    app = make_app(root, assignment, force=True, extra=[f"--CourseDirectory.db_url={db_url}"])
    app.config.SandboxedExecute.fork_kernels = True
    coursedir = app.coursedir
    unpack_submission(submission, Path(coursedir.format_path(coursedir.submitted_directory, student, assignment)))
    outcome = grade_one(app, assignment, student)
    graded = Path(coursedir.format_path(coursedir.autograded_directory, student, assignment))
    if outcome.status != "graded" or not graded.is_dir() or graded.is_symlink():
        return outcome, b""
    archive, left = pack(graded, links=False)
    if left:
        outcome.log += f"[course autograde | WARNING] Not sent back from the worker: {'; '.join(left[:5])}\n"
    return outcome, archive


def grade_remotely(files: CourseFiles, assignment: str, student: str, submission: bytes, db_url: str,
                   deadline: float, run: str) -> tuple[Outcome, bytes]:
    """The Dask task, in any thread of a worker: grade one submission in a process of its own; never raises."""
    from distributed import get_worker

    started = time.perf_counter()
    host = socket.gethostname()
    try:
        worker = get_worker()
        worker.log_event(EVENTS, {"run": run, "student": student, "worker": worker.address})
    except ValueError:
        pass  # not on a Dask worker (a test calling it directly)
    try:
        server = GradingServer.shared()
    except Exception as error:  # noqa: BLE001
        return Outcome(student, "failed", time.perf_counter() - started, "",
                       f"the grading server could not start on {host} ({first_line(error)}): check that this "
                       "project's environment is installed there (`make venv`) and `dask worker` runs from it"), b""
    try:
        return server.call(grade_in_throwaway_course, files, assignment, student, submission, db_url, deadline=deadline)
    except GradingProcessDied as error:
        reason = f"{error} on {host}"
        log = ""
    except CallFailed as error:
        reason, log = f"{error} on {host} (the traceback is in the log)", error.details
    return Outcome(student, "failed", time.perf_counter() - started, log, reason), b""


# -----------------------------------------------------------------------------
# on the instructor's machine


def _timestamp(folder: str):
    """The time in ``folder/timestamp.txt``, or None when there is none nbgrader could read. A submission's
    may be anything (a FIFO would block nbgrader's reader; an unreadable one makes nbgrader stop the run):
    the worker's intake sets it aside in its copy, this machine only looks at it."""
    import os
    import stat

    from nbgrader.utils import parse_utc

    path = os.path.join(folder, "timestamp.txt")
    try:
        info = os.lstat(path)
        if not stat.S_ISREG(info.st_mode) or info.st_size > 1000:
            return None
        with open(path, encoding="utf-8") as handle:
            return parse_utc(handle.read().strip())
    except (OSError, UnicodeDecodeError, ValueError, OverflowError):
        return None


def _already_graded(app, course_root: Path, assignment: str, student: str) -> bool:
    """What ``nbgrader autograde`` skips: a finished graded folder, not older than the submission."""
    import os

    coursedir = app.coursedir
    graded = coursedir.format_path(coursedir.autograded_directory, student, assignment)
    if not (os.path.isdir(graded) and ledger.finished(course_root, assignment, student)):
        return False
    submitted = coursedir.format_path(coursedir.submitted_directory, student, assignment)
    new, old = _timestamp(submitted), _timestamp(graded)
    return not (new is not None and old is not None and new > old)


def check_workers(client, app, scheduler: str, wait: float = 60) -> int:
    """Every worker connected can grade as this machine would; return how many there are, or stop the run."""
    from coursegrader.adapters.execute import SandboxedExecute

    try:
        client.wait_for_workers(1, timeout=wait)
    except TimeoutError:
        raise SystemExit(f"course autograde: no worker joined the Dask scheduler at {scheduler} in {wait:.0f} s: start "
                         f"`dask worker {scheduler}` on each grading machine, from this project's environment") from None
    execute = SandboxedExecute(config=app.config)
    answers = client.run(worker_environment, execute.bubblewrap, on_error="return")
    ours = environment()
    problems = []
    for address, found in sorted(answers.items()):
        if isinstance(found, BaseException):
            problems.append(f"{address} cannot run this project's code ({first_line(found)}): install this project's "
                            "environment there (`make venv`) and start `dask worker` from it")
            continue
        differences = [f"Python {found['python']} there, {ours['python']} here"] if found["python"] != ours["python"] else []
        differences += [f"{name} {found['packages'].get(name)} there, {version} here"
                        for name, version in ours["packages"].items() if found["packages"].get(name) != version]
        if found["project"] != ours["project"]:
            differences.append("another version of this project's code")
        if differences:
            problems.append(f"{address} ({found['host']}) would not grade as this machine does ({'; '.join(differences)}): "
                            "install the same commit of this project there (`make venv`) and restart its `dask worker`")
        if found["sandbox"] and not execute.unsafe_run_without_sandbox:
            problems.append(f"{address} ({found['host']}) cannot start a sandbox ({found['sandbox']}): install "
                            "bubblewrap there (`make system-deps`) and run `dask worker` as root")
    if problems:
        raise SystemExit("course autograde: " + "\n  ".join(["some workers cannot grade:", *problems]))
    return len(answers)


SCHEDULER_ANSWER_WAIT = 5  # seconds the scheduler may take to answer "are you there?" once a task came back failed


def _scheduler_lost(client, error: BaseException) -> bool:
    """Whether ``error``, raised by a task's result, means the scheduler went away. The client cancels every
    future the moment its connection to the scheduler closes (reason ``scheduler-connection-lost``): none
    can come back after that, even from a scheduler that restarts, so nothing is gained by waiting. Any
    other failure: the scheduler is asked, and one that does not answer within a few seconds counts as
    gone (Dask's own wait, ``distributed.comm.timeouts.connect``, is 30 s of retries)."""
    if getattr(error, "reason", None) == "scheduler-connection-lost" or client.status != "running":
        return True
    try:
        client.sync(client.scheduler.identity, callback_timeout=SCHEDULER_ANSWER_WAIT)
        return False
    except Exception:  # noqa: BLE001 — any failure to answer is an answer
        return True


@contextmanager
def _closed_at_the_end(client, lost: list[bool]):
    """``with client``, except that a client whose scheduler went away is closed without its own log of the
    reconnection it was still trying (a traceback of the cancelled attempt): the command says what happened."""
    try:
        yield client
    finally:
        logger, quiet = logging.getLogger("distributed.client"), logging.Filter("nothing")
        if lost:
            logger.addFilter(quiet)
        try:
            client.close()
        finally:
            logger.removeFilter(quiet)


def run_on_cluster(app, course_root: Path, assignment: str, students: list[str], scheduler: str, force: bool,
                   deadline: float, on_outcome: Callable[[Outcome], None]) -> None:
    """Grade ``students`` on the cluster at ``scheduler``, calling ``on_outcome`` for each; raise
    ``ClusterLost`` if the scheduler goes away first."""
    from distributed import Client, as_completed
    from distributed.scheduler import KilledWorker

    db_url = app.coursedir.db_url
    coursedir = app.coursedir
    todo = []
    for student in students:
        if not force and _already_graded(app, course_root, assignment, student):
            on_outcome(Outcome(student, "skipped", 0.0, "Skipping existing assignment (graded earlier)\n"))
        else:
            todo.append(student)
    if not todo:
        return
    run = uuid.uuid4().hex[:8]
    try:
        client = Client(scheduler, timeout=30)
    except OSError as error:
        raise SystemExit(f"course autograde: the Dask scheduler at {scheduler} could not be reached ({error}): start "
                         "`dask scheduler` there, or check the address") from None
    starts: dict[str, list[str]] = {student: [] for student in todo}
    done: set[str] = set()

    def started(event) -> None:
        _, message = event
        if isinstance(message, dict) and message.get("run") == run and message.get("student") in starts:
            starts[message["student"]].append(message.get("worker", "?"))

    lost: list[bool] = []
    with _closed_at_the_end(client, lost):
        check_workers(client, app, scheduler)
        client.subscribe_topic(EVENTS, started)
        # in each task, not scattered: data scattered to workers is lost with them, and a task whose worker died
        # must find what it needs on whichever worker takes it (the restarted one, when there was only one)
        files = course_files(app, course_root, assignment)
        futures = {}
        sent_at: dict[str, float] = {}
        for student in todo:
            try:
                submission, _ = pack(Path(coursedir.format_path(coursedir.submitted_directory, student, assignment)),
                                     links=True)
            except TooLarge as error:
                on_outcome(Outcome(student, "failed", 0.0, "", f"{error}: too large to send to a worker; grade it on "
                                   f"this machine (`course autograde {assignment} --student {student}`)"))
                continue
            ledger.start(course_root, assignment, student)  # entered again only once its graded folder is here
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "large object in the task graph": a submission is what it is
                future = client.submit(grade_remotely, files, assignment, student, submission, db_url, deadline, run,
                                       pure=False, key=f"autograde-{assignment}-{student}-{run}")
            futures[future], sent_at[student] = student, time.monotonic()
        try:
            for future in as_completed(futures):
                student = futures[future]
                try:
                    outcome, graded = future.result()
                except KilledWorker as error:
                    outcome, graded = Outcome(student, "failed", time.monotonic() - sent_at[student], "",
                                              f"the workers grading it died {len(starts[student]) or 'several'} times "
                                              f"(the last: {getattr(error, 'last_worker', '?')}); see their logs: it may "
                                              "take more memory than a worker has"), b""
                except Exception as error:  # noqa: BLE001 — the scheduler gone, or a task that raised
                    if _scheduler_lost(client, error):
                        lost.append(True)
                        raise ClusterLost(_lost_message(scheduler, len(done), len(todo))) from None
                    reason = f"the cluster could not grade it ({first_line(error)})"
                    if isinstance(error, ImportError):  # a worker that joined without this project's code
                        reason = (f"the worker that took it cannot run this project's code ({first_line(error)}): "
                                  "install this project's environment there (`make venv`) and start `dask worker` from it")
                    outcome, graded = Outcome(student, "failed", time.monotonic() - sent_at[student], "", reason), b""
                _receive(app, course_root, assignment, outcome, graded)
                attempts = len(starts[student])
                if attempts > 1:
                    outcome.note = (f"graded {attempts} times: the worker grading it was lost "
                                    f"({', '.join(starts[student][:-1])}); the grade is the last one's")
                done.add(student)
                on_outcome(outcome)
        finally:
            try:
                client.unsubscribe_topic(EVENTS)
            except Exception:  # noqa: BLE001 — a client whose scheduler is gone
                pass
            for future in futures:
                future.release()


def _lost_message(scheduler: str, done: int, total: int) -> str:
    return (f"the Dask scheduler at {scheduler} went away after {done} of {total} submissions came back; those are "
            "graded and recorded; run the same command again (with a scheduler running) to grade the others")


def _receive(app, course_root: Path, assignment: str, outcome: Outcome, graded: bytes) -> None:
    """Put one submission's graded folder in place, and record it in the ledger once it is all there."""
    from coursegrader.files.trees import remove_tree

    coursedir = app.coursedir
    destination = Path(coursedir.format_path(coursedir.autograded_directory, outcome.student, assignment))
    if outcome.status == "graded" and graded:
        try:
            left = install_graded(graded, destination)
        except Exception as error:  # noqa: BLE001 — this submission's folder only
            outcome.status, outcome.error = "failed", f"its graded folder could not be put in place ({first_line(error)})"
            return
        if left:
            outcome.log += f"[course autograde | WARNING] Left out of {destination}: {'; '.join(left[:5])}\n"
        ledger.finish(course_root, assignment, outcome.student)
    elif outcome.status == "graded":
        outcome.status, outcome.error = "failed", "the worker sent no graded folder back"
    elif outcome.status == "failed" and destination.parent.is_dir() and not destination.parent.is_symlink():
        remove_tree(destination)  # as nbgrader removes a failed submission's folder
