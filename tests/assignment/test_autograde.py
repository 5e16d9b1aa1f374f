"""The real `nbgrader autograde` over the realistic class, as `make demo` runs it: every check's score.

The solution earns every autograded point; each flawed example loses exactly the points of the
checks that tests/examples/lab00.py says it breaks, and no others.
"""

import csv
import json

import nbformat
import pytest

from coursegrader.labs import grading_checks
from coursekit.lab import find_lab
from tests.assignment.conftest import ASSIGNMENT
from tests.assignment.gradebooks import submission_grades
from tests.examples.lab00 import BANK

CHECKS = grading_checks(find_lab(ASSIGNMENT))
CLASS = BANK.names(kind="class")


def grade_cells(course, student) -> dict[str, tuple[float, float, bool]]:
    return submission_grades(course, student, ASSIGNMENT)[0]


@pytest.mark.parametrize("student", CLASS)
def test_every_check_scores_as_the_bank_says(graded_course, student):
    course, _ = graded_course
    grades = grade_cells(course, student)
    example = BANK.examples[student]
    got = {check.grade_id: grades[check.grade_id][0] for check in CHECKS}
    expected = {check.grade_id: 0.0 if check.grade_id in example.fails else check.points for check in CHECKS}
    assert got == expected, example.description
    assert {grade_id for grade_id in grades if grade_id.startswith("test_")} == {check.grade_id for check in CHECKS}


def test_solution_earns_every_autograded_point(graded_course):
    course, _ = graded_course
    grades = grade_cells(course, "solution")
    assert sum(score for name, (score, _, _) in grades.items() if name != "block_d") == CHECKS.total_points() == 21


def test_block_d_waits_for_a_grader_unless_left_untouched(graded_course):
    course, _ = graded_course
    assert grade_cells(course, "solution")["block_d"] == (0.0, 4.0, True)
    assert grade_cells(course, "untouched_release")["block_d"] == (0.0, 4.0, False)  # nbgrader's auto-zero


def test_each_test_cell_holds_exactly_the_graders_verdict(graded_course):
    course, _ = graded_course
    notebook = nbformat.read(course / "autograded" / "solution" / ASSIGNMENT / "demo.ipynb", as_version=4)
    test_cells = [cell for cell in notebook.cells if cell.metadata.get("nbgrader", {}).get("grade") and cell.cell_type == "code"]
    assert len(test_cells) == len(CHECKS)
    for cell in test_cells:
        check = CHECKS[cell.metadata.nbgrader.grade_id]
        assert len(cell.outputs) == 1 and cell.outputs[0].output_type == "stream" and cell.outputs[0].name == "stdout"
        assert cell.outputs[0].text.startswith(f"✔ passed ({check.points:g} point")


def test_failure_messages_say_expected_found_hint_but_not_the_answer(graded_course):
    course, _ = graded_course
    notebook = nbformat.read(course / "autograded" / "pe_after_attention" / ASSIGNMENT / "demo.ipynb", as_version=4)
    cell = next(cell for cell in notebook.cells if cell.metadata.get("nbgrader", {}).get("grade_id") == "test_block_c_max_diff")
    error = next(output for output in cell.outputs if output.output_type == "error")
    message = error.evalue
    assert "expected:" in message and "found:" in message and "hint:" in message
    manifest = json.loads((course / "autograded" / "solution" / ASSIGNMENT / "manifest.json").read_text())
    correct = manifest["results_summary"]["with_PE_equivariance_max_diff"]
    assert repr(correct) not in message and f"{correct:.3g}" not in message


def test_grading_reruns_the_notebook_so_it_writes_its_own_files(graded_course):
    course, _ = graded_course
    folder = course / "autograded" / "solution" / ASSIGNMENT
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["results_summary"]["without_PE_equivariance_max_diff"] < 1e-6
    assert "Block C, with PE" in (folder / "demo_output.txt").read_text()
    assert not (course / "autograded" / "no_manifest_written" / ASSIGNMENT / "manifest.json").exists()


def test_feedback_grades_csv_and_table(graded_course):
    course, printed = graded_course
    for student in CLASS:
        assert (course / "feedback" / student / ASSIGNMENT / "demo.html").is_file()
    with open(course / "grades.csv", newline="") as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    assert set(rows) == set(CLASS)
    assert float(rows["solution"]["raw_score"]) == 21.0 and float(rows["untouched_release"]["raw_score"]) == 0.0
    assert "Scores per block" in printed
    solution_line = next(line for line in printed.splitlines() if "│ solution " in line)
    assert "21/21" in solution_line and f"feedback/solution/{ASSIGNMENT}/demo.html" in solution_line
    assert f"[{len(CLASS)}/{len(CLASS)}]" in printed  # progress, one line per student
