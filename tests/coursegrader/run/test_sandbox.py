"""The sandbox itself: what a process inside can see, who it runs as, and what it may use.

These run real bubblewrap (installed by `make system-deps`); the end-to-end grading of attacks is in
tests/assignment/test_adversarial.py.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from coursegrader.run.inside import SandboxView
from coursegrader.run.processes import descendants, process_name
from coursegrader.run.sandbox import Limits, MiB, Sandbox, SandboxUnavailable, check_available
from coursegrader.run.uids import SandboxUid
from tests import commands
from tests.assignment.conftest import ASSIGNMENT
from tests.assignment.generated import generated_course
from tests.examples.lab00 import BANK

ROOT = Path(__file__).resolve().parents[3]


def run_inside(sandbox: Sandbox, code: str) -> dict:
    result = subprocess.run(sandbox.argv([sandbox.python, "-c", code]), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture
def sandbox(tmp_path):
    (tmp_path / "work").mkdir()
    (tmp_path / "run").mkdir()
    with SandboxUid() as uid:
        yield Sandbox(work_dir=tmp_path / "work", run_dir=tmp_path / "run", protected=(ROOT,), uid=uid)


def test_inside_only_the_interpreter_the_packages_and_its_folder_are_visible(sandbox):
    seen = run_inside(sandbox, """
import json, os
import coursekit, minimodel, numpy
print(json.dumps({
    "uid": os.getuid(), "cwd": os.getcwd(), "environ": sorted(os.environ),
    "course_source": os.path.exists(%r), "config": os.path.exists(%r), "tests": os.path.exists(%r),
    "grader": sorted(os.listdir(%r)) if os.path.isdir(%r) else None,
    "etc": sorted(os.listdir("/etc")) if os.path.isdir("/etc") else None,
    "home": os.path.exists("/root/.bash_history"),
}))
""" % (str(ROOT / "source"), str(ROOT / "nbgrader_config.py"), str(ROOT / "tests"),
       str(ROOT / "src" / "coursegrader"), str(ROOT / "src" / "coursegrader")))
    assert seen["cwd"] == str(sandbox.work_dir)
    assert not seen["course_source"] and not seen["config"] and not seen["tests"] and not seen["home"]
    assert seen["grader"] in (None, [])  # masked: an empty folder
    assert seen["etc"] is None
    assert "PATH" in seen["environ"] and not any(name.startswith(("NBGRADER", "SSH", "AWS")) for name in seen["environ"])
    if os.geteuid() == 0:
        assert seen["uid"] == sandbox.uid


def test_limits_apply_inside_and_the_hosts_loopback_is_out_of_reach(sandbox):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        reach = f"""
import json, resource, socket
limits = {{name: resource.getrlimit(getattr(resource, name))[0] for name in ("RLIMIT_AS", "RLIMIT_NPROC", "RLIMIT_FSIZE")}}
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=2).close()
    limits["reached"] = True
except OSError:
    limits["reached"] = False
print(json.dumps(limits))
"""
        outside = subprocess.run([sys.executable, "-c", reach], capture_output=True, text=True, check=True)
        assert json.loads(outside.stdout)["reached"]  # the same code, outside the sandbox, reaches the listener
        server.settimeout(1)
        server.accept()[0].close()
        seen = run_inside(sandbox, reach)
        server.settimeout(0.5)
        with pytest.raises(TimeoutError):
            server.accept()
    assert seen == {"RLIMIT_AS": Limits().memory_bytes, "RLIMIT_NPROC": Limits().processes,
                    "RLIMIT_FSIZE": Limits().file_bytes, "reached": False}


SMALL = Limits(disk_bytes=2 * MiB, tmp_bytes=2 * MiB, shm_bytes=1 * MiB, run_bytes=1 * MiB, handover_bytes=1 * MiB,
               kept_bytes=1 * MiB, kept_entries=50)


def test_every_place_the_sandbox_writes_is_bounded_and_nothing_reaches_the_host(tmp_path):
    (tmp_path / "work").mkdir()
    (tmp_path / "run").mkdir()
    with SandboxUid() as uid:
        sandbox = Sandbox(work_dir=tmp_path / "work", run_dir=tmp_path / "run", limits=SMALL, uid=uid)
        seen = run_inside(sandbox, f"""
import json, os
def fill(path, megabytes):
    try:
        with open(path, "wb") as handle:
            for _ in range(megabytes):
                handle.write(b"x" * 2**20)
                handle.flush()
        return "written"
    except OSError as error:
        return error.strerror
