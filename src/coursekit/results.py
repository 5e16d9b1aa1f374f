"""A student's results as plain data: the one place that reads a live notebook namespace.

A lab says which names its checks read, and of what kind (``ResultSpec``): arrays, numbers,
JSON values (the manifest dict), modules (an object with ``state_dict()`` and a few integer
attributes, such as a ``MultiHeadAttention``) and text files its notebook writes beside itself.
``collect(namespace, folder, spec)`` copies exactly those into a ``LabResults`` of numpy arrays,
floats, JSON-shaped values and strings. A name that is absent, or cannot be read as the kind the
lab asks for, becomes a ``Problem`` saying why, so each check reports it in its own words.

Nothing here trusts the values it reads: the grader never sees them in this form, only as the
plain data ``coursekit.handover`` writes from them.
"""

from __future__ import annotations

import json
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from coursekit.i18n import N_, _

MAX_FILE_CHARS = 1_000_000  # a file a lab's notebook writes (a manifest, a printout) is far smaller


@dataclass(frozen=True)
class ResultSpec:
    """The names a lab's checks read from a notebook, by kind."""

    arrays: tuple[str, ...] = ()
    numbers: tuple[str, ...] = ()
    json_values: tuple[str, ...] = ()  # dicts, lists, strings: what json.dump would write
    modules: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # name -> integer attributes
    files: tuple[str, ...] = ()  # text files the notebook writes in its own folder

    def names(self) -> tuple[str, ...]:
        return (*self.arrays, *self.numbers, *self.json_values, *self.modules)


@dataclass(frozen=True)
class Problem:
    """Why a value could not be read: ``missing`` when the notebook never defined it.

    ``message`` is English with named placeholders, one of ``PROBLEMS``; ``params`` fill them. The
    reason is rendered in the language of whoever reads it (a kernel writes the message, the grader
    renders it in the student's language); a message that is not one of ``PROBLEMS`` (it came from a
    handover the grader does not trust) is shown as plain text, never formatted."""

    message: str
    params: Mapping[str, str] = field(default_factory=dict)
    missing: bool = False

    @property
    def reason(self) -> str:
        if self.message not in PROBLEMS:
            return self.message
        try:
            return _(self.message).format(**self.params)
        except (KeyError, IndexError, ValueError):
            return self.message


def problem(message: str, missing: bool = False, **params) -> Problem:
    return Problem(message, {name: str(value) for name, value in params.items()}, missing)


PROBLEMS = frozenset({
    N_("missing"),
    N_("it could not be read as an array ({error})"),
    N_("it is a {kind} holding {dtype} values, not numbers"),
    N_("it holds complex numbers ({dtype}), not real ones"),
    N_("it is a {kind} ({value}), not a number"),
    N_("it could not be read as a float ({error})"),
    N_("it cannot be written as JSON ({error})"),
    N_("its {name} is {value}, not an integer"),
    N_("it is a {kind} without the {wanted} the lab's layer has ({error})"),
    N_("{filename} is not a regular file"),
    N_("{filename} could not be read as UTF-8 text ({error})"),
    N_("{filename} is larger than {limit} characters"),
    N_("it was handed over as {dtype} values, not real numbers"),
    N_("it has shape {shape}, far larger than anything this lab computes"),
    N_("its handed-over value was malformed"),
    N_("its handed-over content was malformed"),
})


@dataclass(frozen=True)
class ModuleState:
    """A module's class name, integer attributes and weights (``state_dict()``), as plain data."""

    class_name: str
    attributes: dict[str, int]
    state_dict: dict[str, np.ndarray]


@dataclass
class LabResults:
    values: dict[str, object] = field(default_factory=dict)  # name -> array | float | JSON | ModuleState | Problem
    files: dict[str, str | Problem | None] = field(default_factory=dict)  # filename -> text, None if absent
    runtime_versions: dict[str, str] = field(default_factory=dict)  # of the environment that ran the notebook

    def get(self, name: str):
        return self.values.get(name, problem("missing", missing=True))


# -----------------------------------------------------------------------------
# readers: one kind of value each, never raising


def read_array(value) -> np.ndarray | Problem:
    try:
        array = np.array(value, copy=True, subok=False)  # a plain ndarray, whatever subclass came in
    except Exception as error:  # noqa: BLE001 — any object a student may leave behind
        return problem("it could not be read as an array ({error})", error=f"{type(error).__name__}: {error}")
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        return problem("it is a {kind} holding {dtype} values, not numbers", kind=type(value).__name__,
                       dtype=array.dtype)
    if np.iscomplexobj(array):
        return problem("it holds complex numbers ({dtype}), not real ones", dtype=array.dtype)
    return array


def read_number(value) -> float | Problem:
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value[()]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        return problem("it is a {kind} ({value}), not a number", kind=type(value).__name__, value=f"{value!r:.80}")
    try:
        return float(value)
    except Exception as error:  # noqa: BLE001
        return problem("it could not be read as a float ({error})", error=f"{type(error).__name__}: {error}")


def read_json_value(value) -> object:
    try:
        return json.loads(json.dumps(value, allow_nan=True))  # exactly what json.dump would write
    except Exception as error:  # noqa: BLE001 — TypeError, ValueError, RecursionError, ...
        return problem("it cannot be written as JSON ({error})", error=f"{type(error).__name__}: {error}")


def read_module(value, attributes: tuple[str, ...]) -> ModuleState | Problem:
    try:
        state_dict = {str(name): np.array(array, dtype=np.float64) for name, array in value.state_dict().items()}
        attribute_values = {}
        for name in attributes:
            attribute = getattr(value, name)
            if isinstance(attribute, bool) or not isinstance(attribute, numbers.Integral):
                return problem("its {name} is {value}, not an integer", name=name, value=f"{attribute!r:.40}")
            attribute_values[name] = int(attribute)
    except Exception as error:  # noqa: BLE001
        wanted = ", ".join((*attributes, "state_dict()"))
        return problem("it is a {kind} without the {wanted} the lab's layer has ({error})",
                       kind=type(value).__name__, wanted=wanted, error=f"{type(error).__name__}: {error}")
    return ModuleState(type(value).__name__, attribute_values, state_dict)


def read_text_file(path: Path) -> str | Problem | None:
    """A text file the notebook wrote, or None if there is none."""
    try:
        if path.is_symlink() or (path.exists() and not path.is_file()):
            return problem("{filename} is not a regular file", filename=path.name)
        with path.open("r", encoding="utf-8") as handle:
            text = handle.read(MAX_FILE_CHARS + 1)
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        return problem("{filename} could not be read as UTF-8 text ({error})",
                       filename=path.name, error=f"{type(error).__name__}: {error}")
    if len(text) > MAX_FILE_CHARS:
        return problem("{filename} is larger than {limit} characters", filename=path.name,
                       limit=f"{MAX_FILE_CHARS:,}")
    return text


# -----------------------------------------------------------------------------
# the boundary


def collect(namespace: Mapping, folder: str | Path, spec: ResultSpec) -> LabResults:
    """Read the names ``spec`` lists from a notebook's namespace, and its files from ``folder``."""
    values: dict[str, object] = {}
    readers = [*((name, read_array) for name in spec.arrays), *((name, read_number) for name in spec.numbers),
               *((name, read_json_value) for name in spec.json_values)]
    for name, reader in readers:
        if name in namespace:
            values[name] = reader(namespace[name])
    for name, attributes in spec.modules.items():
        if name in namespace:
            values[name] = read_module(namespace[name], attributes)
    files = {filename: read_text_file(Path(folder) / filename) for filename in spec.files}
    return LabResults(values, files)
