"""What the cluster tests share (tests/assignment/test_cluster*.py): a throwaway PostgreSQL server per module,
Dask schedulers and workers started with the README's commands, the course each test grades, and the
references `nbgrader autograde` left in graded_both_ways (tests/assignment/conftest.py), asked for once a test
has graded its own class (``nbgrader_reference``).
"""

from __future__ import annotations

import functools
import glob
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import psutil
import pytest

from coursegrader.commands.nbgrader import nbgrader_env
from tests import commands
from tests.assignment.conftest import ASSIGNMENT, CLASS, HOSTILE, TEST_LIMITS, make_course, run_course
from tests.assignment.gradebooks import gradebook_content, graded_notebooks
from tests.examples.lab00 import BANK

DASK = str(Path(sys.executable).parent / "dask")
# The worker commands of the README's "Large courses", as the tests run them: a thread per core, or processes.
README_WORKERS = re.findall(r"^dask worker tcp://scheduler\.example\.org:8786 (.*?)\s+#",
                            (Path(__file__).resolve().parents[2] / "README.md").read_text(), flags=re.MULTILINE)
THREADS, PROCESSES = (flags.split() for flags in README_WORKERS)
assert "--nthreads" in THREADS and "--nworkers" not in THREADS and "--nworkers" in PROCESSES

# Part of the class graded both ways by tests/assignment/conftest.py (graded_both_ways: its nbgrader
# gradebook is the reference): correct work, mistakes, the Spanish edition, tampering, odd submissions.
CLUSTER_CLASS = ["solution", "untouched_release", "pe_after_attention_es", "tamper_deleted_tests", "block_raises",
                 "bad_misnamed_notebook", "bad_folder_is_file", "forge_exit_kernel"]
# What each layout grades, the slow one among them: one of each kind (correct, a mistake, the Spanish edition,
# tampering, an odd submission), every hostile kind with the threads (the grading processes of one worker process
# side by side), and between the two layouts all of CLUSTER_CLASS.
THREADS_CLASS = ["solution", "pe_after_attention_es", "tamper_deleted_tests", "bad_misnamed_notebook"]
PROCESSES_CLASS = ["solution", "block_raises", "untouched_release", "pe_after_attention_es", "tamper_deleted_tests",
                   "bad_folder_is_file", "forge_exit_kernel"]
# Hostile ones, in the same class graded both ways (CLASS): links, FIFOs, odd names, huge printouts, and code
# that leaves links, a FIFO and a tree 100 folders deep in its own folder; and the slow one.
SLOW = "honest_slow"  # correct, pausing 1 s in every block: a worker killed while it grades this is mid-way
assert set(THREADS_CLASS) | set(PROCESSES_CLASS) == set(CLUSTER_CLASS) <= set(CLASS)
assert set(HOSTILE) | {SLOW} <= set(CLASS)


def place(name: str, course: Path) -> None:
    BANK.place(name, course / "submitted" / name / ASSIGNMENT, course)


def tree_of(course: Path, student: str) -> dict[str, str]:
    """An autograded folder: relative path -> kind."""
    top = course / "autograded" / student / ASSIGNMENT
    kinds = {}
    for folder, folders, files in os.walk(top):
        for name in folders + files:
            mode = os.lstat(os.path.join(folder, name)).st_mode
            relative = re.sub(r"unreadable-[0-9T]+$", "unreadable-<when>", os.path.relpath(os.path.join(folder, name), top))
            kinds[relative] = (
                "dir" if stat.S_ISDIR(mode) else "file" if stat.S_ISREG(mode) else "link or special")
    return kinds


# -----------------------------------------------------------------------------
# PostgreSQL, Dask


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def new_database():
    """A PostgreSQL server of its own, on a Unix socket, for this module; each call makes a database (empty, or a
    copy of ``template``), and returns its plain postgresql:// URL (SQLAlchemy's psycopg 3)."""
    binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    assert binaries, "PostgreSQL is not installed: run `make system-deps` (scripts/install_system_deps.sh)"
    bin_dir = Path(binaries[-1])
    folder = Path(tempfile.mkdtemp(prefix="coursekit-postgres-"))
    port = free_port()
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_postgres:
        owner = pwd.getpwnam("postgres")
        os.chown(folder, owner.pw_uid, owner.pw_gid)
    run = lambda *command: subprocess.run([*as_postgres, *map(str, command)], check=True, capture_output=True)  # noqa: E731
    run(bin_dir / "initdb", "-D", folder / "data", "-A", "trust", "-U", "postgres")
    run(bin_dir / "pg_ctl", "-D", folder / "data", "-l", folder / "server.log", "-w",
        "-o", f"-k {folder} -p {port} -h ''", "start")

    def make(name: str, template: str | None = None) -> str:
        copy_of = ["-T", template] if template else []
        run(bin_dir / "createdb", "-h", folder, "-p", port, "-U", "postgres", *copy_of, name)
        return f"postgresql://postgres@/{name}?host={folder}&port={port}"

    try:
        yield make
    finally:
        run(bin_dir / "pg_ctl", "-D", folder / "data", "-m", "immediate", "stop")
        shutil.rmtree(folder, ignore_errors=True)


