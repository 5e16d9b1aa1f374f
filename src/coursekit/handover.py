"""Results as two plain files: a JSON document and a ``.npz`` of arrays (never a pickle).

At grading, the kernel that ran the student's notebook writes, at each test cell, the results the
lab's checks read (``write``); the grading process reads them back (``read``) with
``allow_pickle=False`` and size limits, and runs the checks on them itself. The kernel is not
trusted: whatever it hands over is data, validated here against the lab's ``ResultSpec``, and a
value that does not have the declared kind becomes a ``Problem``, never an exception.

Students' self-checks make the same round trip in memory (``round_trip``), so they see exactly
what the grader will see.

JSON layout::

    {"format": "coursekit-handover/1",
     "values": {"X": {"kind": "array"},                          # its data is npz entry "X"
                "without_pe_max_diff": {"kind": "number", "value": 1.1e-16},
                "manifest": {"kind": "json", "value": {...}},
                "mha": {"kind": "module", "class": "MultiHeadAttention",
                        "attributes": {"d_model": 8, "n_heads": 1},
                        "state_dict": ["in_proj_weight", ...]},  # npz entries "mha::in_proj_weight", ...
                "Y": {"kind": "problem", "message": "...", "params": {...}, "missing": false}},
     "files": {"manifest.json": {"kind": "text", "value": "..."}}}  # or {"kind": "absent"} / a problem
"""

from __future__ import annotations

import functools
import io
import json
import math
import re
from dataclasses import dataclass

import numpy as np

from coursekit.results import LabResults, ModuleState, Problem, ResultSpec, problem

FORMAT = "coursekit-handover/1"
GRADE_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$")  # also a safe file name


@dataclass(frozen=True)
class Limits:
    json_bytes: int = 4 * 2**20
    npz_bytes: int = 16 * 2**20
    array_elements: int = 1_000_000
    array_ndim: int = 4


class HandoverError(ValueError):
    """The handed-over files are not a readable handover; the message says why."""


def _module_key(name: str, parameter: str) -> str:
    return f"{name}::{parameter}"


# -----------------------------------------------------------------------------
# writing (in the kernel)


def encode(results: LabResults) -> tuple[bytes, bytes]:
    """``results`` as (JSON bytes, npz bytes)."""
    values: dict[str, dict] = {}
    arrays: dict[str, np.ndarray] = {}
    for name, value in results.values.items():
        if isinstance(value, Problem):
            values[name] = {"kind": "problem", "message": value.message, "params": dict(value.params),
                            "missing": value.missing}
        elif isinstance(value, np.ndarray):
            values[name] = {"kind": "array"}
            arrays[name] = value
        elif isinstance(value, ModuleState):
            values[name] = {"kind": "module", "class": value.class_name, "attributes": value.attributes,
                            "state_dict": list(value.state_dict)}
            arrays.update({_module_key(name, parameter): array for parameter, array in value.state_dict.items()})
        elif isinstance(value, float):
            values[name] = {"kind": "number", "value": value}
        else:
            values[name] = {"kind": "json", "value": value}
    files = {}
    for filename, text in results.files.items():
        if text is None:
            files[filename] = {"kind": "absent"}
        elif isinstance(text, Problem):
            files[filename] = {"kind": "problem", "message": text.message, "params": dict(text.params)}
        else:
            files[filename] = {"kind": "text", "value": text}
    document = json.dumps({"format": FORMAT, "values": values, "files": files}, allow_nan=True).encode("utf-8")
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return document, buffer.getvalue()


def file_names(grade_id: str) -> tuple[str, str]:
    if not GRADE_ID.match(grade_id):
        raise ValueError(f"{grade_id!r} cannot name a handover: use letters, digits, '_', '.' and '-'")
    return f"{grade_id}.json", f"{grade_id}.npz"


# -----------------------------------------------------------------------------
# reading (in the grader)


@functools.lru_cache(maxsize=16)  # successive test cells mostly hand over the same arrays
def _load_arrays(npz: bytes, limits: Limits) -> dict[str, np.ndarray]:
    if len(npz) > limits.npz_bytes:
        raise HandoverError(f"the arrays take {len(npz):,} bytes, more than the {limits.npz_bytes:,} allowed")
    try:
        arrays = {}
        with np.load(io.BytesIO(npz), allow_pickle=False) as archive:
            declared = sum(info.file_size for info in archive.zip.infolist())
            if declared > limits.npz_bytes:  # a compressed archive that would unpack into far more
                raise HandoverError(f"the arrays unpack to {declared:,} bytes, more than the {limits.npz_bytes:,} allowed")
            for key in archive.files:
                arrays[key] = archive[key]
                arrays[key].flags.writeable = False  # shared by every decode of the same bytes
    except HandoverError:
        raise
    except Exception as error:  # noqa: BLE001 — a malformed archive can fail in many ways
        raise HandoverError(f"the arrays are not a readable .npz ({type(error).__name__}: {error})") from None
    return arrays


