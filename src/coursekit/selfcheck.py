"""``run_check(grade_id, globals())``: what a notebook's test cell calls, for students and at grading.

In a student's kernel it runs the lab's self-check of that name on the notebook's results and
prints ``✔ passed`` or raises ``AssertionError`` with what was expected, what was found and a
hint. It never writes to stderr on success and returns None, so nbgrader reads no partial credit.
A hidden check runs only where the grader's package is installed (an instructor's environment);
students, who have only the self-checks, are told it runs at grading.

In a grading kernel (the grader sets ``COURSEKIT_HANDOVER_DIR`` in its sandbox) it decides
nothing: it writes the results the lab's checks read into that folder, as plain data
(``coursekit.handover``), and the grading process runs the checks on them. Whatever the
student's code does to this function, it can only change what is handed over, never a verdict.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Callable
from pathlib import Path

import numpy as np

from coursekit import handover
from coursekit.checks import CheckResult, run
from coursekit.i18n import LANGUAGES, SOURCE_LANGUAGE, _, points_text, use_language
from coursekit.results import collect

HANDOVER_DIR_VARIABLE = "COURSEKIT_HANDOVER_DIR"
LANGUAGE_VARIABLE = "COURSEKIT_LANGUAGE"  # at grading: the language of the student's edition


def running_versions() -> dict[str, str]:
    return {"python": platform.python_version(), "numpy": np.__version__}


def hand_over(folder: Path, grade_id: str, document: bytes, arrays: bytes) -> None:
    """Write the two handover files of ``grade_id`` into ``folder``, each complete or absent."""
    for name, data in zip(handover.file_names(grade_id), (document, arrays)):
        partial = folder / f".{name}.partial"
        partial.write_bytes(data)
        partial.replace(folder / name)


GRADING_CHECKS_ENTRY_POINT = "coursekit.grading_checks"  # where an instructor's environment offers every check


def _instructor_checks(lab):
    """Every check of ``lab`` where the grader's package is installed (an instructor running the source
    notebook): the grader registers ``grading_checks(lab)`` under this entry point group. None in a
    student's environment, which has only the self-checks. The student kit never names the grader."""
    from importlib.metadata import entry_points

    for entry_point in entry_points(group=GRADING_CHECKS_ENTRY_POINT):
        try:
            return entry_point.load()(lab)
        except ImportError:
            continue
    return None


def make_run_check(lab) -> Callable[[str, dict], None]:
    """A ``run_check(grade_id, namespace)`` for one lab (a ``coursekit.lab.Lab``)."""

    def run_check(grade_id: str, namespace: dict) -> None:
        folder = os.getcwd()  # a notebook's kernel runs in the notebook's folder
        results = collect(namespace, folder, lab.results)
        handover_dir = os.environ.get(HANDOVER_DIR_VARIABLE)
        if handover_dir:
            hand_over(Path(handover_dir), grade_id, *handover.encode(results))
            print(f"results handed over to the grader for {grade_id}")
            return
        checks = lab.self_checks if grade_id in lab.self_checks else _instructor_checks(lab)
        if checks is None or grade_id not in checks:
            print(_("{grade_id} is a hidden check: it runs only when your notebook is graded").format(grade_id=grade_id))
            return
        check = checks[grade_id]
        results.runtime_versions = running_versions()
        outcome = run(check, handover.round_trip(results, lab.results))
        if not outcome.passed:
            # raised here, from None: the student sees the message, not a chain of library frames
            raise AssertionError(failed_heading(check) + outcome.message) from None
        print(passed_line(check, outcome))

    return run_check


def passed_line(check, outcome: CheckResult) -> str:
    """``✔ passed (1 point): <summary>``, in the current language."""
    return _("✔ passed ({points}): {summary}").format(points=points_text(check.points), summary=outcome.message)


def failed_heading(check) -> str:
    """``check failed (1 point): <title>``, in the current language; the message follows."""
    return _("check failed ({points}): {title}").format(points=points_text(check.points), title=_(check.title))


def summary_table(lab, outcomes: list[tuple[object, CheckResult]]) -> str:
    """The self-checks' outcomes as plain text: one line per check, then what is left to the grader."""
    lines = [_("Self-checks of {lab}").format(lab=_(lab.title))]
    width = max(len(f"{check.points:g}") for check, _outcome in outcomes)
    for check, outcome in outcomes:
        mark = "✔" if outcome.passed else "✘"
        earned = f"{outcome.score:g}/{check.points:g}".rjust(2 * width + 1)
        found = f" — {outcome.found}" if not outcome.passed and outcome.found else ""
        block = _("Block {letter}").format(letter=check.block)
        lines.append(f"  {mark} {earned}  {block}  {_(check.title)}{found}")
    passed = sum(outcome.passed for _check, outcome in outcomes)
    earned = sum(outcome.score for _check, outcome in outcomes)
    possible = sum(check.points for check, _outcome in outcomes)
    lines.append(_("{passed} of {count} self-checks pass: {earned}/{possible} points. Hidden checks, and answers graded "
                   "by hand, are graded after you submit.").format(passed=passed, count=len(outcomes),
                                                                   earned=f"{earned:g}", possible=f"{possible:g}"))
    return "\n".join(lines)


def make_check_all(lab) -> Callable[[dict], None]:
    """A ``check_all(namespace)`` for one lab: every self-check at once, as a table, before submitting."""

    def check_all(namespace: dict) -> None:
        if os.environ.get(HANDOVER_DIR_VARIABLE):
            language = os.environ.get(LANGUAGE_VARIABLE, SOURCE_LANGUAGE)
            with use_language(language if language in LANGUAGES else SOURCE_LANGUAGE):
                print(_("(self-checks are not run at grading: every check is, in the grader)"))
            return
        results = handover.round_trip(collect(namespace, os.getcwd(), lab.results), lab.results)
        results.runtime_versions = running_versions()
        print(summary_table(lab, [(check, run(check, results)) for check in lab.self_checks]))

    return check_all