def _stop(*processes: subprocess.Popen) -> None:
    """Stop `dask` commands we started, and every process each started (its own session), side by side."""
    running = [process for process in processes if process.poll() is None]
    for process in running:
        os.killpg(process.pid, signal.SIGTERM)  # once: a second SIGTERM would end it before it stopped its workers
    for process in running:
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@contextmanager
def dask_scheduler():
    port = free_port()
    process = subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    address = f"tcp://127.0.0.1:{port}"
    try:
        for _ in range(600):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert process.poll() is None, "dask scheduler ended"
            time.sleep(0.1)
        yield process, address
    finally:
        _stop(process)


class Workers:
    """`dask worker` commands started at once; ``joined()`` waits until their processes joined the scheduler."""

    def __init__(self, address: str, processes: int):
        self.address, self.processes, self.commands = address, processes, []

    def start(self, commands: list[tuple[list[str], dict]]) -> None:
        from distributed import Client

        with Client(self.address, timeout=30) as client:
            self.before = set(client.scheduler_info()["workers"])
        for flags, env in commands:
            environment = {key: value for key, value in nbgrader_env().items() if key != "NBGRADER_DB_URL"}
            environment.update(env)
            self.commands.append(subprocess.Popen([DASK, "worker", self.address, *flags], env=environment,
                                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                                  start_new_session=True))

    def joined(self) -> Workers:
        from distributed import Client

        with Client(self.address, timeout=30) as client:
            client.wait_for_workers(len(self.before) + self.processes, timeout=120)
        return self

    def stop(self) -> None:
        _stop(*self.commands)


@contextmanager
def dask_workers(address: str, *commands: tuple[list[str], dict], processes: int | None = None):
    """`dask worker ADDRESS FLAGS` with each command's flags and environment, as the README has instructors start
    it, all at once (``processes``: how many worker processes they make in all, one each unless said)."""
    workers = Workers(address, len(commands) if processes is None else processes)
    try:
        workers.start(list(commands))
        yield workers
    finally:
        workers.stop()


@pytest.fixture(scope="module")
def scheduler():
    with dask_scheduler() as (_, address):
        yield address


@pytest.fixture(scope="module")
def threads_cluster():
    """A scheduler of its own and one worker with two threads (README's first layout): killed and restarted by the
    first test, it grades the rerun of another; its start overlaps the first test's own preparation."""
    with dask_scheduler() as (_, address), dask_workers(address, (THREADS, {})) as workers:
        yield address, workers


@pytest.fixture(scope="module")
def cluster_course(new_database, tmp_path_factory):
    """``cluster_course(folder, database, names)``: a course folder where `nbgrader generate_assignment` ran against
    a gradebook in PostgreSQL of its own, with the bank's submissions ``names``; its course and gradebook URL.
    generate_assignment runs once for the module: each call copies its course folder and its database."""
    generated = "generated"
    template = make_course(tmp_path_factory.mktemp("generated") / "course", TEST_LIMITS)
    commands.nbgrader(["generate_assignment", ASSIGNMENT, "--force",
                       f"--CourseDirectory.db_url={new_database(generated)}"], template)

    def make(folder: Path, database: str, names: list[str]) -> tuple[Path, str]:
        db_url = new_database(database, template=generated)
        course = Path(shutil.copytree(template, folder, symlinks=True))
        for name in names:
            place(name, course)
        return course, db_url

    return make


@functools.lru_cache(maxsize=None)
def _graded_by_nbgrader(course: Path) -> tuple[dict, dict]:
    """The gradebook and autograded notebooks `nbgrader autograde` left in ``course``, read once for the
    module: never changed, only looked up."""
    return gradebook_content(f"sqlite:///{course / 'gradebook.db'}", ASSIGNMENT), graded_notebooks(course, ASSIGNMENT)


