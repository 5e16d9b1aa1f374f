"""The fixes, the versions each was written for, and the one step that applies or removes them.

Each fix is a module of this package with ``WRITTEN_FOR`` (distribution name -> the exact version it was
checked against: the package it patches and those whose behaviour it reproduces), ``apply()``,
``remove()`` and ``applied()``. A fix whose versions do not all match what is installed is never applied:
the first time it is asked for in a process, one warning line names it and the versions, and nbgrader
runs that step as shipped.

Not here: deciding whether the fixes are wanted (``coursegrader.speedups.CourseSpeedups`` reads the
switch from the configuration).
"""

from __future__ import annotations

import importlib.metadata
import logging
import threading
from types import ModuleType

from coursegrader.speedups import (alembic_heads, cell_lookups, engines, gradebook_schema, metadata_schema,
                                   output_schema, timestamps)

log = logging.getLogger("coursegrader.speedups")

# What `apply` applies, in this order (alembic_heads: per new gradebook rather than per submission, but
# wanted wherever the others are). gradebook_schema is asked for on its own (`trust_gradebook_schema`), by
# processes that grade for one run and end.
PER_SUBMISSION: tuple[ModuleType, ...] = (metadata_schema, engines, output_schema, timestamps, cell_lookups,
                                          alembic_heads)
ALL: tuple[ModuleType, ...] = (*PER_SUBMISSION, gradebook_schema)

_lock = threading.RLock()
_warned: set[str] = set()
_state = {"enabled": False}


def fix_name(fix: ModuleType) -> str:
    return fix.__name__.rsplit(".", 1)[-1]


def installed_version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def mismatches(fix: ModuleType) -> dict[str, tuple[str, str | None]]:
    """Every distribution whose installed version is not the one ``fix`` was written for:
    name -> (written for, installed or None)."""
    found = {}
    for distribution, expected in fix.WRITTEN_FOR.items():
        installed = installed_version(distribution)
        if installed != expected:
            found[distribution] = (expected, installed)
    return found


def _apply_one(fix: ModuleType) -> bool:
    """Apply ``fix`` if the installed versions are the ones it was written for; else warn, once."""
    if fix.applied():
        return True
    wrong = mismatches(fix)
    if wrong:
        name = fix_name(fix)
        if name not in _warned:
            _warned.add(name)
            written = ", ".join(f"{dist} {expected}" for dist, (expected, _) in wrong.items())
            found = ", ".join(f"{dist} {installed or 'not installed'}" for dist, (_, installed) in wrong.items())
            log.warning("coursegrader.speedups: %s skipped (nbgrader's own code runs): written for %s, found %s",
                        name, written, found)
        return False
    fix.apply()
    return True


def apply(*, enabled: bool) -> list[str]:
    """Make this process match the switch: enabled, every per-submission fix whose versions match is
    applied (a skipped one warns, once); disabled, every fix applied so far is removed. Returns the names
    of the fixes in force."""
    with _lock:
        _state["enabled"] = enabled
        if not enabled:
            remove()
            return []
        return [fix_name(fix) for fix in PER_SUBMISSION if _apply_one(fix)]


def remove() -> None:
    """Put back every function, method and module attribute any fix replaced, in this process."""
    with _lock:
        _state["enabled"] = False
        for fix in reversed(ALL):
            if fix.applied():
                fix.remove()


def enabled() -> bool:
    """Whether ``apply`` last ran with the switch on (and ``remove`` has not run since)."""
    return _state["enabled"]


def applied() -> list[str]:
    """The names of the fixes in force in this process."""
    return [fix_name(fix) for fix in ALL if fix.applied()]


def trust_gradebook_schema() -> bool:
    """Apply ``gradebook_schema`` when the speedups are enabled in this process and its versions match."""
    with _lock:
        return enabled() and _apply_one(gradebook_schema)
