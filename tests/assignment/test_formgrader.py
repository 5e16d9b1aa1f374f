"""Block D's marking scheme, seen by a grader in formgrader (a real Jupyter server, its pages and API), and the
score entered there reaching the class table, the CSV, the feedback page and results.json."""

import csv
import json
from concurrent.futures import ThreadPoolExecutor

from tests import commands
from tests.assignment.conftest import ASSIGNMENT, TEST_LIMITS, make_course, run_course
from tests.browser import JupyterServer
from tests.examples.lab00 import BANK

RUBRIC = "Marking scheme for graders"


def test_a_grader_sees_the_rubric_beside_the_answer_and_the_score_reaches_every_report(tmp_path):
    course = make_course(tmp_path / "course", TEST_LIMITS)
    server = JupyterServer(course, tmp_path / "server", app="server")
    with ThreadPoolExecutor(1) as pool:
        starting = pool.submit(server.start)  # formgrader opens the gradebook only when asked: start it meanwhile
        try:
            commands.nbgrader(["generate_assignment", ASSIGNMENT, "--force"], course)
            for name in ("solution", "features_permuted"):
                BANK.place(name, course / "submitted" / name / ASSIGNMENT, course)
            assert "2 graded" in run_course(["autograde", ASSIGNMENT], course).stdout
        finally:
            starting.result()
        with server:
            release = (course / "release" / ASSIGNMENT / "demo.ipynb").read_text()
            assert RUBRIC not in release and "MARK SCHEME" not in release  # students never see it
            submissions = server.request("GET", f"/formgrader/api/submitted_notebooks/{ASSIGNMENT}/demo")
            solution = next(submission for submission in submissions if submission["student"] == "solution")
            page = server.request("GET", f"/formgrader/submissions/{solution['id']}/")
            rubric_at, answer_at = page.index(RUBRIC), page.index("Self-attention treats its input as a")
            assert rubric_at < answer_at  # the rubric, in Block D's instructions, just above the student's answer
            grades = server.request("GET", f"/formgrader/api/grades?submission_id={solution['id']}")
            block_d = next(grade for grade in grades if grade["name"] == "block_d")
            assert block_d["needs_manual_grade"] and block_d["max_score"] == 4
            updated = server.request("PUT", f"/formgrader/api/grade/{block_d['id']}", {"manual_score": 3})
            assert updated["manual_score"] == 3 and not updated["needs_manual_grade"]
            server.process.terminate()  # it stops while the feedback is written
            commands.nbgrader(["generate_feedback", ASSIGNMENT, "--force"], course)
    report = run_course(["report", ASSIGNMENT], course)
    assert report.returncode == 0, report.stdout + report.stderr
    table_line = next(line for line in report.stdout.splitlines() if "│ solution " in line)
    assert "3/4" in table_line and "24/25" in table_line
    folder = course / "reports" / ASSIGNMENT
    with open(folder / "checks.csv", newline="") as handle:
        row = next(row for row in csv.DictReader(handle) if row["student"] == "solution" and row["grade_id"] == "block_d")
    assert (row["earned"], row["status"]) == ("3", "graded")
    results = json.loads((folder / "results" / "solution" / "results.json").read_text())
    assert results["score"] == 24 and results["extra_data"]["pending_manual_points"] == 0
    assert any(test["number"] == "block_d" and test["score"] == 3 for test in results["tests"])
    feedback = (course / "feedback" / "solution" / ASSIGNMENT / "demo.html").read_text()
    assert 'id="total">24/25<' in feedback and RUBRIC not in feedback
