"""Regenerate tests/golden/attention_torch.npz: PyTorch's multi-head attention on fixed inputs.

Needs torch (a CPU build is enough) and numpy; never minimodel, so the reference owes nothing to
the code it checks. Every case draws an input X, a state_dict with non-zero biases and, where
the case has one, a mask, from a seeded numpy generator; loads the state_dict into
``torch.nn.MultiheadAttention(E, H, batch_first=True)`` in float64; and records the output and the
per-head weights (``average_attn_weights=False``).

    make golden            # or: python scripts/make_attention_golden.py [output.npz]

The file holds, per case ``<name>``: ``<name>/X``, ``<name>/mask`` (absent when no mask),
``<name>/output``, ``<name>/weights`` and the four state_dict arrays as ``<name>/sd/<param>``;
plus ``meta`` (JSON: torch and numpy versions, the list of cases).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch

DEFAULT_OUTPUT = Path(__file__).resolve().parents[1] / "tests" / "golden" / "attention_torch.npz"

# (name, B or None for an unbatched input, T, d_model, n_heads, mask kind)
CASES = [
    ("lab_unbatched_T3_E8_H1", None, 3, 8, 1, "none"),
    ("B1_T3_E8_H1", 1, 3, 8, 1, "none"),
    ("B2_T5_E8_H2", 2, 5, 8, 2, "none"),
    ("B3_T4_E12_H3", 3, 4, 12, 3, "none"),
    ("B2_T7_E16_H4", 2, 7, 16, 4, "none"),
    ("B2_T6_E16_H16", 2, 6, 16, 16, "none"),
    ("B1_T1_E4_H2", 1, 1, 4, 2, "none"),
    ("B2_T5_E8_H2_causal", 2, 5, 8, 2, "causal_bool"),
    ("B3_T6_E12_H4_causal", 3, 6, 12, 4, "causal_bool"),
    ("unbatched_T4_E8_H2_causal", None, 4, 8, 2, "causal_bool"),
    ("B2_T5_E8_H2_float", 2, 5, 8, 2, "float"),
    ("B2_T6_E12_H3_float_neginf", 2, 6, 12, 3, "float_with_neginf"),
]


def make_mask(kind: str, T: int, rng: np.random.Generator):
    if kind == "none":
        return None
    if kind == "causal_bool":
        return np.triu(np.ones((T, T), dtype=bool), k=1)  # True above the diagonal blocks the future
    if kind == "float":
        return rng.normal(0.0, 2.0, size=(T, T))
    if kind == "float_with_neginf":
        mask = rng.normal(0.0, 2.0, size=(T, T))
        mask[np.triu(np.ones((T, T), dtype=bool), k=2)] = -np.inf  # some blocked keys, never a whole row
        return mask
    raise ValueError(f"unknown mask kind {kind!r}")


def run_case(index: int, B, T: int, E: int, H: int, mask_kind: str) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1000 + index)
    shape = (T, E) if B is None else (B, T, E)
    X = rng.normal(0.0, 1.0, size=shape)
    state_dict = {
        "in_proj_weight": rng.normal(0.0, 0.5, size=(3 * E, E)),
        "in_proj_bias": rng.normal(0.0, 0.5, size=(3 * E,)),
        "out_proj.weight": rng.normal(0.0, 0.5, size=(E, E)),
        "out_proj.bias": rng.normal(0.0, 0.5, size=(E,)),
    }
    mask = make_mask(mask_kind, T, rng)

    layer = torch.nn.MultiheadAttention(E, H, batch_first=True, dtype=torch.float64)
    layer.load_state_dict({name: torch.from_numpy(array) for name, array in state_dict.items()})
    layer.eval()
    x = torch.from_numpy(X)
    attn_mask = None if mask is None else torch.from_numpy(mask)
    with torch.no_grad():
        output, weights = layer(x, x, x, attn_mask=attn_mask, need_weights=True, average_attn_weights=False)

    arrays = {"X": X, "output": output.numpy(), "weights": weights.numpy()}
    if mask is not None:
        arrays["mask"] = mask
    arrays.update({f"sd/{name}": array for name, array in state_dict.items()})
    return arrays


def generate() -> dict[str, np.ndarray]:
    torch.use_deterministic_algorithms(True)
    everything: dict[str, np.ndarray] = {}
    case_list = []
    for index, (name, B, T, E, H, mask_kind) in enumerate(CASES):
        for key, array in run_case(index, B, T, E, H, mask_kind).items():
            everything[f"{name}/{key}"] = array
        case_list.append({"name": name, "B": B, "T": T, "d_model": E, "n_heads": H, "mask": mask_kind})
    meta = {"torch": torch.__version__, "numpy": np.__version__, "cases": case_list}
    everything["meta"] = np.array(json.dumps(meta))
    return everything


def main(argv: list[str]) -> None:
    output = Path(argv[1]) if len(argv) > 1 else DEFAULT_OUTPUT
    output.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(output, **generate())
    print(f"wrote {len(CASES)} cases from torch {torch.__version__} to {output}")


if __name__ == "__main__":
    main(sys.argv)
