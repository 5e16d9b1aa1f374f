"""The bridge from a notebook test cell to a check: collect the results, run one check, report.

A test cell holds one line, ``run_check("test_block_b_outputs", globals())``. On success it prints
one line to stdout; on failure it raises ``CheckFailed`` (an AssertionError), which nbgrader scores
as zero. It never writes to stderr on success (nbgrader zeroes a cell that does) and returns
None, so nbgrader never reads a return value as partial credit.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from coursekit.checks import Registry, run


def make_run_check(registry: Registry, collect: Callable) -> Callable[[str, dict], None]:
    """A ``run_check(grade_id, namespace)`` for one lab's registry and results collector."""

    def run_check(grade_id: str, namespace: dict) -> None:
        check = registry[grade_id]
        results = collect(namespace, os.getcwd())  # a notebook's kernel runs in the notebook's folder
        outcome = run(check, results)
        points = f"{check.points:g} point{'s' if check.points != 1 else ''}"
        if not outcome.passed:
            # raised here, from None: the student sees the message, not a chain of library frames
            raise AssertionError(f"check failed ({points}): {check.title}{outcome.message}") from None
        print(f"✔ passed ({points}): {outcome.message}")

    return run_check
