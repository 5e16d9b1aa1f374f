"""MultiHeadAttention: shapes, masks, the fully blocked row, seeding, state_dict, errors."""

import re

import numpy as np
import pytest

from minimodel import MultiHeadAttention
from minimodel.attention import PARAMETER_NAMES


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def test_output_has_the_input_shape_and_weights_are_per_head(rng):
    mha = MultiHeadAttention(d_model=8, n_heads=2, seed=0)
    X = rng.normal(size=(3, 5, 8))
    out, weights = mha.forward(X, return_weights=True)
    assert out.shape == (3, 5, 8) and weights.shape == (3, 2, 5, 5)
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, atol=1e-12)
    out2, weights2 = mha.forward(X[0], return_weights=True)
    assert out2.shape == (5, 8) and weights2.shape == (2, 5, 5)
    np.testing.assert_allclose(out2, out[0], atol=1e-14)


def test_batch_items_are_independent(rng):
    mha = MultiHeadAttention(8, 4, seed=1)
    X = rng.normal(size=(4, 6, 8))
    batched = mha(X)
    for b in range(4):
        np.testing.assert_allclose(batched[b], mha(X[b]), atol=1e-14)


def test_same_seed_same_layer_and_different_seed_different_layer():
    a, b, c = MultiHeadAttention(8, 2, seed=0), MultiHeadAttention(8, 2, seed=0), MultiHeadAttention(8, 2, seed=1)
    for name in PARAMETER_NAMES:
        np.testing.assert_array_equal(a.state_dict()[name], b.state_dict()[name])
    assert not np.allclose(a.state_dict()["in_proj_weight"], c.state_dict()["in_proj_weight"])


def test_initialisation_follows_pytorch_scheme():
    E = 16
    sd = MultiHeadAttention(E, 4, seed=0).state_dict()
    assert np.abs(sd["in_proj_weight"]).max() <= np.sqrt(6 / (4 * E))
    assert np.abs(sd["out_proj.weight"]).max() <= 1 / np.sqrt(E)
    assert not sd["in_proj_bias"].any() and not sd["out_proj.bias"].any()


def test_state_dict_uses_pytorch_names_and_round_trips(rng):
    source, target = MultiHeadAttention(8, 2, seed=0), MultiHeadAttention(8, 2, seed=5)
    sd = {name: rng.normal(size=array.shape) for name, array in source.state_dict().items()}
    assert list(sd) == list(PARAMETER_NAMES)
    assert sd["in_proj_weight"].shape == (24, 8) and sd["in_proj_bias"].shape == (24,)
    target.load_state_dict(sd)
    for name in PARAMETER_NAMES:
        np.testing.assert_array_equal(target.state_dict()[name], sd[name])
    sd["out_proj.bias"][:] = 0  # later edits of the caller's arrays do not reach the layer
    assert target.state_dict()["out_proj.bias"].any()


def test_load_state_dict_names_missing_keys_and_bad_shapes():
    mha = MultiHeadAttention(8, 2)
    sd = mha.state_dict()
    del sd["out_proj.bias"]
    with pytest.raises(ValueError, match=r"missing \['out_proj.bias'\]"):
        mha.load_state_dict(sd)
    sd = mha.state_dict()
    sd["in_proj_weight"] = np.zeros((8, 8))
    with pytest.raises(ValueError, match=r"in_proj_weight.*\(24, 8\).*\(8, 8\)"):
        mha.load_state_dict(sd)


def test_bool_mask_true_blocks_and_float_mask_is_added(rng):
    mha = MultiHeadAttention(8, 2, seed=0)
    X = rng.normal(size=(5, 8))
    causal = np.triu(np.ones((5, 5), dtype=bool), k=1)
    _, weights = mha.forward(X, mask=causal, return_weights=True)
    assert not weights[:, causal].any()
    as_float = np.where(causal, -np.inf, 0.0)
    np.testing.assert_allclose(mha.forward(X, mask=as_float), mha.forward(X, mask=causal), atol=1e-14)
    # a constant float mask shifts every score of a row equally and changes nothing
    np.testing.assert_allclose(mha.forward(X, mask=np.full((5, 5), 3.0)), mha.forward(X), atol=1e-13)


def test_causal_mask_makes_earlier_outputs_ignore_later_tokens(rng):
    mha = MultiHeadAttention(8, 2, seed=0)
    X = rng.normal(size=(5, 8))
    changed = X.copy()
    changed[4] += 10.0
    causal = np.triu(np.ones((5, 5), dtype=bool), k=1)
    np.testing.assert_allclose(mha(X, mask=causal)[:4], mha(changed, mask=causal)[:4], atol=1e-14)


def test_fully_blocked_row_is_finite_zero_weights_and_bias_output(rng):
    mha = MultiHeadAttention(8, 2, seed=0)
    sd = mha.state_dict()
    sd["out_proj.bias"] = rng.normal(size=8)
    mha.load_state_dict(sd)
    mask = np.zeros((4, 4), dtype=bool)
    mask[2] = True
    out, weights = mha.forward(rng.normal(size=(4, 8)), mask=mask, return_weights=True)
    assert np.isfinite(out).all() and np.isfinite(weights).all()
    assert not weights[:, 2].any()
    np.testing.assert_allclose(out[2], sd["out_proj.bias"], atol=1e-15)


def test_softmax_is_stable_for_huge_scores():
    mha = MultiHeadAttention(4, 1, seed=0)
    out = mha.forward(np.full((3, 4), 1e6) * np.array([1, -1, 1, -1]))
    assert np.isfinite(out).all()


@pytest.mark.parametrize("d_model, n_heads, message", [(8, 3, "divisible"), (0, 1, "positive integer"),
                                                        (8, 0, "positive integer")])
def test_bad_construction(d_model, n_heads, message):
    with pytest.raises(ValueError, match=message):
        MultiHeadAttention(d_model, n_heads)


@pytest.mark.parametrize("shape", [(3, 7), (8,), (1, 2, 3, 8)])
def test_bad_input_shape_says_what_was_expected(shape):
    expected = f"(T, d_model) or (B, T, d_model) with d_model=8, got {shape}"
    with pytest.raises(ValueError, match=re.escape(expected)):
        MultiHeadAttention(8, 2)(np.zeros(shape))


@pytest.mark.parametrize("mask, message", [(np.zeros((3, 4), dtype=bool), r"\(3, 3\).*\(3, 4\)"),
                                           (np.zeros((3, 3), dtype=int), "bool .* or floating"),
                                           (np.full((3, 3), np.nan), "NaN")])
def test_bad_mask(mask, message):
    with pytest.raises(ValueError, match=message):
        MultiHeadAttention(8, 2)(np.zeros((3, 8)), mask=mask)
