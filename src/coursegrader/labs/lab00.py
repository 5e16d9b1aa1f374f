"""Lab 00's hidden checks, and the reference computations they compare with: grader only.

Recomputations start from the student's own ``X``, so one wrong block does not cost the points of
the blocks after it. Failure messages say what was expected, what was found and a hint; they
never print the correct numbers. Where checks are alike they are rows of a table (named tuples).
Each check attaches a title and a function to a test cell of the lab's description
(``coursekit.labs.lab00.LAB``), which holds its block, points and visibility.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np

from coursekit import checkers
from coursekit.checks import Check, CheckFailed, Registry
from coursekit.i18n import N_, _
from coursekit.labs.lab00 import (D_MODEL, EQUAL_ATOL, LAB, N_HEADS, PERMUTATION, RESULT_FIELDS, SEED, T,
                                  WITH_PE_THRESHOLD, WITHOUT_PE_THRESHOLD, array, manifest_field, manifest_file,
                                  student_X)
from coursekit.results import LabResults
from minimodel import Embedding, MultiHeadAttention, default_tokenizer, sinusoidal_pe

NUMBER_RTOL, NUMBER_ATOL = 1e-9, 1e-12  # a recorded number must be the computed one, not a rounded one


# -----------------------------------------------------------------------------
# the reference: Blocks A–C done right


def embed(token_ids) -> np.ndarray:
    """``Embedding(vocab_size, 8, seed=0)`` applied to ``token_ids``: (3,) -> (3, 8)."""
    return Embedding(default_tokenizer().vocab_size, D_MODEL, seed=SEED)(token_ids)


def max_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b)))


def recompute(X: np.ndarray) -> dict[str, object]:
    """Blocks B and C, done right, from the student's X (3, 8)."""
    return _recompute(np.ascontiguousarray(X, dtype=np.float64).tobytes())


@functools.lru_cache(maxsize=64)  # five checks recompute from the same X
def _recompute(X_bytes: bytes) -> dict[str, object]:
    X = np.frombuffer(X_bytes, dtype=np.float64).reshape(T, D_MODEL)  # (3, 8), read-only
    mha, pe = MultiHeadAttention(d_model=D_MODEL, n_heads=N_HEADS, seed=SEED), sinusoidal_pe(T, D_MODEL)
    X_perm = X[PERMUTATION]  # (3, 8): tokens reordered
    Y, Y_perm = mha.forward(X), mha.forward(X_perm)  # (3, 8) each
    Y_pe, Y_perm_pe = mha.forward(X + pe), mha.forward(X_perm + pe)  # (3, 8) each; PE before attention
    return {
        "X_perm": X_perm, "Y": Y, "Y_perm": Y_perm,
        "without_pe_max_diff": max_abs_diff(Y_perm, Y[PERMUTATION]),
        "pe": pe, "Y_pe": Y_pe, "Y_perm_pe": Y_perm_pe,
        "with_pe_max_diff": max_abs_diff(Y_perm_pe, Y_pe[PERMUTATION]),
    }


# -----------------------------------------------------------------------------
# checks alike: arrays equal to a recomputation, and recorded maximum differences

# Each row is one hidden check; its cell's block and points are in the lab's description (LAB.cells).


class RecomputedArray(NamedTuple):
    name: str  # the student's variable
    what: str  # what it is, in code
    expected: str  # the failure message's "expected" (English, marked N_)
    hint: str


class RecomputedArrays(NamedTuple):
    """A check that arrays equal a recomputation from the student's X."""

    grade_id: str
    title: str
    arrays: tuple[RecomputedArray, ...]


class RecordedDifference(NamedTuple):
    """A check that a number is the maximum difference of correct outputs, on the right side of a threshold."""

    grade_id: str
    title: str
    name: str  # the student's variable
    sources: tuple[str, ...]  # the arrays it is computed from
    formula: str  # the difference it is the maximum of
    below: bool  # below the threshold (True) or above it
    threshold: float


