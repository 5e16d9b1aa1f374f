"""Sinusoidal positional encoding of "Attention Is All You Need" (Vaswani et al., 2017, §3.5).

    PE[pos, 2i]     = sin(pos / base^(2i / d_model))
    PE[pos, 2i + 1] = cos(pos / base^(2i / d_model))

The layout is the paper's interleaved one (sin in even columns, cos in odd columns), not the
concatenated [sin | cos] layout some libraries use. For an odd ``d_model`` the last column,
index d_model - 1 = 2i, is a sine whose cosine partner would fall outside the matrix and is
dropped; every other column is as in the formula.

    >>> pe = sinusoidal_pe(2, 4)
    >>> bool(pe[1, 0] == np.sin(1.0)) and bool(pe[1, 1] == np.cos(1.0))
    True

Deliberately left out: learned or relative encodings, and any scaling of the token embeddings.
"""

from __future__ import annotations

import numpy as np


def _check_integer(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return int(value)


def sinusoidal_pe(T: int, d_model: int, base: float = 10000.0) -> np.ndarray:
    """The (T, d_model) float64 matrix of positional encodings for positions 0..T-1."""
    T = _check_integer("T", T, 0)
    d_model = _check_integer("d_model", d_model, 1)
    if not np.isfinite(base) or base <= 0:
        raise ValueError(f"base must be a positive finite number, got {base!r}")

    positions = np.arange(T, dtype=np.float64)[:, None]  # (T, 1)
    even_columns = np.arange(0, d_model, 2, dtype=np.float64)  # (ceil(d/2),): the 2i of the formula
    angles = positions / np.power(float(base), even_columns / d_model)  # (T, ceil(d/2))

    pe = np.empty((T, d_model), dtype=np.float64)  # (T, d)
    pe[:, 0::2] = np.sin(angles)  # (T, ceil(d/2))
    pe[:, 1::2] = np.cos(angles[:, : d_model // 2])  # (T, floor(d/2)); odd d drops the last cosine
    return pe
