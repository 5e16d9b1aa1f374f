"""The grader-only half of each lab: hidden checks and the reference computations behind them.

``coursegrader.labs.<name>`` completes ``coursekit.labs.<name>`` (the same module name) with
``HIDDEN_CHECKS``, a ``Registry`` of checks attached to the hidden test cells of the lab's
description (``lab.cells.check``). Students never receive this package. A lab kept outside the
packages (``coursekit.lab``'s ``COURSEKIT_LABS``) has its ``HIDDEN_CHECKS`` in its own module.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from coursekit.checks import Registry
from coursekit.lab import Lab

KIT_LABS = "coursekit.labs."


def grader_module(lab: Lab) -> ModuleType:
    """The module that holds ``lab``'s hidden checks."""
    if lab.module.startswith(KIT_LABS):
        return importlib.import_module(f"{__name__}.{lab.module.removeprefix(KIT_LABS)}")
    return importlib.import_module(lab.module)


def hidden_checks(lab: Lab) -> Registry:
    """``lab``'s hidden checks, one for each hidden test cell of its description, as described."""
    module = grader_module(lab)
    checks = module.HIDDEN_CHECKS
    problems = lab.cells.disagreements(checks, visible=False)
    if problems:
        raise ValueError(f"the hidden checks of lab {lab.assignment!r} ({module.__name__}) disagree with its "
                         f"description ({lab.module}):\n  " + "\n  ".join(problems))
    return checks


def grading_checks(lab: Lab) -> Registry:
    """Every check of ``lab``, self-checks and hidden ones, ordered by block."""
    checks = [*lab.self_checks, *hidden_checks(lab)]
    blocks = list(lab.blocks)
    return Registry(sorted(checks, key=lambda check: blocks.index(check.block)))