RECOMPUTED_ARRAYS = [
    RecomputedArrays("test_block_b_outputs", N_("Y and Y_perm equal a recomputation from X"), arrays=(
        RecomputedArray("Y", "mha.forward(X, mask=None)",
                        expected=N_("Y = mha.forward(X, mask=None) for your X, with the seed-0 layer"),
                        hint=N_("run attention on X exactly as embedded in Block A, with no positional encoding")),
        RecomputedArray("Y_perm", "mha.forward(X_perm, mask=None)",
                        expected=N_("Y_perm = mha.forward(X[[2, 0, 1]], mask=None), attention on the permuted tokens"),
                        hint=N_("permute the input rows first, then run attention on the permuted input")))),
    RecomputedArrays("test_block_c_outputs", N_("Y_pe and Y_perm_pe: PE added before attention"), arrays=(
        RecomputedArray("Y_pe", "mha.forward(X + pe)",
                        expected=N_("Y_pe = mha.forward(X + pe): PE added to the input, before attention"),
                        hint=N_("add pe to the embeddings first, then run attention")),
        RecomputedArray("Y_perm_pe", "mha.forward(X_perm + pe)",
                        expected=N_("Y_perm_pe = mha.forward(X_perm + pe): the permuted tokens, plus PE by position, "
                                    "before attention"),
                        hint=N_("add pe to the permuted input too: position 0 gets pe[0] whichever token sits "
                                "there")))),
]

RECORDED_DIFFERENCES = [
    RecordedDifference("test_block_b_max_diff", N_("without_pe_max_diff is computed from correct outputs and < 1e-6"),
                       name="without_pe_max_diff", sources=("Y", "Y_perm"), formula="|Y_perm - Y[[2, 0, 1]]|",
                       below=True, threshold=WITHOUT_PE_THRESHOLD),
    RecordedDifference("test_block_c_max_diff", N_("with_pe_max_diff is computed from correct outputs and > 1e-3"),
                       name="with_pe_max_diff", sources=("Y_pe", "Y_perm_pe"), formula="|Y_perm_pe - Y_pe[[2, 0, 1]]|",
                       below=False, threshold=WITH_PE_THRESHOLD),
]


def _and(names) -> str:
    return _(" and ").join(names)


def recomputed_arrays_check(row: RecomputedArrays) -> Check:
    block = LAB.block_of(row.grade_id)

    def check(results: LabResults) -> str:
        X = student_X(results)
        found = {wanted.name: array(results, wanted.name, block, wanted.what) for wanted in row.arrays}
        computed = recompute(X)
        for wanted in row.arrays:
            checkers.assert_close(wanted.name, found[wanted.name], computed[wanted.name], _(wanted.expected),
                                  _(wanted.hint), atol=EQUAL_ATOL)
        return _("{names} equal a recomputation from X").format(names=_and(wanted.name for wanted in row.arrays))

    return LAB.cells.check(row.grade_id, row.title, check)


