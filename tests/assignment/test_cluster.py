"""`course autograde --scheduler` on a real Dask cluster, with a real PostgreSQL gradebook: never a wrong grade.

The module starts a throwaway PostgreSQL server (Debian's package: initdb and pg_ctl, installed by
scripts/install_system_deps.sh), reached by its plain ``postgresql://`` URL, and a Dask scheduler; each
test starts the workers it needs with the README's command (``dask worker ADDRESS``, with the flags it
names), all started at once; one worker with two threads, on a scheduler of its own, serves the module.
Each layout grades a class that mixes correct work, realistic mistakes and hostile submissions
(links, FIFOs, odd names, huge printouts, code that writes links, FIFOs and a deep tree into its own
folder), and the shared gradebook, the autograded notebooks and the autograded folders must be what
`nbgrader autograde` leaves on this machine:

- one worker process with two threads (a worker runs as many tasks at once as it has threads), and two
  worker processes; in each, the worker process grading a submission is killed (SIGKILL) half-way: its
  submissions are graded again, by the restarted process or the other one, once each in the gradebook,
  and the summary says so;
- a scheduler that goes away: the command stops, saying so, non-zero; run again, it grades the rest;
- workers that cannot grade (no sandbox, not this project's code), a gradebook without the assignment,
  a gradebook on this machine's disk: the run stops before grading, saying what to do.
"""

from __future__ import annotations

import copy
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

