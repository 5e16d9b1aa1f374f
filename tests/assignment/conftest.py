"""Throwaway copies of the course, each autograded once per test session with nbgrader itself.

- ``graded_course``: the whole ``course demo`` run (release, autograde, feedback, export) on the
  realistic class, as ``make demo`` does it;
- ``adversarial_course``: ``nbgrader autograde`` on the attacks and odd inputs of the bank, with
  short time limits, a secret in the grader's environment and ports listening on loopback;
- ``graded_both_ways``: one class graded by ``nbgrader autograde`` and by ``course autograde --jobs 2``.
"""

import io
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from rich.console import Console

from coursegrader.commands.nbgrader import nbgrader_env, run_nbgrader
from coursegrader.files import trees
from tests.examples.lab00 import BANK, ENVIRONMENT_SECRET, INTAKE_TEST_LIMITS, LISTENING_PORTS

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENT = BANK.assignment

# Shorter limits than a real class gets, so that the examples which hit them finish quickly.
TEST_LIMITS = """
c.Execute.timeout = 6
c.SandboxedExecute.notebook_timeout = 90
c.SandboxedExecute.probe_timeout = 3
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


@pytest.fixture(scope="session")
def graded_course(tmp_path_factory):
    """The whole `course demo` run (release, autograde, feedback, export) on the realistic class."""
    from coursegrader.commands.demo import example_class, run_demo
    from coursekit.lab import find_lab

    course = make_course(tmp_path_factory.mktemp("course"))
    os.environ.pop("NBGRADER_DB_URL", None)  # the throwaway course keeps its own gradebook
    output = io.StringIO()
    lab = find_lab(ASSIGNMENT)
    run_demo(course, lab, example_class(ROOT, lab), Console(file=output, width=200))
    return course, output.getvalue()


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
    log: str
    accepted_connections: list[int]


def autograde_class(course: Path, names: list[str], env: dict[str, str] | None = None) -> str:
    """Place the bank's examples ``names`` in submitted/ and run `nbgrader autograde` once; return its log."""
    run_nbgrader(["generate_assignment", ASSIGNMENT, "--force"], course)
    for name in names:
        BANK.place(name, course / "submitted" / name / ASSIGNMENT, course)
    previous = dict(os.environ)
    os.environ.update(env or {})
    try:
        log = run_nbgrader(["autograde", ASSIGNMENT], course, check=False)
    finally:
        os.environ.clear()
        os.environ.update(previous)
    return log.read_text()


@pytest.fixture(scope="session")
def adversarial_course(tmp_path_factory):
    course = make_course(tmp_path_factory.mktemp("adversarial"), TEST_LIMITS)
    os.environ.pop("NBGRADER_DB_URL", None)
    with Listener(LISTENING_PORTS) as listener:
        log = autograde_class(course, BANK.names(folder="adversarial") + ["solution"],
                              env={ENVIRONMENT_SECRET: "hunter2-do-not-leak"})
    yield GradedClass(course, log, listener.accepted)
    # the trees 1,500 levels deep the intake set aside: pytest removes old tmp folders with shutil.rmtree
    trees.remove_tree(course / ".coursekit" / "set-aside")


# -----------------------------------------------------------------------------
# one class, graded by `nbgrader autograde` and by `course autograde --jobs 2`

CLASS = BANK.names(kind="class") + ["bad_missing_notebook", "bad_folder_is_file", "bad_misnamed_notebook", "bad_links",
                                     "forge_exit_kernel", "tamper_deleted_tests"]


def course_with_class(folder: Path, names=CLASS) -> Path:
    course = make_course(folder, TEST_LIMITS)
    run_nbgrader(["generate_assignment", ASSIGNMENT, "--force"], course)
    for name in names:
        BANK.place(name, course / "submitted" / name / ASSIGNMENT, course)
    return course


def run_course(args, course: Path, env=None) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in nbgrader_env().items() if key != "NBGRADER_DB_URL"}
    environment.update(env or {})
    return subprocess.run([sys.executable, "-m", "coursegrader.commands.cli", *args], cwd=course, env=environment,
                          capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="session")
def graded_both_ways(tmp_path_factory):
    by_nbgrader = course_with_class(tmp_path_factory.mktemp("by-nbgrader"))
    by_course = course_with_class(tmp_path_factory.mktemp("by-course"))
    env = {key: value for key, value in os.environ.items() if key != "NBGRADER_DB_URL"}
    started = time.perf_counter()
    run_nbgrader(["autograde", ASSIGNMENT], by_nbgrader)
    nbgrader_seconds = time.perf_counter() - started
    started = time.perf_counter()
    result = run_course(["autograde", ASSIGNMENT, "--jobs", "2"], by_course, env)
    course_seconds = time.perf_counter() - started
    return by_nbgrader, by_course, result, (nbgrader_seconds, course_seconds)
