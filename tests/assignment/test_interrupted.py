"""8. A run of `nbgrader autograde` killed half-way, then started again: every submission graded once, no grade lost."""

import os
import re
import signal
import subprocess
import sys
import time

import psutil

from coursegrader.labs import grading_checks
from coursegrader.commands.nbgrader import nbgrader_env, run_nbgrader
from coursekit.lab import find_lab
from tests.assignment.conftest import ASSIGNMENT, TEST_LIMITS, make_course
from tests.assignment.test_adversarial import grades_of
from tests.examples.lab00 import BANK

STUDENTS = ["bad_date", "block_raises", "features_permuted", "honest_slow", "pe_after_attention", "solution"]
KILLED_WHILE_GRADING = "honest_slow"  # it pauses in every block, so the kill lands while its kernel runs


def test_a_killed_run_resumes_and_grades_each_submission_exactly_once(tmp_path):
    course = make_course(tmp_path / "course", TEST_LIMITS)
    env = {key: value for key, value in nbgrader_env().items() if key != "NBGRADER_DB_URL"}
    run_nbgrader(["generate_assignment", ASSIGNMENT, "--force"], course)
    for name in STUDENTS:
        BANK.place(name, course / "submitted" / name / ASSIGNMENT, course)

    first = subprocess.Popen([sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT], cwd=course, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    first_log, kernels = [], []
    for line in first.stdout:
        first_log.append(line)
        if f"Autograding {course}/autograded/{KILLED_WHILE_GRADING}/" in line:
            time.sleep(4)  # its kernel is running Block A or B now
            kernels = [child.pid for child in psutil.Process(first.pid).children(recursive=True)]
            first.send_signal(signal.SIGKILL)
            break
    first.wait()
    first.stdout.close()
    assert kernels, "the kill should land while a sandboxed kernel runs"
    time.sleep(1)
    assert not [pid for pid in kernels if psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]

    finished_first = set(re.findall(r"Graded (\w+)/", "".join(first_log)))
    assert finished_first == {"bad_date", "block_raises", "features_permuted"}
    assert (course / "autograded" / KILLED_WHILE_GRADING).exists()  # left half-made by the kill

    second_log = run_nbgrader(["autograde", ASSIGNMENT], course).read_text()
    graded_second = set(re.findall(r"Sanitizing \S+/submitted/(\w+)/", second_log))
    assert graded_second == set(STUDENTS) - finished_first  # no finished submission graded twice
    assert f"Submission {KILLED_WHILE_GRADING}/{ASSIGNMENT}: an earlier run stopped while grading it" in second_log

    checks = grading_checks(find_lab(ASSIGNMENT))
    for name in STUDENTS:
        grades = grades_of(course, name)
        expected = {check.grade_id: 0.0 if check.grade_id in BANK.examples[name].fails else check.points for check in checks}
        assert {grade_id: grades[grade_id][0] for grade_id in expected} == expected, name
    assert os.listdir(course / "autograded") and sorted(os.listdir(course / "autograded")) == sorted(STUDENTS)