def _checked_array(array: np.ndarray, limits: Limits) -> np.ndarray | Problem:
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool) \
            or np.iscomplexobj(array):
        return problem("it was handed over as {dtype} values, not real numbers", dtype=array.dtype)
    if array.ndim > limits.array_ndim or array.size > limits.array_elements:
        return problem("it has shape {shape}, far larger than anything this lab computes", shape=array.shape)
    return np.array(array, copy=True)


def _value(name: str, entry, arrays: dict[str, np.ndarray], spec: ResultSpec, limits: Limits):
    malformed = problem("its handed-over value was malformed")
    if not isinstance(entry, dict):
        return malformed
    kind = entry.get("kind")
    if kind == "problem":
        return _problem(entry)
    if name in spec.arrays and kind == "array" and name in arrays:
        return _checked_array(arrays[name], limits)
    if name in spec.numbers and kind == "number":
        number = entry.get("value")
        if isinstance(number, (int, float)) and not isinstance(number, bool):
            return float(number)
        return malformed
    if name in spec.json_values and kind == "json":
        return entry.get("value")
    if name in spec.modules and kind == "module":
        attributes, parameters = entry.get("attributes"), entry.get("state_dict")
        if not (isinstance(attributes, dict) and isinstance(parameters, list) and isinstance(entry.get("class"), str)):
            return malformed
        if set(attributes) != set(spec.modules[name]) or not all(
                isinstance(value, int) and not isinstance(value, bool) for value in attributes.values()):
            return malformed
        state_dict = {}
        for parameter in parameters:
            key = _module_key(name, str(parameter))
            if key not in arrays:
                return malformed
            array = _checked_array(arrays[key], limits)
            if isinstance(array, Problem):
                return array
            state_dict[str(parameter)] = array.astype(np.float64)
        return ModuleState(entry["class"][:100], dict(attributes), state_dict)
    return malformed


def _file(entry) -> str | Problem | None:
    if isinstance(entry, dict):
        if entry.get("kind") == "absent":
            return None
        if entry.get("kind") == "text" and isinstance(entry.get("value"), str):
            return entry["value"]
        if entry.get("kind") == "problem":
            return _problem(entry)
    return problem("its handed-over content was malformed")


def _problem(entry: dict) -> Problem:
    """A problem the kernel reported: its message and parameters as plain, bounded text (``Problem.reason``
    formats only the messages it knows)."""
    message, params = entry.get("message"), entry.get("params")
    if not isinstance(message, str) or not isinstance(params, dict):
        return problem("its handed-over value was malformed")
    return Problem(message[:500], {str(name)[:50]: str(value)[:500] for name, value in list(params.items())[:10]},
                   entry.get("missing") is True)


def decode(document: bytes, npz: bytes, spec: ResultSpec, limits: Limits = Limits()) -> LabResults:
    """Read a handover back, keeping only what ``spec`` declares; raise ``HandoverError`` if unreadable."""
    if len(document) > limits.json_bytes:
        raise HandoverError(f"the JSON takes {len(document):,} bytes, more than the {limits.json_bytes:,} allowed")
    try:
        parsed = json.loads(document.decode("utf-8"))
    except Exception as error:  # noqa: BLE001 — UnicodeDecodeError, JSONDecodeError, RecursionError, ValueError
        raise HandoverError(f"the JSON does not parse ({type(error).__name__})") from None
    if not isinstance(parsed, dict) or parsed.get("format") != FORMAT:
        raise HandoverError(f"the JSON is not a {FORMAT} document")
    entries, file_entries = parsed.get("values"), parsed.get("files")
    if not isinstance(entries, dict) or not isinstance(file_entries, dict):
        raise HandoverError("the JSON lacks its values and files")
    arrays = _load_arrays(npz, limits)
    values = {name: _value(name, entries[name], arrays, spec, limits) for name in spec.names() if name in entries}
    files = {filename: _file(file_entries.get(filename, {"kind": "absent"})) for filename in spec.files}
    return LabResults(values, files)


def round_trip(results: LabResults, spec: ResultSpec) -> LabResults:
    """What the grader would read from ``results``: encode, then decode."""
    decoded = decode(*encode(results), spec, Limits(json_bytes=math.inf, npz_bytes=math.inf))
    decoded.runtime_versions = dict(results.runtime_versions)
    return decoded
