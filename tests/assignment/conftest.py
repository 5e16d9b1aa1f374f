"""Throwaway copies of the course, each graded once per test run.

- ``graded_course``: the whole ``course demo`` run (release, autograde, feedback, export) on the
  realistic class, as ``make demo`` does it;
- ``graded_classes``, seen as two fixtures: ``graded_both_ways``, one class (CLASS) holding an attack of each
  kind, graded by ``nbgrader autograde``; and ``adversarial_course``, the same class with every attack and odd
  input of the bank, graded by ``course autograde --jobs 2`` at the same time; both with short time limits, a
  secret in the grader's environment and ports listening on loopback.

Each is made once per run, whichever pytest-xdist worker asks first (``tests.once``).
"""

import io
import os
import shutil
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from rich.console import Console

from tests import commands
from tests.examples.lab00 import BANK, ENVIRONMENT_SECRET, INTAKE_TEST_LIMITS, LISTENING_PORTS
from tests.once import once_per_run

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENT = BANK.assignment

# Shorter limits than a real class gets, so that the examples which hit them finish quickly.
TEST_LIMITS = """
c.Execute.timeout = 4
c.SandboxedExecute.notebook_timeout = 90
c.SandboxedExecute.probe_timeout = 2
c.SandboxedExecute.memory_limit = 2**30
c.SandboxedExecute.disk_limit = 32 * 2**20
c.SandboxedExecute.entries_limit = 2_000
""" + "".join(f"c.SubmissionExporter.max_{name} = {value}\n" for name, value in INTAKE_TEST_LIMITS.items())


def make_course(destination: Path, extra_config: str = "") -> Path:
    """A course folder as an instructor has it: config and source/, nothing generated yet."""
    destination.mkdir(parents=True, exist_ok=True)
    config = (ROOT / "nbgrader_config.py").read_text() + extra_config
    (destination / "nbgrader_config.py").write_text(config)
    shutil.copytree(ROOT / "source", destination / "source")
    return destination


def _demo_run(folder: Path) -> tuple[Path, str]:
    from coursegrader.commands.demo import example_class, run_demo
    from coursekit.lab import find_lab

    course = make_course(folder)
    output = io.StringIO()
    lab = find_lab(ASSIGNMENT)
    run_demo(course, lab, example_class(ROOT, lab), Console(file=output, width=200))
    return course, output.getvalue()


@pytest.fixture(scope="session")
def graded_course(tmp_path_factory):
    """The whole `course demo` run (release, autograde, feedback, export) on the realistic class."""
    os.environ.pop("NBGRADER_DB_URL", None)  # the throwaway course keeps its own gradebook
    return once_per_run(tmp_path_factory, "demo-course", _demo_run)


@dataclass
class Listener:
    """TCP servers on loopback that count the connections they accept."""

    ports: tuple[int, ...]
    accepted: list[int] = field(default_factory=list)

    def __enter__(self):
        self._servers = []
        for port in self.ports:
            server = socket.socket()
            server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            server.bind(("127.0.0.1", port))
            server.listen()
            server.settimeout(0.2)
            self._servers.append(server)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        return self

    def _serve(self):
        while not self._stop.is_set():
            for server in self._servers:
                try:
                    connection, _ = server.accept()
                except (TimeoutError, OSError):
                    continue
                self.accepted.append(server.getsockname()[1])
                connection.close()

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        for server in self._servers:
            server.close()


@dataclass
class GradedClass:
    course: Path
    log: str  # the command's output, then nbgrader's log of every submission
    accepted_connections: list[int]
    finished: subprocess.CompletedProcess  # the command's exit status, output and errors

    @property
    def returncode(self) -> int:
        return self.finished.returncode


ADVERSARIAL = BANK.names(folder="adversarial") + ["solution"]

# Part of the realistic class (both editions, right and wrong work, a notebook saved by JupyterLab; the
# whole class is graded by the demo run, `graded_course`), with at least one attack of each kind of the
# bank (bad input, bounds, isolation, forgery, tampering, honest but odd): the hostile files, printouts
# and trees a class run must carry back (test_cluster.py compares its runs to these), a loop stopped at
# the time limit, a kernel that exits, a disk filled, searches for the grader's hidden checks and hidden
# text, markup made to run in a browser.
HOSTILE = ["bad_links", "bad_fifo", "bad_odd_files", "bad_folder_is_link", "bad_notebook_is_link", "bad_timestamp",
           "bounds_prints_300_mb", "isolation_writes_odd_files"]