@pytest.fixture
def nbgrader_reference(request):
    """The course `nbgrader autograde` graded in graded_both_ways, asked for only when a test compares with it:
    a cluster test grades its own class meanwhile, instead of waiting a minute for that class first."""
    return lambda: request.getfixturevalue("graded_both_ways")[0]


def expected_gradebook(by_nbgrader: Path, names: list[str]) -> dict:
    reference, _ = _graded_by_nbgrader(by_nbgrader)
    return {name: reference[name] for name in names}


def expected_notebooks(by_nbgrader: Path, names: list[str]) -> dict:
    _, notebooks = _graded_by_nbgrader(by_nbgrader)
    return {path: notebook for path, notebook in notebooks.items() if path.split("/")[1] in names}


def autograde_on(course: Path, scheduler: str, db_url: str, *extra: str) -> subprocess.CompletedProcess:
    return run_course(["autograde", ASSIGNMENT, "--scheduler", scheduler, *extra], course, env={"NBGRADER_DB_URL": db_url})


def grades_per_cell(db_url: str) -> list[int]:
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url)
    try:
        with engine.connect() as connection:
            return [row[0] for row in connection.execute(text("SELECT count(*) FROM grade GROUP BY notebook_id, cell_id"))]
    finally:
        engine.dispose()


# -----------------------------------------------------------------------------
# worker layouts, each with a worker process killed while it grades


# On a worker (Client.run): its process id, and the tasks it is running now. A lambda, pickled by value: the
# workers cannot import this module.
_executing = lambda dask_worker: (os.getpid(), [str(task.key) for task in dask_worker.state.executing])  # noqa: E731


def _grading_worker(client, student: str) -> tuple[int, list[int]] | None:
    """The worker process grading ``student`` now: its pid, and its grading server's processes (the server and
    its children), once the server has forked a process for it — or None."""
    for pid, keys in client.run(_executing).values():
        if any(f"-{student}-" in key for key in keys):
            servers = [child for child in psutil.Process(pid).children() if "gradeserver" in " ".join(child.cmdline())]
            grading = [grandchild.pid for server in servers for grandchild in server.children()
                       if "zygote" not in " ".join(grandchild.cmdline())]
            if grading:
                return pid, [server.pid for server in servers] + grading
    return None


def autograde_killing_a_worker(course: Path, scheduler: str, db_url: str) -> tuple[int, str]:
    """`course autograde --scheduler`, with the worker process that grades the slow submission killed (SIGKILL)
    half-way through it; its exit status and output. The killed worker's grading processes must end with it."""
    from distributed import Client

    command = commands.start("course", ["autograde", ASSIGNMENT, "--scheduler", scheduler], course,
                             {"NBGRADER_DB_URL": db_url})
    try:
        killed = None
        deadline = time.monotonic() + 300
        with Client(scheduler, timeout=30) as client:
            while killed is None and time.monotonic() < deadline and command.running():
                killed = _grading_worker(client, SLOW)
                time.sleep(0.2)
        assert killed, "the slow submission should be graded by a worker process"
        time.sleep(1)  # into its notebook, which pauses 1 s (or more) in each of its blocks: still seconds from its end
        os.kill(killed[0], signal.SIGKILL)
        done = command.wait(600)
    finally:
        if command.running():
            command.kill()
    for _ in range(10):  # the second the test always gave them after the run, no longer slept once they are gone
        if not _running(killed[1]):
            break
        time.sleep(0.1)
    assert not _running(killed[1])
    return done.returncode, done.stdout


def _running(pids: list[int]) -> list[int]:
    running = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                running.append(pid)
        except psutil.NoSuchProcess:
            pass
    return running


def assert_graded_once_each_as_nbgrader_did(returncode: int, output: str, names: list[str], db_url: str, course: Path,
                                            by_nbgrader: Path) -> None:
    assert returncode == 0, output
    assert f"{len(names)} graded, 0 failed" in output, output
    assert "graded again after their worker was lost" in output and SLOW in output.split("worker was lost:")[-1]
    progress = [line for line in output.splitlines() if line.strip().startswith("[")]
    assert sorted(line.split()[2] for line in progress) == names  # each reported once
    assert set(grades_per_cell(db_url)) == {1}  # one grade per cell and submission, never two
    expected = expected_gradebook(by_nbgrader, names)
    graded = gradebook_content(db_url, ASSIGNMENT)
    for student in names:
        assert graded.get(student) == expected[student], student  # every cell's score and comment
    expected = expected_notebooks(by_nbgrader, names)
    graded = graded_notebooks(course, ASSIGNMENT)
    assert sorted(graded) == sorted(expected)
    for path in expected:
        assert graded[path] == expected[path], path
