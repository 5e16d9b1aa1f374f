"""What students and the LMS get: the feedback page `nbgrader generate_feedback` writes with the course's
configuration, the class report and CSV, and results.json; all from the `make demo` run, counted one way."""

import csv
import html
import json
import re

import nbformat

from coursegrader.labs import grading_checks
from coursekit.i18n import ngettext, use_language
from coursekit.lab import find_lab
from tests.assignment.conftest import ASSIGNMENT, ROOT
from tests.browser import chromium_page
from tests.examples.lab00 import BANK

LAB = find_lab(ASSIGNMENT)
CHECKS = grading_checks(LAB)
CLASS = BANK.names(kind="class")
GRADER_PATHS = ("coursegrader", "site-packages/nbgrader", "site-packages/nbclient", "jupyter_client", "/src/coursekit/")


def feedback(course, student) -> str:
    return (course / "feedback" / student / ASSIGNMENT / "demo.html").read_text()


def hidden_test_lines() -> set[str]:
    """The lines of the source's hidden tests that the release does not show anyway."""
    source = nbformat.read(ROOT / "source" / ASSIGNMENT / "demo.ipynb", as_version=4)
    release = nbformat.read(ROOT / "release" / ASSIGNMENT / "demo.ipynb", as_version=4)
    public = {line.strip() for cell in release.cells for line in cell.source.splitlines()}
    hidden, inside = set(), False
    for cell in source.cells:
        for line in cell.source.splitlines():
            if "BEGIN HIDDEN TESTS" in line or "BEGIN MARK SCHEME" in line:
                inside = True
            elif "END HIDDEN TESTS" in line or "END MARK SCHEME" in line:
                inside = False
            elif inside and line.strip() and line.strip() not in public:
                hidden.add(line.strip())
    return hidden


def test_no_feedback_shows_hidden_code_the_marking_scheme_or_grader_paths(graded_course):
    course, _ = graded_course
    secrets = hidden_test_lines()
    assert len(secrets) >= len([check for check in CHECKS if not check.visible]) + 3  # hidden calls and the rubric
    for student in CLASS:
        page = feedback(course, student)
        assert not [line for line in secrets if line in page], student
        assert not [path for path in GRADER_PATHS if path in page], student
        assert "BEGIN HIDDEN TESTS" not in page and "MARK SCHEME" not in page


def test_the_summary_names_every_check_with_outcome_and_message(graded_course):
    course, _ = graded_course
    page = feedback(course, "features_permuted")
    for check in CHECKS:
        row = re.search(rf'<tr class="check (\w+)" id="result-{check.grade_id}">(.*?)</tr>', page, re.DOTALL)
        assert row and check.title in html.unescape(row.group(2)), check.grade_id
    assert 'id="result-test_block_b_x_perm"' in page and "columns (features)" in page
    assert re.search(r'<tr class="check failed" id="result-test_block_b_outputs">.*?hidden check', page, re.DOTALL)
    assert "awaits a grader" in page and "Score: 0.0 / 4.0" not in page
    assert 'id="total">4/25 (4 points await a grader)<' in page


def test_a_students_own_error_keeps_its_traceback(graded_course):
    course, _ = graded_course
    page = feedback(course, "block_raises")
    assert "ValueError" in page and "operands could not be broadcast" in page  # the student's error, in full


def test_one_total_in_the_table_the_csv_the_feedback_and_results_json(graded_course):
    course, printed = graded_course
    folder = course / "reports" / ASSIGNMENT
    with open(folder / "checks.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(CLASS) * (len(CHECKS) + 1)
    for student in CLASS:
        mine = [row for row in rows if row["student"] == student]
        auto = sum(float(row["earned"]) for row in mine if row["visibility"] != "manual")
        results = json.loads((folder / "results" / student / "results.json").read_text())
        pending = results["extra_data"]["pending_manual_points"]
        assert results["score"] == auto + sum(float(row["earned"] or 0) for row in mine if row["visibility"] == "manual")
        with use_language(results["extra_data"]["language"]):  # the feedback speaks the student's edition's
            waiting = ngettext("{points} point awaits a grader", "{points} points await a grader", 2)
        total = f"{results['score']:g}/25" + (f" ({waiting.format(points=f'{pending:g}')})" if pending else "")
        assert f'id="total">{total}<' in feedback(course, student)
        line = next(line for line in printed.splitlines() if f"│ {student} " in line)
        assert total.split(" (")[0] in line
    assert any(row["status"] == "pending" for row in rows)


def test_results_json_is_gradescopes_format_with_hidden_checks_hidden_until_published(graded_course):
    course, _ = graded_course
    results = json.loads((course / "reports" / ASSIGNMENT / "results" / "solution" / "results.json").read_text())
    assert results["score"] == 21 and results["extra_data"]["pending_manual_points"] == 4
    tests = {test["number"]: test for test in results["tests"]}
    assert set(tests) == {check.grade_id for check in CHECKS}  # Block D waits for a grader: not a test yet
    for check in CHECKS:
        test = tests[check.grade_id]
        assert set(test) >= {"name", "score", "max_score", "status", "output", "visibility"}
        assert test["visibility"] == ("visible" if check.visible else "after_published")
        assert test["status"] == "passed" and test["score"] == test["max_score"] == check.points


def test_the_class_report_renders_its_plots_and_tables_in_chromium(graded_course, tmp_path):
    course, printed = graded_course
    report = course / "reports" / ASSIGNMENT / "report.html"
    assert str(report) in printed
    with chromium_page() as page:
        page.goto(report.as_uri())
        for image in ("distribution", "pass-rate"):
            width = page.eval_on_selector(f"#{image}", "img => img.complete ? img.naturalWidth : 0")
            assert width > 300, image
        assert page.locator("#students tbody tr").count() == len(CLASS)
        assert page.locator("#failures tbody tr").count() >= 5
        assert page.locator("#pending tbody tr").count() == \
            sum(1 for name in CLASS if not name.startswith("untouched_release"))
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert (tmp_path / "report.png").stat().st_size > 20_000
