"""Each test cell's verdict, decided in the grading process from what the cell handed over.

For every autograded test cell, ``write_verdicts`` reads what that cell handed over (plain data, see
``coursekit.handover``), runs the lab's check on it here, and replaces the cell's outputs with exactly
one output: a ``✔ passed`` line, or an error carrying the failure message. nbgrader's ``SaveAutoGrades``
then scores the cell from that output as it always does (``coursegrader.adapters.verdicts`` places this
step). Nothing the kernel printed, raised or returned in a test cell counts.

The outputs are in the language of the student's edition (``metadata.coursekit.language``); each
test cell's metadata also keeps its verdict in the instructor's language (``coursekit.verdict``), which
the class report and CSV read.

A test cell that handed nothing over (the kernel died before it, the notebook could not be run)
fails with the reason. A test cell whose grade_id names no check of the lab fails too, loudly:
its verdict could only have come from the kernel.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass

import numpy as np
from nbformat.v4 import new_output
from nbgrader import utils as nbgrader_utils

from coursegrader.labs import grading_checks
from coursegrader.language.catalog import edition_language
from coursegrader.run.handovers import HandedOver, NotHandedOver
from coursekit import handover
from coursekit.checks import CheckFailed, CheckResult, run
from coursekit.i18n import SOURCE_LANGUAGE, _, use_language
from coursekit.lab import find_lab
from coursekit.selfcheck import failed_heading, passed_line


def grading_environment_versions() -> dict[str, str]:
    """The versions of the environment the sandboxed kernel runs in: the grader's own interpreter and venv."""
    return {"python": platform.python_version(), "numpy": np.__version__}


def verdict_output(check, outcome: CheckResult):
    """The one output of a test cell, in the current language: the passed line, or an error whose heading
    names the check, followed by its message."""
    if outcome.passed:
        return new_output("stream", name="stdout", text=passed_line(check, outcome) + "\n")
    heading = failed_heading(check)
    return new_output("error", ename="CheckFailed", evalue=heading + outcome.message,
                      traceback=[f"CheckFailed: {heading}", *outcome.message.strip("\n").split("\n")])


def not_checked(grade_id: str, points: float, reason: str) -> CheckResult:
    failure = CheckFailed(expected=_("results from this test cell"), found=reason,
                          hint=_("run the whole notebook from the top (Kernel → Restart Kernel and Run All Cells) "
                                 "and make sure it reaches this cell"))
    return CheckResult(grade_id, points, False, str(failure), found=failure.found)


@dataclass(frozen=True)
class UnknownCheck:
    """A test cell whose grade_id names no check of the lab: graded zero, titled by its grade_id."""

    grade_id: str
    points: float

    @property
    def title(self) -> str:
        return self.grade_id

def write_verdicts(nb, assignment: str, student: str, handovers: dict, stopped: str | None, log) -> None:
    """Give every autograded test cell of ``nb`` its verdict as its only output (see the module's docstring)."""
    lab = find_lab(assignment)
    checks = grading_checks(lab)
    versions = grading_environment_versions()
    language = edition_language(nb)
    for cell in nb.cells:
        if not (cell.cell_type == "code" and nbgrader_utils.is_grade(cell) and not nbgrader_utils.is_solution(cell)):
            continue
        grade_id = cell.metadata.nbgrader["grade_id"]
        points = float(cell.metadata.nbgrader.get("points", 0))
        if grade_id not in checks:
            log.error("%s: test cell %r names no check of lab %s: graded zero", student, grade_id, lab.assignment)
            check = UnknownCheck(grade_id, points)

            def decide(grade_id=grade_id, points=points):
                return not_checked(grade_id, points, _("{grade_id} is not a check of this lab").format(
                    grade_id=repr(grade_id)))
        else:
            check = checks[grade_id]
            decide = _decider(check, handovers.get(grade_id), stopped, versions, lab, points)
        with use_language(language):  # what the student reads: the language of their edition
            outcome = decide()
            cell.outputs = [verdict_output(check, outcome)]
        with use_language(SOURCE_LANGUAGE):  # what the class report reads: the instructor's language
            record = outcome if language == SOURCE_LANGUAGE else decide()
        if record.crashed:
            log.error("%s: check %s raised on the handed-over results:\n%s", student, grade_id, record.crashed)
        cell.metadata["coursekit"] = {"verdict": {"passed": record.passed, "message": record.message.strip("\n"),
                                                  "language": SOURCE_LANGUAGE}}


def _decider(check, handed, stopped, versions, lab, points):
    """A function giving the check's outcome in the current language (it runs once per language)."""
    grade_id = check.grade_id

    def decide() -> CheckResult:
        if isinstance(handed, HandedOver):
            try:
                results = handover.decode(handed.document, handed.arrays, lab.results)
            except handover.HandoverError as error:
                return not_checked(grade_id, points, _("the results it handed over were unreadable: {error}").format(
                    error=error))
            results.runtime_versions = versions
            return run(check, results)
        if isinstance(handed, NotHandedOver):
            return not_checked(grade_id, points, handed.reason)
        return not_checked(grade_id, points, _("this cell did not run ({why})").format(why=stopped) if stopped
                           else _("this cell did not run"))

    return decide
