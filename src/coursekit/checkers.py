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
from coursekit.i18n import _
from coursekit.results import LabResults, ModuleState, Problem


def require(results: LabResults, name: str, block: str, what: str):
    """The value of ``name``, or a failure saying that Block ``block`` should define it."""
    value = results.get(name)
    if isinstance(value, Problem):
        if value.missing:
            raise CheckFailed(
                expected=_("Block {block} to leave `{name}` defined ({what})").format(block=block, name=name, what=what),
                found=_("no variable named `{name}`").format(name=name),
                hint=_("run Block {block} to its end; if it stops with an error, fix that first, and keep the name "
                       "`{name}`").format(block=block, name=name),
            )
        raise CheckFailed(expected=_("`{name}`: {what}").format(name=name, what=what),
                          found=_("`{name}` cannot be used: {reason}").format(name=name, reason=value.reason),
                          hint=_("assign {what} to `{name}`").format(what=what, name=name))
    return value


def array(results: LabResults, name: str, block: str, what: str, shape: tuple[int, ...], layout: str) -> np.ndarray:
    """``name`` as a finite float64 array of ``shape``; ``layout`` says what its axes are (a hint)."""
    value = require(results, name, block, what)
    if not isinstance(value, np.ndarray):
        raise CheckFailed(expected=_("`{name}`: {what}").format(name=name, what=what),
                          found=_("`{name}` is not an array").format(name=name),
                          hint=_("assign {what} to `{name}`").format(what=what, name=name))
    if value.shape != shape:
        raise CheckFailed(expected=_("`{name}` of shape {shape} ({what})").format(name=name, shape=shape, what=what),
                          found=_("`{name}` has shape {shape}").format(name=name, shape=value.shape), hint=layout)
    if not np.all(np.isfinite(value)):
        raise CheckFailed(expected=_("`{name}` to hold finite numbers").format(name=name),
                          found=_("`{name}` contains NaN or inf").format(name=name),
                          hint=_("recompute it from finite inputs"))
    return value.astype(np.float64)


def number(results: LabResults, name: str, block: str, what: str) -> float:
    """``name`` as a finite float."""
    value = require(results, name, block, what)
    if not isinstance(value, float) or not math.isfinite(value):
        raise CheckFailed(expected=_("`{name}` to be a finite number").format(name=name),
                          found=_("`{name}` is {value}").format(name=name, value=f"{value!r:.60}"),
                          hint=_("compute it from finite arrays"))
    return value


def module(results: LabResults, name: str, block: str, what: str) -> ModuleState:
    value = require(results, name, block, what)
    if not isinstance(value, ModuleState):
        raise CheckFailed(expected=_("`{name}`: {what}").format(name=name, what=what),
                          found=_("`{name}` is not such a layer").format(name=name),
                          hint=_("assign {what} to `{name}`").format(what=what, name=name))
    return value


def assert_close(name: str, found: np.ndarray, computed: np.ndarray, expected: str, hint: str, atol: float) -> None:
    """``found`` equals ``computed`` within ``atol``; the failure names the worst row, never the values."""
    difference = np.abs(found - computed)  # same shape as both
    if not difference.max() <= atol:
        row = int(np.unravel_index(np.nanargmax(difference), difference.shape)[0]) if np.any(np.isfinite(difference)) else 0
        raise CheckFailed(expected=expected,
                          found=_("`{name}` differs from that recomputation by up to {difference} (row {row})").format(
                              name=name, difference=f"{difference.max():.3g}", row=row),
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
        raise CheckFailed(expected=_("{filename} beside the notebook, written by {block}").format(filename=filename,
                                                                                                block=written_by),
                          found=_("no {filename} there").format(filename=filename),
                          hint=_("in {block}, json.dump(...) into {filename} (a relative path) and run the block").format(
                              block=written_by, filename=repr(filename)))
    if isinstance(text, Problem):
        raise CheckFailed(expected=_("{filename} to be a text file holding JSON").format(filename=filename),
                          found=text.reason, hint=_("write it with json.dump, as a regular file beside the notebook"))
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise CheckFailed(expected=_("{filename} to hold JSON").format(filename=filename),
                          found=_("it does not parse: {error}").format(error=error),
                          hint=_("write it with json.dump rather than by hand")) from None
    if not isinstance(document, dict):
        raise CheckFailed(expected=_("{filename} to hold a JSON object").format(filename=filename),
                          found=_("it holds a {kind}").format(kind=type(document).__name__),
                          hint=_("dump the dict itself"))
    return document


def json_field(document: dict, path: str, hint: str):
    """``document["a"]["b"]`` for ``path`` "a.b", or a failure naming the missing field."""
    value = document
    for key in path.split("."):
        if not isinstance(value, dict) or key not in value:
            raise CheckFailed(expected=_("the field {path}").format(path=path),
                              found=_("{path} is missing").format(path=path), hint=hint)
        value = value[key]
    return value
