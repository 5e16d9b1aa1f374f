"""The grader-only half of each lab: hidden checks and the reference computations behind them.

``coursegrader.labs.<name>`` completes ``coursekit.labs.<name>`` (the same module name) with
``HIDDEN_CHECKS``, a ``Registry``. Students never receive this package.
"""

from __future__ import annotations

import importlib

from coursekit.checks import Registry
from coursekit.lab import Lab


def hidden_checks(lab: Lab) -> Registry:
    module = importlib.import_module(f"{__name__}.{lab.module.rsplit('.', 1)[-1]}")
    return module.HIDDEN_CHECKS


def grading_checks(lab: Lab) -> Registry:
    """Every check of ``lab``, self-checks and hidden ones, ordered by block."""
    checks = [*lab.self_checks, *hidden_checks(lab)]
    blocks = list(lab.blocks)
    return Registry(sorted(checks, key=lambda check: blocks.index(check.block)))
