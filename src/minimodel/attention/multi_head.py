"""Multi-head self-attention (course Phase 15), numerically identical to PyTorch's.

    >>> mha = MultiHeadAttention(d_model=8, n_heads=2, seed=0)
    >>> X = np.zeros((3, 8))
    >>> mha.forward(X).shape
    (3, 8)

Computes ``torch.nn.MultiheadAttention(E, H, batch_first=True)(X, X, X)`` in float64 numpy, with
the same parameter names and layout (``in_proj_weight`` (3E, E), ``in_proj_bias`` (3E,),
``out_proj.weight`` (E, E), ``out_proj.bias`` (E,)), so ``state_dict()`` moves weights between the
two without a translation table. Vectorised over batch and heads.

Masks follow ``attn_mask`` of ``nn.MultiheadAttention``: a bool (T, T) mask where True means
"query t may not attend to key s", or a float (T, T) mask added to the scaled scores (use -inf to
block). A query row whose keys are all blocked attends to nothing: its weights are all zero and
its output is ``out_proj.bias`` (PyTorch returns NaN there; we prefer a finite, documented value).

Initialisation mirrors PyTorch's scheme, drawn from ``np.random.default_rng(seed)``:
``in_proj_weight`` Xavier-uniform, ``out_proj.weight`` uniform in ±1/sqrt(E), biases zero.

Deliberately left out: separate query/key/value inputs (this is self-attention), key padding
masks, 3-D per-head masks, dropout, ``bias_k``/``bias_v``/``add_zero_attn``, gradients.
"""

from __future__ import annotations

import numpy as np

PARAMETER_NAMES = ("in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias")


# -----------------------------------------------------------------------------
# helpers


def masked_softmax(scores: np.ndarray) -> np.ndarray:
    """Softmax over the last axis that stays finite: a row of only -inf gives all-zero weights."""
    row_max = scores.max(axis=-1, keepdims=True)  # (..., T, 1)
    row_max[np.isneginf(row_max)] = 0.0  # a fully blocked row stays all -inf, so its exps are all 0
    weights = scores - row_max  # (..., T, T); the largest entry of a row is 0, so exp cannot overflow
    np.exp(weights, out=weights)  # in place: these arrays are the largest the layer makes
    totals = weights.sum(axis=-1, keepdims=True)  # (..., T, 1)
    totals[totals == 0.0] = 1.0  # only fully blocked rows sum to 0; their weights stay 0
    weights /= totals
    return weights


def _additive_mask(mask, T: int) -> np.ndarray:
    """A (T, T) float mask to add to the scores, from a bool or float ``attn_mask``."""
    mask = np.asarray(mask)
    if mask.shape != (T, T):
        raise ValueError(f"mask must have shape (T, T) = ({T}, {T}) for this input, got {mask.shape}")
    if mask.dtype == bool:
        return np.where(mask, -np.inf, 0.0)  # (T, T); True blocks, as in PyTorch
    if np.issubdtype(mask.dtype, np.floating):
        if np.isnan(mask).any() or np.isposinf(mask).any():
            raise ValueError("a float mask must hold finite values or -inf, found NaN or +inf")
        return mask.astype(np.float64)  # (T, T)
    raise ValueError(
        f"mask must be bool (True blocks) or floating (added to the scores), got dtype {mask.dtype}; "
        "for a 0/1 mask, pass mask.astype(bool)"
    )


# -----------------------------------------------------------------------------
# the layer


