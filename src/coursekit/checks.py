"""What a check is, and how one runs: plain functions of a student's results, one verdict each.

A check is a function ``f(results) -> str`` that returns a one-line summary of what it verified,
or raises ``CheckFailed`` saying what it expected, what it found and a hint — never the answer.
It reads only the plain data in ``results`` (arrays, numbers, dicts, strings), never a live
kernel: students run their self-checks on results collected in their own kernel, and the grader
runs every check on results handed over by a sandboxed kernel, in a process the student's code
never touched.

Each check is registered with the grade_id of the notebook test cell that runs it, its block,
its points and whether students see it (visible checks are their self-checks; hidden ones exist
only in the grader's package). A lab declares those three once, in its description
(``coursekit.lab.CheckCell``), and builds its checks from it (``Cells.check``). This module knows
nothing of any one lab.
"""

from __future__ import annotations

import traceback
import warnings
from collections.abc import Callable, Iterable
from dataclasses import KW_ONLY, dataclass

import numpy as np

from coursekit.i18n import _


class CheckFailed(AssertionError):
    """A failed check: what was expected, what was found, and a hint towards the fix, each already in
    the language of the run (``coursekit.i18n``)."""

    def __init__(self, expected: str, found: str, hint: str):
        self.expected, self.found, self.hint = expected, found, hint
        labels = [_("expected:"), _("found:"), _("hint:")]
        width = max(len(label) for label in labels)
        super().__init__("".join(f"\n  {label.ljust(width)} {text}" for label, text in zip(labels, (expected, found, hint))))


@dataclass(frozen=True)
class Check:
    grade_id: str  # the notebook test cell that runs it; also the check's name
    _keywords: KW_ONLY  # the rest by name: Check("test_x", block="A", points=1, visible=True, ...)
    block: str  # the lab block it grades, "A".."E"
    points: float
    visible: bool  # a self-check students have, or hidden until grading
    title: str  # one line for reports: what is checked (in English, marked N_: shown as _(title))
    function: Callable[[object], str]


@dataclass(frozen=True)
class CheckResult:
    grade_id: str
    points: float
    passed: bool
    message: str  # the summary on success, the CheckFailed text on failure
    crashed: str | None = None  # the traceback, when the check raised something other than CheckFailed
    found: str = ""  # on failure: what was found, alone

    @property
    def score(self) -> float:
        return self.points if self.passed else 0.0


def run(check: Check, results) -> CheckResult:
    """Run one check on ``results``; never raises, never warns.

    Warnings are silenced so a passing check writes nothing to stderr (nbgrader zeroes a cell
    that does). An exception other than ``CheckFailed`` fails the check with ``crashed`` set, so
    one odd value costs that check and no other; the grader logs such crashes for the instructor.
    """
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            summary = check.function(results)
        except CheckFailed as failure:
            return CheckResult(check.grade_id, check.points, False, str(failure), found=failure.found)
        except Exception as error:  # noqa: BLE001 — any value a student leaves can reach a check
            failure = CheckFailed(expected=_(check.title),
                                  found=_("the values could not be checked ({error})").format(error=type(error).__name__),
                                  hint=_("make sure each variable holds the kind of value the TODO asks for"))
            return CheckResult(check.grade_id, check.points, False, str(failure), crashed=traceback.format_exc(),
                               found=failure.found)
    return CheckResult(check.grade_id, check.points, True, str(summary))


class Registry:
    """The checks of one lab, by grade_id, in the order they were given."""

    def __init__(self, checks: Iterable[Check]):
        self._checks: dict[str, Check] = {}
        for check in checks:
            if check.grade_id in self._checks:
                raise ValueError(f"two checks share the grade_id {check.grade_id!r}")
            self._checks[check.grade_id] = check

    def __getitem__(self, grade_id: str) -> Check:
        try:
            return self._checks[grade_id]
        except KeyError:
            raise KeyError(f"no check named {grade_id!r}; known checks: {', '.join(self._checks)}") from None

    def __contains__(self, grade_id: object) -> bool:
        return grade_id in self._checks

    def __iter__(self):
        return iter(self._checks.values())

    def __len__(self) -> int:
        return len(self._checks)

    def __add__(self, other: Registry) -> Registry:
        return Registry([*self, *other])

    def total_points(self) -> float:
        return sum(check.points for check in self)
