"""The sandbox itself: what a process inside can see, who it runs as, and what it may use.

These run real bubblewrap (installed by `make system-deps`); the end-to-end grading of attacks is in
tests/assignment/test_adversarial.py.
"""

import json
import os
import subprocess
from pathlib import Path

import pytest

from coursegrader.commands.nbgrader import run_nbgrader
from coursegrader.run.sandbox import Limits, Sandbox, SandboxUnavailable, check_available, remove_unsafe_entries
from tests.assignment.conftest import ASSIGNMENT, make_course
from tests.examples.lab00 import BANK

ROOT = Path(__file__).resolve().parents[2]


def run_inside(sandbox: Sandbox, code: str) -> dict:
    sandbox.prepare()
    try:
        result = subprocess.run(sandbox.argv([sandbox.python, "-c", code]), capture_output=True, text=True, timeout=60)
    finally:
        sandbox.release()
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture
def sandbox(tmp_path):
    return Sandbox(work_dir=tmp_path / "work", run_dir=tmp_path / "run", protected=(ROOT,))


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


def test_limits_apply_inside(sandbox):
    seen = run_inside(sandbox, """
import json, resource, socket
limits = {name: resource.getrlimit(getattr(resource, name))[0] for name in ("RLIMIT_AS", "RLIMIT_NPROC", "RLIMIT_FSIZE")}
try:
    socket.create_connection(("1.1.1.1", 53), timeout=2)
    limits["network"] = True
except OSError:
    limits["network"] = False
print(json.dumps(limits))
""")
    assert seen == {"RLIMIT_AS": Limits().memory_bytes, "RLIMIT_NPROC": Limits().processes,
                    "RLIMIT_FSIZE": Limits().file_bytes, "network": False}


def test_release_removes_links_and_restores_what_nbgrader_reads(sandbox):
    sandbox.work_dir.mkdir(parents=True)
    (sandbox.work_dir / "timestamp.txt").write_text("2026-11-28 10:00:00\n")
    sandbox.prepare()
    subprocess.run(sandbox.argv(["/bin/sh", "-c", "ln -s /etc/passwd passwd; mkfifo pipe; "
                                                   "echo 'not a time' > timestamp.txt; echo ok > kept.txt"]), check=True)
    sandbox.release()
    assert sorted(path.name for path in sandbox.work_dir.iterdir()) == ["kept.txt", "timestamp.txt"]
    assert (sandbox.work_dir / "timestamp.txt").read_text() == "2026-11-28 10:00:00\n"
    assert remove_unsafe_entries(sandbox.work_dir) == []


def test_a_machine_without_bubblewrap_is_reported():
    with pytest.raises(SandboxUnavailable, match="not found"):
        check_available("/nonexistent/bwrap")


def test_autograde_refuses_without_a_sandbox_unless_told_loudly(tmp_path):
    course = make_course(tmp_path / "course", '\nc.SandboxedExecute.bubblewrap = "/nonexistent/bwrap"\n')
    run_nbgrader(["generate_assignment", ASSIGNMENT, "--force"], course)
    BANK.place("isolation_environment", course / "submitted" / "student" / ASSIGNMENT, course)
    log = run_nbgrader(["autograde", ASSIGNMENT], course, check=False).read_text()
    assert (course / "logs" / "nbgrader-autograde.exitcode").read_text().strip() != "0"
    assert "Refusing to run students' code without a sandbox" in log
    assert not (course / "autograded" / "student").exists()

    log = run_nbgrader(["autograde", ASSIGNMENT, "--SandboxedExecute.unsafe_run_without_sandbox=True"], course).read_text()
    assert log.count("UNSANDBOXED") >= 2  # once for the run, once for the submission
    assert (course / "autograded" / "student" / ASSIGNMENT / "demo.ipynb").is_file()


def test_the_notebook_time_limit_stops_the_later_cells(tmp_path):
    from tests.assignment.test_adversarial import grades_of

    course = make_course(tmp_path / "course", "\nc.SandboxedExecute.notebook_timeout = 5\n")
    run_nbgrader(["generate_assignment", ASSIGNMENT, "--force"], course)
    BANK.place("honest_slow", course / "submitted" / "slow" / ASSIGNMENT, course)  # pauses 2 s in each block
    run_nbgrader(["autograde", ASSIGNMENT], course)
    grades = grades_of(course, "slow")
    assert all(grades[grade_id][0] > 0 for grade_id in grades if grade_id.startswith("test_block_a"))
    assert all(grades[grade_id][0] == 0 for grade_id in grades if grade_id.startswith("test_block_e"))
    notebook = (course / "autograded" / "slow" / ASSIGNMENT / "demo.ipynb").read_text()
    assert "time limit of 5 s" in notebook
