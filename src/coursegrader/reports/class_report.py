"""What the class did, for the instructor and the LMS: the console table, a one-page HTML report with plots,
a per-student, per-check CSV, and a Gradescope-format ``results.json`` per submission.

All of them read ``coursegrader.results`` and count totals its way: autograded checks out of their
points, written answers pending until a grader scores them, one total.

    reports/<assignment>/report.html            score distribution, pass rate per check, common failures, pending
    reports/<assignment>/checks.csv             one row per student and check
    reports/<assignment>/results/<student>/results.json   Gradescope's autograder format

The report and the CSV are in the instructor's language; each results.json, which the LMS shows the
student, is in the language of the edition the student submitted.
"""

from __future__ import annotations

from pathlib import Path

from coursegrader.labs import grading_checks
from coursegrader.reports.checks_csv import write_csv
from coursegrader.reports.gradescope import write_results_json
from coursegrader.reports.html_report import write_html
from coursegrader.results.results import class_results
from coursekit.lab import Lab


def write_reports(lab: Lab, db_url: str, course_root: Path) -> dict[str, object]:
    """Write the HTML report, the CSV and every results.json; return their paths."""
    everyone = class_results(lab, db_url, course_root)  # the instructor's language: the report and the CSV
    folder = Path(course_root) / "reports" / lab.assignment
    folder.mkdir(parents=True, exist_ok=True)
    return {"html": write_html(lab, everyone, list(grading_checks(lab)), folder / "report.html"),
            "csv": write_csv(everyone, folder / "checks.csv"),
            # what the LMS shows each student: in the language of their edition
            "results": write_results_json(class_results(lab, db_url, course_root, students_language=True),
                                          folder / "results"),
            "everyone": everyone}
