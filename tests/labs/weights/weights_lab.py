"""Lab 90, "Attention Weights, by Hand": a second, small lab that exists only in the tests.

It proves that a lab is described once. This module (its description, its self-check and its
hidden check) and its source notebook (``source/90-attention-weights/weights.ipynb``) are all there
is of it: no line of ``src/`` or of the course's configuration names it. A course finds it when
``COURSEKIT_LABS`` names this folder (``tests/assignment/test_second_lab.py`` does so for a
throwaway course, which it then releases, grades and reports on).

Its hidden check sits here, beside the description, as for any lab kept outside the packages: the
sandbox lets a submission read this file, so nothing in it is secret (``coursekit.lab``).
"""

from __future__ import annotations

import numpy as np

from coursekit import checkers
from coursekit.checks import CheckFailed, Registry
from coursekit.lab import AnswerCell, Cells, CheckCell, Deliverables, Lab
from coursekit.results import LabResults, ResultSpec
from coursekit.selfcheck import make_run_check

ASSIGNMENT = "90-attention-weights"
QUERY = np.array([1.0, 0.0, 1.0, 0.0])  # (4,): the set-up cell's q
KEYS = np.array([[1.0, 0.0, 1.0, 0.0], [0.0, 1.0, 0.0, 1.0], [1.0, 1.0, 0.0, 0.0]])  # (3, 4): its K, one key a row
SHAPE = (3,)  # one score, one weight, per key
LAYOUT = "one number per key: shape (3,)"
EQUAL_ATOL = 1e-10


def block_a_scores(results: LabResults) -> str:
    scores = checkers.array(results, "scores", "A", "K @ q / np.sqrt(4)", SHAPE, layout=LAYOUT)
    checkers.assert_close("scores", scores, KEYS @ QUERY / np.sqrt(QUERY.size), atol=EQUAL_ATOL,
                          expected="scores = K @ q / np.sqrt(d): each key's dot product with q, scaled by sqrt(d), d = 4",
                          hint="take the dot products with K @ q, then divide by the square root of the key size")
    return "scores are the scaled dot products of q with each key"


def block_a_weights(results: LabResults) -> str:
    """The softmax of the student's own scores: a wrong ``scores`` costs only the check of ``scores``."""
    scores = checkers.array(results, "scores", "A", "K @ q / np.sqrt(4)", SHAPE, layout=LAYOUT)
    weights = checkers.array(results, "weights", "A", "the softmax of scores", SHAPE, layout=LAYOUT)
    if not abs(weights.sum() - 1.0) <= EQUAL_ATOL:
        raise CheckFailed(expected="weights that sum to 1, as a softmax's do", found=f"they sum to {weights.sum():.4g}",
                          hint="divide the exponentials by their sum")
    exponentials = np.exp(scores - scores.max())  # (3,)
    checkers.assert_close("weights", weights, exponentials / exponentials.sum(), atol=EQUAL_ATOL,
                          expected="weights = the softmax of your scores", hint="np.exp(scores), then divide by its sum")
    return "weights are the softmax of scores"


CELLS = Cells([
    AnswerCell("block_a", block="A"),
    CheckCell("test_block_a_scores", block="A", points=1, visible=True),
    CheckCell("test_block_a_weights", block="A", points=2, visible=False),
    AnswerCell("block_b", block="B", points=1),  # written, graded by hand
])

LAB = Lab(
    assignment=ASSIGNMENT,
    notebook="weights",
    title="Lab 90 — Attention Weights, by Hand",
    blocks={"A": "scores and weights", "B": "interpret"},
    cells=CELLS,
    results=ResultSpec(arrays=("scores", "weights")),
    writes=(),
    deliverables=Deliverables(folder=f"experiments/{ASSIGNMENT}", script="weights.py",
                              script_cells=(("setup", "Provided set-up"), ("block_a", "Block A — scores and weights")),
                              answer_cell="block_b", copied_files=()),
    module=__name__,
    warm_up="""\
import numpy as np
q, K = np.ones(4), np.ones((3, 4))
scores = K @ q / np.sqrt(q.size)  # (3,)
weights = np.exp(scores) / np.exp(scores).sum(axis=1)  # the mistake made most: a row's axis, on a vector
""",
    self_checks=Registry([CELLS.check("test_block_a_scores", "scores are K @ q / sqrt(d)", block_a_scores)]),
)

HIDDEN_CHECKS = Registry([CELLS.check("test_block_a_weights", "weights are the softmax of scores", block_a_weights)])

run_check = make_run_check(LAB)
