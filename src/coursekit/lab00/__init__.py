"""Lab 00, "Permutation Equivariance, in Numbers": its reference numbers, results and checks.

In a notebook test cell::

    from coursekit.lab00 import run_check
    run_check("test_block_b_assertion", globals())
"""

from coursekit.lab00.checks import CHECKS
from coursekit.lab00.results import LabResults, collect
from coursekit.notebook import make_run_check

run_check = make_run_check(CHECKS, collect)

__all__ = ["CHECKS", "LabResults", "collect", "run_check"]
