"""Throwaway copies of the course, each autograded once per test session with nbgrader itself.

- ``graded_course``: the whole ``course demo`` run (release, autograde, feedback, export) on the
  realistic class, as ``make demo`` does it;
- ``adversarial_course``: ``nbgrader autograde`` on the attacks and odd inputs of the bank, with
  short time limits, a secret in the grader's environment and ports listening on loopback.
"""

import io
import os
import shutil
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from rich.console import Console

from coursegrader.nbgrader_run import run_nbgrader
from tests.examples.lab00 import BANK, ENVIRONMENT_SECRET, LISTENING_PORTS

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENT = BANK.assignment

# Shorter limits than a real class gets, so that the examples which hit them finish quickly.
TEST_LIMITS = """
c.Execute.timeout = 6
c.SandboxedExecute.notebook_timeout = 90
c.SandboxedExecute.probe_timeout = 3
"""


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
    from coursegrader.demo import example_class, run_demo
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
    return GradedClass(course, log, listener.accepted)
