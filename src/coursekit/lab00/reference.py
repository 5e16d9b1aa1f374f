"""What correct code computes for Lab 00, from the lab's own constants and the minimodel library.

The checks compare a student's arrays with these recomputations. They start from the student's
own ``X`` where the lab's step starts from X, so one wrong block does not cost the points of the
blocks after it.
"""

from __future__ import annotations

import numpy as np

from minimodel import Embedding, MultiHeadAttention, default_tokenizer, sinusoidal_pe

EXPERIMENT = "16-permutation-equivariance"
SENTENCE = "he work I"
PERMUTATION = [2, 0, 1]  # X[[2, 0, 1]]: rows 2, 0, 1 of X, in that order
D_MODEL, N_HEADS, T, SEED = 8, 1, 3, 0
PE_SCHEME = "sinusoidal"
WITHOUT_PE_THRESHOLD = 1e-6  # the without-PE diff must be below this
WITH_PE_THRESHOLD = 1e-3  # the with-PE diff must be above this


def tokenizer():
    return default_tokenizer()


def embed(token_ids) -> np.ndarray:
    """``Embedding(vocab_size, 8, seed=0)`` applied to ``token_ids``: (3,) -> (3, 8)."""
    return Embedding(tokenizer().vocab_size, D_MODEL, seed=SEED)(token_ids)


def layer() -> MultiHeadAttention:
    return MultiHeadAttention(d_model=D_MODEL, n_heads=N_HEADS, seed=SEED)


def positional_encoding() -> np.ndarray:
    return sinusoidal_pe(T, D_MODEL)  # (3, 8)


def max_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b)))


def recompute(X: np.ndarray) -> dict[str, object]:
    """Blocks B and C, done right, from the student's X (3, 8)."""
    mha, pe = layer(), positional_encoding()
    X_perm = X[PERMUTATION]  # (3, 8): tokens reordered
    Y, Y_perm = mha.forward(X), mha.forward(X_perm)  # (3, 8) each
    Y_pe, Y_perm_pe = mha.forward(X + pe), mha.forward(X_perm + pe)  # (3, 8) each; PE before attention
    return {
        "X_perm": X_perm, "Y": Y, "Y_perm": Y_perm,
        "without_pe_max_diff": max_abs_diff(Y_perm, Y[PERMUTATION]),
        "pe": pe, "Y_pe": Y_pe, "Y_perm_pe": Y_perm_pe,
        "with_pe_max_diff": max_abs_diff(Y_perm_pe, Y_pe[PERMUTATION]),
    }
