"""A student's Lab 00 results as plain data: the one place that reads a live notebook namespace.

``collect(namespace, notebook_dir)`` copies what Blocks A–E leave defined (arrays, numbers, the
manifest dict and the manifest.json file beside the notebook) into a ``LabResults``, turning
every value into numpy arrays, floats, dicts and strings. The checks read only this, so they can
later run on results serialised from the kernel, in a process the student's code never ran in.
A name that is absent, or cannot be read as the kind of value the lab asks for, is kept as a
``Problem`` saying why, so each check can report it in its own words.
"""

from __future__ import annotations

import json
import numbers
import platform
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ARRAY_NAMES = ("token_ids", "X", "Y", "X_perm", "Y_perm", "pe", "Y_pe", "Y_perm_pe")
NUMBER_NAMES = ("without_pe_max_diff", "with_pe_max_diff")
MANIFEST_FILENAME = "manifest.json"


@dataclass(frozen=True)
class Problem:
    """Why a name could not be read: ``missing`` when the notebook never defined it."""

    reason: str
    missing: bool = False


@dataclass
class LabResults:
    values: dict[str, object] = field(default_factory=dict)  # name -> array | float | dict | Problem
    manifest_file_text: str | None = None  # manifest.json beside the notebook, None if absent
    runtime_versions: dict[str, str] = field(default_factory=dict)  # of the kernel that ran the notebook

    def get(self, name: str):
        return self.values.get(name, Problem("missing", missing=True))


def _read_array(value) -> np.ndarray | Problem:
    try:
        array = np.asarray(value)
    except Exception as error:  # any object a student may leave behind
        return Problem(f"it could not be read as an array ({type(error).__name__}: {error})")
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        return Problem(f"it is a {type(value).__name__} holding {array.dtype} values, not numbers")
    return array.copy()


def _read_number(value) -> float | Problem:
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value[()]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        return Problem(f"it is a {type(value).__name__} ({value!r:.80}), not a number")
    return float(value)


def _read_layer(value) -> dict | Problem:
    try:
        state_dict = {name: np.array(array, dtype=np.float64) for name, array in value.state_dict().items()}
        return {"class": type(value).__name__, "d_model": value.d_model, "n_heads": value.n_heads,
                "state_dict": state_dict}
    except Exception as error:
        return Problem(f"it is a {type(value).__name__} without the d_model, n_heads and state_dict() "
                       f"of a MultiHeadAttention ({type(error).__name__}: {error})")


def _read_manifest(value) -> dict | Problem:
    if not isinstance(value, dict):
        return Problem(f"it is a {type(value).__name__}, not a dict")
    try:
        return json.loads(json.dumps(value, allow_nan=True))  # exactly what json.dump would write
    except (TypeError, ValueError) as error:
        return Problem(f"it cannot be written as JSON ({error})")


def collect(namespace: dict, notebook_dir: str | Path) -> LabResults:
    """Read a notebook's variables and its manifest.json into plain data."""
    values: dict[str, object] = {}
    for name in ARRAY_NAMES:
        if name in namespace:
            values[name] = _read_array(namespace[name])
    for name in NUMBER_NAMES:
        if name in namespace:
            values[name] = _read_number(namespace[name])
    if "mha" in namespace:
        values["mha"] = _read_layer(namespace["mha"])
    if "manifest" in namespace:
        values["manifest"] = _read_manifest(namespace["manifest"])

    manifest_path = Path(notebook_dir) / MANIFEST_FILENAME
    try:
        manifest_text = manifest_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        manifest_text = None
    except (OSError, UnicodeDecodeError) as error:
        manifest_text = f"<unreadable: {error}>"
    return LabResults(values, manifest_text, {"python": platform.python_version(), "numpy": np.__version__})
