"""Reusable pieces of checks: read a value of the kind a lab asks for, or fail with a useful message.

In the spirit of PrairieLearn's ``Feedback.check_numpy_array_allclose``: each helper takes the
student's results and a few words describing the value, and either returns a clean value or
raises ``CheckFailed`` naming what was expected, what was found, and a hint. Labs build their
checks from these; nothing here knows any one lab.
"""

from __future__ import annotations

import json
import math

import numpy as np

from coursekit.checks import CheckFailed
from coursekit.results import LabResults, ModuleState, Problem


def require(results: LabResults, name: str, block: str, what: str):
    """The value of ``name``, or a failure saying that Block ``block`` should define it."""
    value = results.get(name)
    if isinstance(value, Problem):
        if value.missing:
            raise CheckFailed(
                expected=f"Block {block} to leave `{name}` defined ({what})",
                found=f"no variable named `{name}`",
                hint=f"run Block {block} to its end; if it stops with an error, fix that first, and keep the name `{name}`",
            )
        raise CheckFailed(expected=f"`{name}`: {what}", found=f"`{name}` cannot be used: {value.reason}",
                          hint=f"assign {what} to `{name}`")
    return value


def array(results: LabResults, name: str, block: str, what: str, shape: tuple[int, ...], rows: str = "token",
          columns: str = "model dimension") -> np.ndarray:
    """``name`` as a finite float64 array of ``shape``."""
    value = require(results, name, block, what)
    if not isinstance(value, np.ndarray):
        raise CheckFailed(expected=f"`{name}`: {what}", found=f"`{name}` is not an array",
                          hint=f"assign {what} to `{name}`")
    if value.shape != shape:
        raise CheckFailed(expected=f"`{name}` of shape {shape} ({what})", found=f"`{name}` has shape {value.shape}",
                          hint=f"one row per {rows}, one column per {columns}")
    if not np.all(np.isfinite(value)):
        raise CheckFailed(expected=f"`{name}` to hold finite numbers", found=f"`{name}` contains NaN or inf",
                          hint="recompute it from finite inputs")
    return value.astype(np.float64)


def number(results: LabResults, name: str, block: str, what: str) -> float:
    """``name`` as a finite float."""
    value = require(results, name, block, what)
    if not isinstance(value, float) or not math.isfinite(value):
        raise CheckFailed(expected=f"`{name}` to be a finite number", found=f"`{name}` is {value!r:.60}",
                          hint="compute it from finite arrays")
    return value


def module(results: LabResults, name: str, block: str, what: str) -> ModuleState:
    value = require(results, name, block, what)
    if not isinstance(value, ModuleState):
        raise CheckFailed(expected=f"`{name}`: {what}", found=f"`{name}` is not such a layer", hint=f"assign {what} to `{name}`")
    return value


def assert_close(name: str, found: np.ndarray, computed: np.ndarray, expected: str, hint: str, atol: float) -> None:
    """``found`` equals ``computed`` within ``atol``; the failure names the worst row, never the values."""
    difference = np.abs(found - computed)  # same shape as both
    if not difference.max() <= atol:
        row = int(np.unravel_index(np.nanargmax(difference), difference.shape)[0]) if np.any(np.isfinite(difference)) else 0
        raise CheckFailed(expected=expected,
                          found=f"`{name}` differs from that recomputation by up to {difference.max():.3g} (row {row})",
                          hint=hint)


def is_json_number(value) -> bool:
    """A JSON number as json.loads gives it: int or float, not bool (a bool is an int in Python)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def same_number(recorded: float, computed: float, rtol: float, atol: float) -> bool:
    """``recorded`` is ``computed`` as a program writes it: not typed, not rounded."""
    return math.isfinite(recorded) and abs(recorded - computed) <= atol + rtol * abs(computed)


def json_file_object(results: LabResults, filename: str, written_by: str) -> dict:
    """The JSON object in ``filename`` beside the notebook, or a failure saying why there is none."""
    text = results.files.get(filename)
    if text is None:
        raise CheckFailed(expected=f"{filename} beside the notebook, written by {written_by}",
                          found=f"no {filename} there",
                          hint=f"in {written_by}, json.dump(...) into {filename!r} (a relative path) and run the block")
    if isinstance(text, Problem):
        raise CheckFailed(expected=f"{filename} to be a text file holding JSON", found=text.reason,
                          hint="write it with json.dump, as a regular file beside the notebook")
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise CheckFailed(expected=f"{filename} to hold JSON", found=f"it does not parse: {error}",
                          hint="write it with json.dump rather than by hand") from None
    if not isinstance(document, dict):
        raise CheckFailed(expected=f"{filename} to hold a JSON object", found=f"it holds a {type(document).__name__}",
                          hint="dump the dict itself")
    return document


def json_field(document: dict, path: str, hint: str):
    """``document["a"]["b"]`` for ``path`` "a.b", or a failure naming the missing field."""
    value = document
    for key in path.split("."):
        if not isinstance(value, dict) or key not in value:
            raise CheckFailed(expected=f"the field {path}", found=f"{path} is missing", hint=hint)
        value = value[key]
    return value
