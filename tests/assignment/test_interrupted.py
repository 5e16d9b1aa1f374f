"""8. A run of `nbgrader autograde` killed half-way, then started again: every submission graded once, no grade lost."""

import os
import re
import signal
import subprocess
import sys
import time

import psutil

from coursegrader.commands.nbgrader import nbgrader_env
from coursegrader.labs import grading_checks
from coursekit.lab import find_lab
from tests import commands
from tests.assignment.conftest import ASSIGNMENT, TEST_LIMITS
from tests.assignment.generated import generated_course
from tests.assignment.test_adversarial import grades_of
from tests.examples.lab00 import BANK

# nbgrader grades them in this order: one graded before the kill, one killed while grading, one after it
STUDENTS = ["bad_date", "honest_slow", "pe_after_attention"]
KILLED_WHILE_GRADING = "honest_slow"  # it pauses in every block, so the kill lands while its kernel runs


def pausing_kernel(grader: psutil.Process) -> list[int]:
    """The grader's processes, once its kernel pauses in one of honest_slow's blocks (asleep in time.sleep)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        tree = grader.children(recursive=True)
        for process in tree:
            try:
                if "ipykernel_launcher" in process.cmdline() and \
                        "nanosleep" in open(f"/proc/{process.pid}/wchan").read():
                    return [child.pid for child in tree]
            except (psutil.Error, OSError):
                continue
        time.sleep(0.02)
    raise AssertionError("no kernel of the grader paused in a block of honest_slow")


def test_a_killed_run_resumes_and_grades_each_submission_exactly_once(tmp_path, tmp_path_factory):
    course = generated_course(tmp_path / "course", tmp_path_factory, TEST_LIMITS, STUDENTS)
    env = {key: value for key, value in nbgrader_env().items() if key != "NBGRADER_DB_URL"}

    first = subprocess.Popen([sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT], cwd=course, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    first_log, kernels = [], []
    for line in first.stdout:
        first_log.append(line)
        if f"Autograding {course}/autograded/{KILLED_WHILE_GRADING}/" in line:
            kernels = pausing_kernel(psutil.Process(first.pid))  # its kernel is running a block now
            first.send_signal(signal.SIGKILL)
            break
    first.wait()
    first.stdout.close()
    assert kernels, "the kill should land while a sandboxed kernel runs"
    deadline = time.monotonic() + 10
    while (alive := [pid for pid in kernels if _alive(pid)]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive

    finished_first = set(re.findall(r"Graded (\w+)/", "".join(first_log)))
    assert finished_first == {"bad_date"}
    assert (course / "autograded" / KILLED_WHILE_GRADING).exists()  # left half-made by the kill

    second_log = commands.nbgrader(["autograde", ASSIGNMENT], course).stdout
    graded_second = set(re.findall(r"Sanitizing \S+/submitted/(\w+)/", second_log))
    assert graded_second == set(STUDENTS) - finished_first  # no finished submission graded twice
    assert f"Submission {KILLED_WHILE_GRADING}/{ASSIGNMENT}: an earlier run stopped while grading it" in second_log

    checks = grading_checks(find_lab(ASSIGNMENT))
    for name in STUDENTS:
        grades = grades_of(course, name)
        expected = {check.grade_id: 0.0 if check.grade_id in BANK.examples[name].fails else check.points for check in checks}
        assert {grade_id: grades[grade_id][0] for grade_id in expected} == expected, name
    assert os.listdir(course / "autograded") and sorted(os.listdir(course / "autograded")) == sorted(STUDENTS)


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
