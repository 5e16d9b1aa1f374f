"""MultiHeadAttention equals torch.nn.MultiheadAttention, through committed golden vectors.

tests/golden/attention_torch.npz was written by scripts/make_attention_golden.py from PyTorch
(float64, batch_first=True, the same state_dict, average_attn_weights=False). The golden check
always runs; when torch is importable the reference is also recomputed live, so a stale golden
file cannot hide a difference.
"""

import json
from pathlib import Path

import numpy as np
import pytest

from minimodel import MultiHeadAttention
from minimodel.attention import PARAMETER_NAMES

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "attention_torch.npz"
TOLERANCE = 1e-12


def load_cases():
    with np.load(GOLDEN) as golden:
        arrays = {key: golden[key] for key in golden.files}
    meta = json.loads(str(arrays.pop("meta")))
    cases = []
    for case in meta["cases"]:
        name = case["name"]
        cases.append({
            **case,
            "mask_kind": case["mask"],
            "X": arrays[f"{name}/X"],
            "mask": arrays.get(f"{name}/mask"),
            "output": arrays[f"{name}/output"],
            "weights": arrays[f"{name}/weights"],
            "state_dict": {param: arrays[f"{name}/sd/{param}"] for param in PARAMETER_NAMES},
        })
    return meta, cases


META, CASES = load_cases()


def ours(case):
    mha = MultiHeadAttention(case["d_model"], case["n_heads"], seed=0)
    mha.load_state_dict(case["state_dict"])
    return mha.forward(case["X"], mask=case["mask"], return_weights=True)


def test_golden_file_covers_masks_heads_and_batches():
    assert META["torch"].startswith("2.")
    assert {case["mask_kind"] for case in CASES} >= {"none", "causal_bool", "float"}
    assert {case["n_heads"] for case in CASES} >= {1, 2, 3, 4}
    assert any(case["B"] is None for case in CASES) and any(case["B"] is not None and case["B"] > 1 for case in CASES)


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_output_and_per_head_weights_equal_torch_golden(case):
    output, weights = ours(case)
    assert output.shape == case["output"].shape and weights.shape == case["weights"].shape
    np.testing.assert_allclose(output, case["output"], rtol=0, atol=TOLERANCE)
    np.testing.assert_allclose(weights, case["weights"], rtol=0, atol=TOLERANCE)


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_output_equals_torch_recomputed_live(case):
    torch = pytest.importorskip("torch", reason="torch is not installed: `make test-torch` runs this check")
    E, H = case["d_model"], case["n_heads"]
    layer = torch.nn.MultiheadAttention(E, H, batch_first=True, dtype=torch.float64).eval()
    layer.load_state_dict({name: torch.from_numpy(array) for name, array in case["state_dict"].items()})
    x = torch.from_numpy(case["X"])
    mask = None if case["mask"] is None else torch.from_numpy(case["mask"])
    with torch.no_grad():
        expected_output, expected_weights = layer(x, x, x, attn_mask=mask, need_weights=True,
                                                  average_attn_weights=False)
    output, weights = ours(case)
    np.testing.assert_allclose(output, expected_output.numpy(), rtol=0, atol=TOLERANCE)
    np.testing.assert_allclose(weights, expected_weights.numpy(), rtol=0, atol=TOLERANCE)
