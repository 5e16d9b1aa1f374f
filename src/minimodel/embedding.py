"""Token embedding (course Phase 13): a lookup table from token ids to float64 vectors.

    >>> emb = Embedding(vocab_size=10, d_model=4, seed=0)
    >>> emb([1, 2, 3]).shape
    (3, 4)

The table is drawn from ``np.random.default_rng(seed).standard_normal`` (PyTorch's ``nn.Embedding``
also starts from N(0, 1)), so the same seed always gives the same table. The table is exposed as
``weight`` under PyTorch's name. Deliberately left out: padding ids, max-norm renormalisation,
gradients.
"""

from __future__ import annotations

import numpy as np


def _as_id_array(ids, vocab_size: int) -> np.ndarray:
    """``ids`` as an int64 array of shape (T,) or (B, T), after checking every id."""
    array = np.asarray(ids)
    if array.size == 0:
        array = array.astype(np.int64)  # np.asarray([]) is float64; an empty sequence is fine
    if array.dtype == bool or not np.issubdtype(array.dtype, np.integer):
        flat = array.reshape(-1).tolist()
        # name the first value that is not a whole number, or else the first value
        first_bad = next((v for v in flat if not isinstance(v, (int, float)) or isinstance(v, bool)
                          or not float(v).is_integer()), flat[0])
        raise TypeError(
            f"token ids must be integers in 0..{vocab_size - 1} (vocab_size {vocab_size}), got {first_bad!r} "
            f"(array dtype {array.dtype}); pass the ids returned by a tokenizer's encode()"
        )
    if array.ndim not in (1, 2):
        raise ValueError(f"token ids must have shape (T,) or (B, T), got shape {array.shape}")
    array = array.astype(np.int64)
    out_of_range = array[(array < 0) | (array >= vocab_size)]
    if out_of_range.size:
        raise IndexError(
            f"token id {out_of_range.flat[0]} is outside the vocabulary "
            f"(vocab_size {vocab_size}: valid ids are 0..{vocab_size - 1})"
        )
    return array


class Embedding:
    """``weight[ids]``: a (vocab_size, d_model) table of float64 vectors, one row per token id."""

    def __init__(self, vocab_size: int, d_model: int, seed: int = 0):
        for name, value in (("vocab_size", vocab_size), ("d_model", d_model)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        self.vocab_size = int(vocab_size)
        self.d_model = int(d_model)
        self.seed = seed
        rng = np.random.default_rng(seed)
        self.weight = rng.standard_normal((self.vocab_size, self.d_model))  # (V, E)

    def forward(self, ids) -> np.ndarray:
        """The vectors of ``ids``: (T,) -> (T, d_model), (B, T) -> (B, T, d_model), float64."""
        id_array = _as_id_array(ids, self.vocab_size)  # (T,) or (B, T)
        return self.weight[id_array]  # (T, E) or (B, T, E)

    __call__ = forward

    def __repr__(self) -> str:
        return f"Embedding(vocab_size={self.vocab_size}, d_model={self.d_model}, seed={self.seed!r})"