class MultiHeadAttention:
    """Self-attention with ``n_heads`` heads of size ``d_model // n_heads``."""

    def __init__(self, d_model: int, n_heads: int, seed: int = 0):
        for name, value in (("d_model", d_model), ("n_heads", n_heads)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if d_model % n_heads:
            raise ValueError(
                f"d_model must be divisible by n_heads, got d_model={d_model}, n_heads={n_heads}; "
                f"choose n_heads among the divisors of {d_model}"
            )
        self.d_model = int(d_model)
        self.n_heads = int(n_heads)
        self.head_dim = self.d_model // self.n_heads
        self.seed = seed
        E = self.d_model
        rng = np.random.default_rng(seed)
        xavier_bound = np.sqrt(6.0 / (E + 3 * E))  # fan_in E, fan_out 3E, as torch's xavier_uniform_
        linear_bound = 1.0 / np.sqrt(E)  # torch's nn.Linear default for a weight of fan_in E
        self.in_proj_weight = rng.uniform(-xavier_bound, xavier_bound, size=(3 * E, E))  # (3E, E)
        self.in_proj_bias = np.zeros(3 * E)  # (3E,)
        self.out_proj_weight = rng.uniform(-linear_bound, linear_bound, size=(E, E))  # (E, E)
        self.out_proj_bias = np.zeros(E)  # (E,)

    # --- weights, under PyTorch's names ---

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of the weights under ``nn.MultiheadAttention``'s names."""
        return {
            "in_proj_weight": self.in_proj_weight.copy(),
            "in_proj_bias": self.in_proj_bias.copy(),
            "out_proj.weight": self.out_proj_weight.copy(),
            "out_proj.bias": self.out_proj_bias.copy(),
        }

    def load_state_dict(self, state_dict) -> None:
        """Take weights from a ``state_dict()`` (ours, or PyTorch's converted with ``.numpy()``)."""
        E = self.d_model
        expected_shapes = {
            "in_proj_weight": (3 * E, E),
            "in_proj_bias": (3 * E,),
            "out_proj.weight": (E, E),
            "out_proj.bias": (E,),
        }
        missing = [name for name in expected_shapes if name not in state_dict]
        unexpected = [name for name in state_dict if name not in expected_shapes]
        if missing or unexpected:
            raise ValueError(
                f"state_dict keys must be exactly {list(expected_shapes)}; missing {missing}, unexpected {unexpected}"
            )
        arrays = {}
        for name, shape in expected_shapes.items():
            array = np.array(state_dict[name], dtype=np.float64)  # a copy, never a view of the caller's data
            if array.shape != shape:
                raise ValueError(f"state_dict[{name!r}] must have shape {shape} for d_model={E}, got {array.shape}")
            arrays[name] = array
        self.in_proj_weight = arrays["in_proj_weight"]
        self.in_proj_bias = arrays["in_proj_bias"]
        self.out_proj_weight = arrays["out_proj.weight"]
        self.out_proj_bias = arrays["out_proj.bias"]

    # --- the forward pass ---

    def forward(self, X, mask=None, return_weights: bool = False):
        """Self-attention of ``X`` (T, E) or (B, T, E); returns the output of X's shape.

        With ``return_weights=True`` returns ``(output, weights)``, the per-head attention weights
        of shape (B, H, T, T), or (H, T, T) for an unbatched X.
        """
        X = np.asarray(X)
        if not (np.issubdtype(X.dtype, np.floating) or np.issubdtype(X.dtype, np.integer)) or X.dtype == bool:
            raise ValueError(f"X must hold real numbers, got dtype {X.dtype}")
        unbatched = X.ndim == 2
        if X.ndim not in (2, 3) or X.shape[-1] != self.d_model:
            raise ValueError(
                f"X must have shape (T, d_model) or (B, T, d_model) with d_model={self.d_model}, got {X.shape}"
            )
        X = X.astype(np.float64)
        if unbatched:
            X = X[None]  # (1, T, E)
        B, T, E = X.shape
        H, D = self.n_heads, self.head_dim

        qkv = X @ self.in_proj_weight.T + self.in_proj_bias  # (B, T, 3E)
        q, k, v = np.split(qkv, 3, axis=-1)  # each (B, T, E)
        q = q.reshape(B, T, H, D).transpose(0, 2, 1, 3)  # (B, H, T, D)
        k = k.reshape(B, T, H, D).transpose(0, 2, 1, 3)  # (B, H, T, D)
        v = v.reshape(B, T, H, D).transpose(0, 2, 1, 3)  # (B, H, T, D)

        scores = (q / np.sqrt(D)) @ k.transpose(0, 1, 3, 2)  # (B, H, T, T); scaled per head, as torch
        if mask is not None:
            scores = scores + _additive_mask(mask, T)  # (B, H, T, T)
        weights = masked_softmax(scores)  # (B, H, T, T)

        heads = weights @ v  # (B, H, T, D)
        concatenated = heads.transpose(0, 2, 1, 3).reshape(B, T, E)  # (B, T, E)
        output = concatenated @ self.out_proj_weight.T + self.out_proj_bias  # (B, T, E)

        if unbatched:
            output, weights = output[0], weights[0]  # (T, E), (H, T, T)
        return (output, weights) if return_weights else output

    __call__ = forward

    def __repr__(self) -> str:
        return f"MultiHeadAttention(d_model={self.d_model}, n_heads={self.n_heads}, seed={self.seed!r})"