def recorded_difference_check(row: RecordedDifference) -> Check:
    """``row.name`` is the maximum difference of correct outputs: a number that only looks right, such as
    0.0 beside outputs that are all zeros, earns nothing."""
    block = LAB.block_of(row.grade_id)
    name, sources, formula, below, threshold = row.name, row.sources, row.formula, row.below, row.threshold

    def check(results: LabResults) -> str:
        recorded = checkers.number(results, name, block, _("the largest {formula}").format(formula=formula))
        reference = recompute(student_X(results))
        for source in sources:
            found = checkers.require(results, source, block, _("the output {name} is computed from").format(name=name))
            correct = reference[source]
            if not (isinstance(found, np.ndarray) and found.shape == correct.shape
                    and np.allclose(found, correct, rtol=0, atol=EQUAL_ATOL)):
                raise CheckFailed(expected=_("{name} computed from correct {sources}").format(name=name, sources=_and(sources)),
                                  found=_("`{source}` is not what Block {block} computes, so {name} is not that "
                                          "difference").format(source=source, block=block, name=name),
                                  hint=_("fix {sources} first (see the other Block {block} checks)").format(
                                      sources=_and(sources), block=block))
        computed = reference[name]
        if not checkers.same_number(recorded, computed, NUMBER_RTOL, NUMBER_ATOL):
            raise CheckFailed(expected=_("{name} = the largest entry of {formula}, recomputed from your X").format(
                                  name=name, formula=formula),
                              found=_("{name} is {value}, which is not that value").format(name=name, value=repr(recorded)),
                              hint=_("compute it with np.abs(...).max() from the arrays; do not type or round it"))
        if not (recorded < threshold if below else recorded > threshold):
            expected = _("{name} below {threshold}") if below else _("{name} above {threshold}")
            raise CheckFailed(expected=expected.format(name=name, threshold=f"{threshold:g}"), found=repr(recorded),
                              hint=_("see the other Block {block} checks").format(block=block))
        summary = _("{name} is the computed maximum difference, below {threshold}") if below \
            else _("{name} is the computed maximum difference, above {threshold}")
        return summary.format(name=name, threshold=f"{threshold:g}")

    return LAB.cells.check(row.grade_id, row.title, check)


# -----------------------------------------------------------------------------
# checks of their own


def block_a_embedding(results: LabResults) -> str:
    X = student_X(results)
    ids = checkers.require(results, "token_ids", "A", _("the 3 token ids of the lab's sentence"))
    try:
        computed = embed(np.asarray(ids).astype(np.int64))  # (3, 8)
    except (TypeError, ValueError, IndexError) as error:
        raise CheckFailed(expected=_("`token_ids` that the embedding accepts"), found=f"{error}"[:200],
                          hint=_("fix token_ids first (see the Block A token-id check)")) from None
    if computed.shape != X.shape:
        raise CheckFailed(expected=_("3 token ids, one per row of X"),
                          found=_("{count} ids").format(count=len(np.atleast_1d(ids))),
                          hint=_("fix token_ids first (see the Block A token-id check)"))
    checkers.assert_close("X", X, computed, atol=EQUAL_ATOL,
                          expected=_("X = Embedding(vocab_size, 8, seed=0)(token_ids), with the default tokenizer's "
                                     "vocab_size"),
                          hint=_("embed token_ids with Embedding(tokenizer.vocab_size, 8, seed=0); do not reorder or "
                                 "rescale it"))
    return _("X is the seed-0 embedding of token_ids")


def block_e_results_match(results: LabResults) -> str:
    manifest = manifest_file(results)
    computed = recompute(student_X(results))
    wrong = []
    for field, name in RESULT_FIELDS.items():
        recorded = manifest_field(manifest, f"results_summary.{field}")
        if not checkers.is_json_number(recorded) or not checkers.same_number(float(recorded), computed[name],
                                                                               NUMBER_RTOL, NUMBER_ATOL):
            wrong.append(_("{path} is {value}").format(path=f"results_summary.{field}", value=f"{recorded!r:.40}"))
    if wrong:
        raise CheckFailed(expected=_("results_summary to record the differences your code computes (to 9 significant "
                                     "digits)"),
                          found=_("{wrong}, which is not what the correct code computes from your X").format(
                              wrong="; ".join(wrong)),
                          hint=_("put the variables without_pe_max_diff and with_pe_max_diff into the manifest, not "
                                 "typed or rounded numbers"))
    return _("results_summary records the computed differences")


HIDDEN_CHECKS = Registry([
    LAB.cells.check("test_block_a_embedding", N_("X is the seed-0 embedding of token_ids"), block_a_embedding),
    *(recomputed_arrays_check(row) for row in RECOMPUTED_ARRAYS),
    *(recorded_difference_check(row) for row in RECORDED_DIFFERENCES),
    LAB.cells.check("test_block_e_results_match", N_("results_summary records the computed numbers"),
                    block_e_results_match),
])