from coursegrader.commands.nbgrader import nbgrader_env, run_nbgrader
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
    run_nbgrader(["generate_assignment", ASSIGNMENT, "--force",
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


def expected_gradebook(graded_both_ways, names: list[str]) -> dict:
    reference, _ = _graded_by_nbgrader(graded_both_ways[0])
    return {name: reference[name] for name in names}


def expected_notebooks(graded_both_ways, names: list[str]) -> dict:
    _, notebooks = _graded_by_nbgrader(graded_both_ways[0])
    return {path: notebook for path, notebook in notebooks.items() if path.split("/")[1] in names}


def reference_course(graded_both_ways) -> Path:
    return graded_both_ways[0]


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

    environment = {key: value for key, value in nbgrader_env().items() if key != "NBGRADER_DB_URL"}
    environment["NBGRADER_DB_URL"] = db_url
    command = subprocess.Popen([sys.executable, "-m", "coursegrader.commands.cli", "autograde", ASSIGNMENT,
                                "--scheduler", scheduler], cwd=course, env=environment, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        killed = None
        deadline = time.monotonic() + 300
        with Client(scheduler, timeout=30) as client:
            while killed is None and time.monotonic() < deadline and command.poll() is None:
                killed = _grading_worker(client, SLOW)
                time.sleep(0.2)
        assert killed, "the slow submission should be graded by a worker process"
        time.sleep(1)  # into its notebook, which pauses 1 s (or more) in each of its blocks: still seconds from its end
        os.kill(killed[0], signal.SIGKILL)
        output, _ = command.communicate(timeout=600)
    finally:
        if command.poll() is None:
            command.kill()
    for _ in range(10):  # the second the test always gave them after the run, no longer slept once they are gone
        if not _running(killed[1]):
            break
        time.sleep(0.1)
    assert not _running(killed[1])
    return command.returncode, output


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
                                            graded_both_ways) -> None:
    assert returncode == 0, output
    assert f"{len(names)} graded, 0 failed" in output, output
    assert "graded again after their worker was lost" in output and SLOW in output.split("worker was lost:")[-1]
    progress = [line for line in output.splitlines() if line.strip().startswith("[")]
    assert sorted(line.split()[2] for line in progress) == names  # each reported once
    assert set(grades_per_cell(db_url)) == {1}  # one grade per cell and submission, never two
    expected = expected_gradebook(graded_both_ways, names)
    graded = gradebook_content(db_url, ASSIGNMENT)
    for student in names:
        assert graded.get(student) == expected[student], student  # every cell's score and comment
    expected = expected_notebooks(graded_both_ways, names)
    graded = graded_notebooks(course, ASSIGNMENT)
    assert sorted(graded) == sorted(expected)
    for path in expected:
        assert graded[path] == expected[path], path


def test_a_worker_process_with_two_threads_grades_as_nbgrader_even_killed_and_restarted(
        graded_both_ways, threads_cluster, cluster_course, tmp_path):
    names = sorted({*THREADS_CLASS, *HOSTILE, SLOW})
    scheduler, workers = threads_cluster  # its one process restarted by the worker's nanny once killed
    course, db_url = cluster_course(tmp_path / "course", "two_threads", names)
    workers.joined()
    returncode, output = autograde_killing_a_worker(course, scheduler, db_url)
    assert_graded_once_each_as_nbgrader_did(returncode, output, names, db_url, course, graded_both_ways)
    for student in names:
        graded = tree_of(course, student)
        assert graded == tree_of(reference_course(graded_both_ways), student), student
        assert "link or special" not in graded.values(), student
    deep_tree = [path for path in tree_of(course, "isolation_writes_odd_files") if path.startswith("d")]
    assert 1 < max(len(Path(path).parts) for path in deep_tree) <= 16  # the 100-deep tree, cut where copy-out stops
    assert not (course / "gradebook.db").exists()  # nothing went to a local gradebook

    again = autograde_on(course, scheduler, db_url)
    assert f"0 graded, 0 failed, {len(names)} skipped" in again.stdout, again.stdout + again.stderr


def test_two_worker_processes_grade_as_nbgrader_the_other_taking_over_from_one_killed(
        graded_both_ways, scheduler, cluster_course, tmp_path):
    names = sorted({*PROCESSES_CLASS, SLOW})
    processes = int(PROCESSES[PROCESSES.index("--nworkers") + 1])
    with dask_workers(scheduler, (PROCESSES, {}), processes=processes) as workers:
        course, db_url = cluster_course(tmp_path / "course", "two_processes", names)
        workers.joined()
        returncode, output = autograde_killing_a_worker(course, scheduler, db_url)
    assert_graded_once_each_as_nbgrader_did(returncode, output, names, db_url, course, graded_both_ways)


# -----------------------------------------------------------------------------
# faults of the whole run


def test_a_scheduler_that_goes_away_stops_the_run_and_a_rerun_grades_the_rest(
        graded_both_ways, threads_cluster, cluster_course, tmp_path):
    names = ["block_raises", SLOW, "solution"]  # each graded by nbgrader in graded_both_ways
    environment = {key: value for key, value in nbgrader_env().items() if key != "NBGRADER_DB_URL"}
    with dask_scheduler() as (lost, address), dask_workers(address, (THREADS, {})) as workers:
        course, db_url = cluster_course(tmp_path / "course", "resumed", names)
        environment["NBGRADER_DB_URL"] = db_url
        workers.joined()
        command = subprocess.Popen([sys.executable, "-m", "coursegrader.commands.cli", "autograde", ASSIGNMENT,
                                    "--scheduler", address], cwd=course, env=environment, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True)
        lines = []
        for line in command.stdout:
            lines.append(line)
            if "[1/3]" in line:
                os.kill(lost.pid, signal.SIGKILL)
        command.wait(120)
    first = "".join(lines)
    assert command.returncode != 0, first
    stopped = re.search(f"course autograde stopped: the Dask scheduler at {address} went away after ([12]) of 3", first)
    assert stopped and "run the same command again" in first, first
    done = int(stopped.group(1))

    scheduler, threads = threads_cluster  # the module's worker: the rerun needs no worker of its own
    threads.joined()
    second = autograde_on(course, scheduler, db_url)
    assert second.returncode == 0, second.stdout + second.stderr
    assert f"{3 - done} graded, 0 failed, {done} skipped" in second.stdout, second.stdout  # each graded once
    assert gradebook_content(db_url, ASSIGNMENT) == expected_gradebook(graded_both_ways, names)
    assert graded_notebooks(course, ASSIGNMENT) == expected_notebooks(graded_both_ways, names)


def test_workers_that_cannot_grade_stop_the_run_before_it_starts_saying_what_to_do(scheduler, cluster_course, tmp_path):
    impostor = tmp_path / "impostor"
    (impostor / "coursegrader").mkdir(parents=True)
    (impostor / "coursegrader" / "__init__.py").write_text("")  # another coursegrader, without this project's code
    with dask_workers(scheduler, (["--nthreads", "1"], {"PATH": "/nonexistent"}),
                      (["--nthreads", "1"], {"PYTHONPATH": str(impostor)})) as workers:
        course, db_url = cluster_course(tmp_path / "course", "refused", ["solution"])
        workers.joined()
        result = autograde_on(course, scheduler, db_url)
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "0 graded" not in output, output
    assert "cannot start a sandbox" in output and "install bubblewrap there" in output
    assert "cannot run this project's code" in output and "start `dask worker` from it" in output
    assert not (course / "autograded").exists()


def test_a_gradebook_without_the_assignment_is_named_with_the_fix(scheduler, new_database, tmp_path):
    # psycopg2's form of the URL: it works as it did, beside the plain one (psycopg 3) the other tests use
    db_url = new_database("never_generated").replace("postgresql://", "postgresql+psycopg2://")
    course = make_course(tmp_path / "course", TEST_LIMITS)
    place("solution", course)
    result = autograde_on(course, scheduler, db_url)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert f"assignment {ASSIGNMENT} is not in the gradebook postgresql+psycopg2://" in output
    assert f"run `nbgrader generate_assignment {ASSIGNMENT} --force` against that gradebook" in output
    assert "above traceback" not in output


def test_a_cluster_needs_a_shared_gradebook(scheduler, tmp_path):
    course = make_course(tmp_path / "course", TEST_LIMITS)
    place("solution", course)
    result = run_course(["autograde", ASSIGNMENT, "--scheduler", scheduler], course)
    assert result.returncode != 0 and "PostgreSQL URL" in result.stdout + result.stderr


def test_a_worker_unlike_this_machine_is_named_with_what_differs(monkeypatch):
    from types import SimpleNamespace

    from traitlets.config import Config

    from coursegrader.classrun import cluster

    ours = cluster.environment()
    theirs = copy.deepcopy(ours)
    theirs["packages"]["numpy"] = "1.0.0"
    theirs["project"] = "another"

    class Client:
        def wait_for_workers(self, count, timeout):
            pass

        def run(self, function, *args, on_error):
            return {"tcp://10.0.0.9:4000": {**theirs, "host": "grader9", "sandbox": None},
                    "tcp://10.0.0.8:4000": {**ours, "host": "grader8", "sandbox": None}}

    with pytest.raises(SystemExit) as stopped:
        cluster.check_workers(Client(), SimpleNamespace(config=Config()), "tcp://scheduler:8786")
    message = str(stopped.value)
    assert "tcp://10.0.0.9:4000 (grader9) would not grade as this machine does" in message
    assert f"numpy 1.0.0 there, {ours['packages']['numpy']} here" in message and "another version of this project" in message
    assert "10.0.0.8" not in message
