"""``TrustedVerdicts``: each test cell's verdict, decided in the grading process, written before it is scored.

Placed after ``SandboxedExecute`` and before nbgrader's ``SaveAutoGrades`` in
``c.Autograde.autograde_preprocessors``. For every autograded test cell it reads what that cell
handed over (plain data, see ``coursekit.handover``), runs the lab's check on it here, and
replaces the cell's outputs with exactly one output: a ``✔ passed`` line, or an error carrying
the failure message. ``SaveAutoGrades`` then scores the cell from that output as nbgrader always
does. Nothing the kernel printed, raised or returned in a test cell counts.

A test cell that handed nothing over (the kernel died before it, the notebook could not be run)
fails with the reason. A test cell whose grade_id names no check of the lab fails too, loudly:
its verdict could only have come from the kernel.
"""

from __future__ import annotations

import platform

import numpy as np
from nbformat.v4 import new_output
from nbgrader import utils as nbgrader_utils
from nbgrader.preprocessors import NbGraderPreprocessor

from coursegrader.execute import HandedOver, NotHandedOver
from coursegrader.labs import grading_checks
from coursekit import handover
from coursekit.checks import CheckFailed, CheckResult, run
from coursekit.lab import find_lab


def grading_environment_versions() -> dict[str, str]:
    """The versions of the environment the sandboxed kernel runs in: the grader's own interpreter and venv."""
    return {"python": platform.python_version(), "numpy": np.__version__}


def _points(points: float) -> str:
    return f"{points:g} point{'s' if points != 1 else ''}"


def verdict_output(title: str, outcome: CheckResult):
    if outcome.passed:
        return new_output("stream", name="stdout", text=f"✔ passed ({_points(outcome.points)}): {outcome.message}\n")
    heading = f"check failed ({_points(outcome.points)}): {title}"
    return new_output("error", ename="CheckFailed", evalue=heading + outcome.message,
                      traceback=[f"CheckFailed: {heading}", *outcome.message.strip("\n").split("\n")])


def not_checked(grade_id: str, points: float, reason: str) -> CheckResult:
    message = str(CheckFailed(expected="results from this test cell", found=reason,
                              hint="run the whole notebook from the top (Kernel → Restart Kernel and Run All Cells) "
                                   "and make sure it reaches this cell"))
    return CheckResult(grade_id, points, False, message)


class TrustedVerdicts(NbGraderPreprocessor):
    def preprocess(self, nb, resources):
        assignment = resources["nbgrader"]["assignment"]
        student = resources["nbgrader"]["student"]
        lab = find_lab(assignment)
        checks = grading_checks(lab)
        state = resources.get("coursekit", {})
        handovers = state.get("handovers", {})
        stopped = state.get("stopped")
        versions = grading_environment_versions()
        for cell in nb.cells:
            if not (cell.cell_type == "code" and nbgrader_utils.is_grade(cell) and not nbgrader_utils.is_solution(cell)):
                continue
            grade_id = cell.metadata.nbgrader["grade_id"]
            points = float(cell.metadata.nbgrader.get("points", 0))
            if grade_id not in checks:
                self.log.error("%s: test cell %r names no check of lab %s: graded zero", student, grade_id, lab.assignment)
                outcome = not_checked(grade_id, points, f"{grade_id!r} is not a check of this lab")
                title = grade_id
            else:
                check = checks[grade_id]
                title = check.title
                handed = handovers.get(grade_id)
                if isinstance(handed, HandedOver):
                    try:
                        results = handover.decode(handed.document, handed.arrays, lab.results)
                    except handover.HandoverError as error:
                        outcome = not_checked(grade_id, points, f"the results it handed over were unreadable: {error}")
                    else:
                        results.runtime_versions = versions
                        outcome = run(check, results)
                        if outcome.crashed:
                            self.log.error("%s: check %s raised on the handed-over results:\n%s", student, grade_id,
                                           outcome.crashed)
                elif isinstance(handed, NotHandedOver):
                    outcome = not_checked(grade_id, points, handed.reason)
                else:
                    outcome = not_checked(grade_id, points, f"this cell did not run ({stopped})" if stopped
                                          else "this cell did not run")
            cell.outputs = [verdict_output(title, outcome)]
        return nb, resources
