"""Property tests: attention is permutation-equivariant; sinusoidal PE breaks it.

Theorem (self-attention without positions is permutation-equivariant): for any permutation p of
the T tokens, f(X[p]) == f(X)[p], because the scores of the permuted input are the original
scores with rows and columns permuted alike, the row-wise softmax commutes with that, and every
other step acts row by row.

With sinusoidal PE added before attention, f(X[p] + PE) != f(X + PE)[p] for any non-identity p:
a moved token is now added a different PE row than before. The conditions under which the
difference is reliably above 1e-3, which these tests state and hold to:
- d_model >= 4: PE rows differ in at least two frequencies; with d_model = 2 only the
  fastest frequency separates positions, and it takes close values for positions ~2*pi*k apart;
- T <= 16: positions 0..15 keep distinct PE rows far apart (with d_model >= 4, max-abs
  distance above 0.2 for every pair);
- token embeddings and weights of order 1 (standard normal X, the layer's own initialisation):
  a layer with (near-)zero value or output projections maps every input to (nearly) the same row.
"""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from minimodel import MultiHeadAttention, sinusoidal_pe

HEADS_OF = {4: [1, 2, 4], 6: [1, 2, 3], 8: [1, 2, 4, 8], 12: [1, 3, 4], 16: [1, 2, 4, 8], 32: [1, 4, 8]}


@st.composite
def attention_setups(draw, min_T=1, min_d_model=2):
    d_model = draw(st.sampled_from([d for d in [2, *HEADS_OF] if d >= min_d_model]))
    n_heads = draw(st.sampled_from(HEADS_OF.get(d_model, [1, 2])))
    T = draw(st.integers(min_value=min_T, max_value=16))
    batch = draw(st.one_of(st.none(), st.integers(min_value=1, max_value=3)))
    layer_seed = draw(st.integers(min_value=0, max_value=2**32 - 1))
    data_seed = draw(st.integers(min_value=0, max_value=2**32 - 1))
    permutation = np.array(draw(st.permutations(range(T))))
    X = np.random.default_rng(data_seed).standard_normal((T, d_model) if batch is None else (batch, T, d_model))
    return MultiHeadAttention(d_model, n_heads, seed=layer_seed), X, permutation


def permute_tokens(array, permutation):
    return array[..., permutation, :]  # the token axis is second to last in (T, E) and (B, T, E)


@settings(max_examples=200, deadline=None)
@given(attention_setups())
def test_attention_without_pe_is_permutation_equivariant(setup):
    mha, X, p = setup
    np.testing.assert_allclose(mha(permute_tokens(X, p)), permute_tokens(mha(X), p), rtol=0, atol=1e-10)


@settings(max_examples=200, deadline=None)
@given(attention_setups(min_T=2, min_d_model=4))
def test_sinusoidal_pe_breaks_equivariance_for_non_identity_permutations(setup):
    mha, X, p = setup
    if np.array_equal(p, np.arange(len(p))):
        p = np.roll(p, 1)  # the identity trivially commutes; test a real permutation instead
    T, d_model = X.shape[-2], X.shape[-1]
    pe = sinusoidal_pe(T, d_model)  # (T, E), broadcast over the batch
    with_pe_diff = np.abs(mha(permute_tokens(X, p) + pe) - permute_tokens(mha(X + pe), p)).max()
    assert with_pe_diff > 1e-3


def test_stated_pe_condition_holds_distinct_rows_are_far_apart():
    for d_model in (4, 6, 8, 12, 16, 32):
        pe = sinusoidal_pe(16, d_model)
        distances = np.abs(pe[:, None, :] - pe[None, :, :]).max(axis=-1)  # (T, T)
        assert distances[~np.eye(16, dtype=bool)].min() > 0.2


@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_the_lab_configuration_is_equivariant_without_pe_and_not_with_it(data_seed):
    mha = MultiHeadAttention(d_model=8, n_heads=1, seed=0)
    X = np.random.default_rng(data_seed).standard_normal((3, 8))
    p = [2, 0, 1]
    assert np.abs(mha(X[p]) - mha(X)[p]).max() < 1e-10
    pe = sinusoidal_pe(3, 8)
    assert np.abs(mha(X[p] + pe) - mha(X + pe)[p]).max() > 1e-3