CLASS = ["solution", "solution_es", "untouched_release", "pe_after_attention", "pe_after_attention_es", "block_raises",
         "jupyterlab_saved", "hand_typed_manifest_es", "tampered_tests", "bad_missing_notebook", "bad_folder_is_file",
         "bad_misnamed_notebook", "forge_exit_kernel", "tamper_deleted_tests", "bounds_infinite_loop", "honest_slow",
         "bounds_fills_disk", "isolation_grader_package", "isolation_grading_notebook", "isolation_markup",
         *HOSTILE]
# What `course autograde --jobs 2` grades in one run: the whole bank's attacks and odd inputs, and CLASS.
COURSE_CLASS = sorted(set(ADVERSARIAL) | set(CLASS))


def copy_generated(generated: Path, course: Path) -> None:
    """What `nbgrader generate_assignment` wrote in the course ``generated`` (gradebook, release/), into ``course``."""
    shutil.copy2(generated / "gradebook.db", course / "gradebook.db")
    shutil.copytree(generated / "release", course / "release")


def course_with_class(folder: Path, names=CLASS, generated: Path | None = None) -> Path:
    """A course with TEST_LIMITS, the lab generated (or its gradebook and release copied from the course
    ``generated``), and the bank's examples ``names`` submitted."""
    course = make_course(folder, TEST_LIMITS)
    if generated is None:
        commands.nbgrader(["generate_assignment", ASSIGNMENT, "--force"], course)
    else:
        copy_generated(generated, course)
    for name in names:
        BANK.place(name, course / "submitted" / name / ASSIGNMENT, course)
    return course


def run_course(args, course: Path, env=None, *, new_process: bool = False) -> subprocess.CompletedProcess:
    """``course ARGS`` in ``course`` (a child of tests.commands' server; ``new_process``: a new interpreter,
    for a test about the grader's own process)."""
    if not new_process:
        return commands.course(args, course, env)
    return subprocess.run([sys.executable, "-m", "coursegrader.commands.cli", *args], cwd=course,
                          env=commands.command_env(env), capture_output=True, text=True, timeout=900)


def _grade_both_ways(folder: Path):
    """CLASS graded by `nbgrader autograde`, and the bank's attacks with CLASS by `course autograde --jobs 2`, both
    at once (two courses, two gradebooks: nothing shared but the machine), with a secret in both graders'
    environment and ports listening on loopback."""
    by_nbgrader = course_with_class(folder / "by-nbgrader")
    by_course = course_with_class(folder / "by-course", COURSE_CLASS, generated=by_nbgrader)
    secret = {ENVIRONMENT_SECRET: "hunter2-do-not-leak"}
    nbgrader_done = []
    with Listener(LISTENING_PORTS) as listener:
        other = threading.Thread(target=lambda: nbgrader_done.append(
            commands.nbgrader(["autograde", ASSIGNMENT], by_nbgrader, secret, check=False)))
        other.start()
        # a process of its own: the secret is in its /proc entry as in an instructor's grader's
        finished = run_course(["autograde", ASSIGNMENT, "--jobs", "2"], by_course, secret, new_process=True)
        other.join()
    assert nbgrader_done and nbgrader_done[0].returncode == 0, \
        "nbgrader autograde failed:\n" + (nbgrader_done[0].stdout[-3000:] if nbgrader_done else "(no answer)")
    log = (by_course / "logs" / "course-autograde.log").read_text(errors="replace")
    graded = GradedClass(by_course, finished.stdout + finished.stderr + log, listener.accepted, finished)
    return by_nbgrader, graded


@pytest.fixture(scope="session")
def graded_classes(tmp_path_factory):
    os.environ.pop("NBGRADER_DB_URL", None)
    return once_per_run(tmp_path_factory, "both-ways", _grade_both_ways)


@pytest.fixture(scope="session")
def adversarial_course(graded_classes) -> GradedClass:
    """The bank's attacks and odd inputs, with CLASS, graded by `course autograde --jobs 2` (the class grader; that
    it leaves what `nbgrader autograde` leaves is test_parallel.py's work, on CLASS), with a secret in the
    grader's environment and ports listening."""
    return graded_classes[1]


@pytest.fixture(scope="session")
def graded_both_ways(graded_classes):
    """CLASS graded by `nbgrader autograde` (its course), and by `course autograde --jobs 2` (in the course of
    ``adversarial_course``): (nbgrader's course, course's course, the `course autograde` command's result)."""
    by_nbgrader, graded = graded_classes
    return by_nbgrader, graded.course, graded.finished
