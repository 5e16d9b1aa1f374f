"""`course autograde --jobs 2` leaves what `nbgrader autograde` leaves, faster, and keeps every kernel clean.

One class is graded twice, in two copies of the course: by `nbgrader autograde` and by
`course autograde --jobs 2` (in the course where it grades the bank's attacks with it, `adversarial_course`).
The gradebooks must hold the same grades and comments for it, and the autograded notebooks must be equal
apart from execution timings.
"""

import copy

import nbformat

from tests.assignment.conftest import ASSIGNMENT, CLASS, COURSE_CLASS, TEST_LIMITS, run_course
from tests.assignment.generated import generated_course
from tests.assignment.gradebooks import gradebook_content, graded_notebooks
from tests.examples.lab00 import BANK

LOOKS_AT_PROCESSES = "isolation_grading_notebook"


def test_the_gradebooks_are_the_same(graded_both_ways):
    by_nbgrader, by_course, result = graded_both_ways
    assert result.returncode == 0, result.stdout + result.stderr
    expected = gradebook_content(f"sqlite:///{by_nbgrader / 'gradebook.db'}", ASSIGNMENT)
    assert set(expected) == set(CLASS)
    graded = gradebook_content(f"sqlite:///{by_course / 'gradebook.db'}", ASSIGNMENT)
    assert set(COURSE_CLASS) <= set(graded)  # and whom test_intake_limits.py grades there later
    assert {student: graded[student] for student in CLASS} == expected


def test_the_autograded_notebooks_are_the_same(graded_both_ways):
    by_nbgrader, by_course, _ = graded_both_ways
    expected = graded_notebooks(by_nbgrader, ASSIGNMENT)
    assert len(expected) == len(CLASS)
    graded = graded_notebooks(by_course, ASSIGNMENT, students=CLASS)
    # it prints the processes it can see: a kernel started anew in its sandbox, or one forked by the kernel
    # factory, differ there by design (its grades are compared above; what it found, in test_adversarial.py)
    looks_around = f"autograded/{LOOKS_AT_PROCESSES}/{ASSIGNMENT}/demo.ipynb"
    assert [cell.source for cell in graded.pop(looks_around).cells] == \
        [cell.source for cell in expected.pop(looks_around).cells]
    assert graded == expected


def test_progress_counts_each_submission_and_the_log_keeps_nbgraders_lines(graded_both_ways):
    _, by_course, result = graded_both_ways
    graded = len(COURSE_CLASS)
    lines = [line for line in result.stdout.splitlines() if line.strip().startswith("[")]
    assert len(lines) == graded and f"[{graded}/{graded}]" in lines[-1] and "ETA" in lines[-1]
    assert f"{graded} graded, 0 failed" in result.stdout
    log = (by_course / "logs" / "course-autograde.log").read_text()
    assert log.count("===== ") == graded and "[AutogradeApp | INFO] Autograding" in log


def test_a_second_run_skips_what_is_graded_and_grades_the_rest_once(tmp_path, tmp_path_factory):
    course = generated_course(tmp_path / "course", tmp_path_factory, TEST_LIMITS, ["solution", "bad_date"])
    with (course / "nbgrader_config.py").open("a") as config:
        config.write('c.AutogradeApp.log_level = "WARN"\n')  # nbgrader logs "Skipping existing assignment" at INFO
    first = run_course(["autograde", ASSIGNMENT, "--student", "solution"], course)
    assert "1 graded, 0 failed" in first.stdout, first.stdout + first.stderr
    second = run_course(["autograde", ASSIGNMENT], course)
    assert "1 graded, 0 failed, 1 skipped" in second.stdout, second.stdout + second.stderr
    unknown = run_course(["autograde", ASSIGNMENT, "--student", "nobody"], course)
    assert unknown.returncode != 0 and "no submission of" in unknown.stdout + unknown.stderr


# -----------------------------------------------------------------------------
# forked kernels start clean


LEAVE_TRACES = '''
import builtins, os, sys, threading, time, numpy, minimodel
builtins.LEFT_BY_A = "A"
numpy.LEFT_BY_A = minimodel.LEFT_BY_A = "A"
os.environ["LEFT_BY_A"] = "A"
sys.modules["left_by_a"] = sys
with open("/tmp/left-by-a.txt", "w") as handle:
    handle.write("A")
threading.Thread(target=time.sleep, args=(600,), daemon=True).start()
'''

LOOK_FOR_TRACES = '''
import builtins, os, sys, numpy, minimodel
traces = [name for name, present in {
    "builtins": hasattr(builtins, "LEFT_BY_A"), "numpy": hasattr(numpy, "LEFT_BY_A"),
    "minimodel": hasattr(minimodel, "LEFT_BY_A"), "environ": "LEFT_BY_A" in os.environ,
    "modules": "left_by_a" in sys.modules, "tmp": os.path.exists("/tmp/left-by-a.txt"),
}.items() if present]
heavy = [name for name in ("jsonschema", "nbgrader", "sqlalchemy", "coursegrader.labs", "nbclient") if name in sys.modules]
print("TRACES", traces, "HEAVY", heavy, "PID", os.getpid())
'''


def test_each_kernel_starts_clean_and_light(tmp_path, tmp_path_factory):
    course = generated_course(tmp_path / "course", tmp_path_factory, TEST_LIMITS)
    solution = nbformat.read(BANK.path_of("solution"), as_version=4)
    for student, code in (("a_leaves_traces", LEAVE_TRACES), ("b_looks_for_them", LOOK_FOR_TRACES)):
        notebook = copy.deepcopy(solution)
        block_a = next(cell for cell in notebook.cells if cell.metadata.get("nbgrader", {}).get("grade_id") == "block_a")
        block_a.source += "\n" + code
        (course / "submitted" / student / ASSIGNMENT).mkdir(parents=True)
        nbformat.write(notebook, course / "submitted" / student / ASSIGNMENT / "demo.ipynb")
    result = run_course(["autograde", ASSIGNMENT, "--jobs", "1"], course)  # one worker: b's kernel comes after a's
    assert "2 graded, 0 failed" in result.stdout, result.stdout + result.stderr
    graded = (course / "autograded" / "b_looks_for_them" / ASSIGNMENT / "demo.ipynb").read_text()
    assert "TRACES [] HEAVY []" in graded