print(json.dumps({{
    "work": fill("big.bin", 4), "tmp": fill("/tmp/big.bin", 4), "shm": fill("/dev/shm/big.bin", 4),
    "handover": fill({str(sandbox.handover_dir / "big.bin")!r}, 4),
    "run": fill({str(sandbox.run_dir / "mine.bin")!r}, 1),
    "sockets_folder": os.access({str(sandbox.run_dir / sandbox.SOCKETS)!r}, os.W_OK),
}}))
""")
    space = "No space left on device"
    assert seen["work"] == seen["tmp"] == seen["shm"] == seen["handover"] == space
    if os.geteuid() == 0:
        assert seen["run"] == "Permission denied"
    assert list((tmp_path / "work").iterdir()) == [] and list((tmp_path / "run").iterdir()) == []


def _sandbox_with(sandbox: Sandbox, script: str):
    """A sandbox running ``script`` (once a file ``go`` appears in its folder), kept open after it ends."""
    process = subprocess.Popen(sandbox.kernel_argv(["/bin/sh", "-c", f"while [ ! -e go ]; do sleep 0.02; done; {script}; "
                                                                     "touch done"]), start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        keepers = [pid for pid in descendants(process.pid) if process_name(pid) == "sh"]
        if keepers:
            return process, keepers[0]
        time.sleep(0.01)
    raise AssertionError("the sandbox did not start")


def test_files_go_in_without_notebooks_and_only_inert_regular_files_come_back(tmp_path):
    graded = tmp_path / "work"
    (graded / "data").mkdir(parents=True)
    (graded / "demo.ipynb").write_text('{"marking scheme": "graders only"}')
    (graded / "timestamp.txt").write_text("2026-11-28 10:00:00\n")
    (graded / "helper.py").write_text("VALUE = 1\n")
    (graded / "data" / "input.csv").write_text("1,2\n")
    (tmp_path / "run").mkdir()
    with SandboxUid() as uid:
        sandbox = Sandbox(work_dir=graded, run_dir=tmp_path / "run", limits=SMALL, uid=uid)
        process, keeper = _sandbox_with(sandbox, " ; ".join([
            "test ! -e demo.ipynb && test -e helper.py && test -e data/input.csv && touch saw-the-right-files",
            "echo changed > helper.py", "echo new > manifest.json", "echo '<script>' > report.html",
            "echo '2030-01-01 00:00:00' > timestamp.txt", "ln -s /etc/passwd passwd.txt", "mkfifo pipe",
            "mkdir -p a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r && echo deep > a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r/deep.txt",
            "head -c 1500000 /dev/zero > large.bin"]))
        try:
            view = SandboxView.open(sandbox, keeper)
            copied_in = view.copy_in(graded)
            os.close(os.open("go", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=view.work_fd))
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not _exists("done", view.work_fd):
                time.sleep(0.02)
            kept = view.copy_out(graded)
            view.close()
        finally:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert sorted(copied_in.files) == ["data/input.csv", "helper.py", "timestamp.txt"]
    assert "saw-the-right-files" in kept.files or any(path == "saw-the-right-files" for path, _ in kept.left)
    assert {"helper.py", "manifest.json", "saw-the-right-files"} <= set(kept.files)
    left = dict(kept.left)
    assert "can run code" in left["report.html"]
    assert left["passwd.txt"] == "it is a link" and left["pipe"] == "it is not a regular file"
    assert left["large.bin"] == "it is larger than 1 MiB"
    assert any(why == "it is more than 16 folders deep" for why in left.values())
    assert (graded / "helper.py").read_text() == "changed\n" and (graded / "manifest.json").read_text() == "new\n"
    assert (graded / "timestamp.txt").read_text() == "2026-11-28 10:00:00\n"  # nbgrader's, never the kernel's
    assert (graded / "demo.ipynb").read_text() == '{"marking scheme": "graders only"}'
    assert not any(os.path.islink(graded / name) for name in os.listdir(graded))
    assert not (graded / "report.html").exists() and not (graded / "large.bin").exists()


def _exists(name: str, folder_fd: int) -> bool:
    try:
        os.stat(name, dir_fd=folder_fd, follow_symlinks=False)
        return True
    except FileNotFoundError:
        return False


def test_a_machine_without_bubblewrap_is_reported():
    with pytest.raises(SandboxUnavailable, match="not found"):
        check_available("/nonexistent/bwrap")


def test_autograde_refuses_without_a_sandbox_unless_told_loudly(tmp_path, tmp_path_factory):
    course = generated_course(tmp_path / "course", tmp_path_factory,
                              '\nc.SandboxedExecute.bubblewrap = "/nonexistent/bwrap"\n')
    BANK.place("isolation_environment", course / "submitted" / "student" / ASSIGNMENT, course)
    refused = commands.nbgrader(["autograde", ASSIGNMENT], course, check=False)
    log = refused.stdout
    assert refused.returncode != 0
    assert "Refusing to run students' code without a sandbox" in log
    assert not (course / "autograded" / "student").exists()

    log = commands.nbgrader(["autograde", ASSIGNMENT, "--SandboxedExecute.unsafe_run_without_sandbox=True"], course).stdout
    assert log.count("UNSANDBOXED") >= 2  # once for the run, once for the submission
    assert (course / "autograded" / "student" / ASSIGNMENT / "demo.ipynb").is_file()


def test_the_notebook_time_limit_stops_the_later_cells(tmp_path, tmp_path_factory):
    from tests.assignment.test_adversarial import grades_of

    # honest_slow pauses (1 s or 2 s) in each of Blocks A, B, C and E: 4 s leaves Block A and its checks time
    # to finish, and Block E none (its pause ends at 4 pauses at least)
    course = generated_course(tmp_path / "course", tmp_path_factory, "\nc.SandboxedExecute.notebook_timeout = 4\n")
    BANK.place("honest_slow", course / "submitted" / "slow" / ASSIGNMENT, course)
    commands.nbgrader(["autograde", ASSIGNMENT], course)
    grades = grades_of(course, "slow")
    assert all(grades[grade_id][0] > 0 for grade_id in grades if grade_id.startswith("test_block_a"))
    assert all(grades[grade_id][0] == 0 for grade_id in grades if grade_id.startswith("test_block_e"))
    notebook = (course / "autograded" / "slow" / ASSIGNMENT / "demo.ipynb").read_text()
    assert "time limit of 4 s" in notebook
