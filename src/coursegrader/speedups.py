"""Two measured fixes for what nbgrader pays again for every submission, without changing what it does.

Profiled on a class of Lab 00 submissions (cProfile; see benchmarks/), per submission:

- nbgrader checks each cell's metadata with ``jsonschema.validate(metadata, schema)``, which checks
  the schema itself and builds a validator on every call: ~30 cells × 2 passes, 0.1–0.15 s. Here the
  validator is built once per schema; the same schema, the same errors.
- nbgrader's ``Gradebook`` creates a new SQLAlchemy engine each time it is opened (about ten times per
  submission), so no SQL statement stays compiled and each opening re-reads the schema: ~0.1 s. Here
  one engine per database URL is kept for the process; ``Gradebook.close()`` still disposes of its
  connections, as before.

``install()`` applies both in the current process; ``nbgrader_config.py`` loads the modules that call
it, so ``nbgrader autograde`` and ``course autograde`` run with the same fixes.
"""

from __future__ import annotations

import functools
import json
import types


class _CompiledJsonschema(types.SimpleNamespace):
    """Stands in for the ``jsonschema`` module where nbgrader calls ``jsonschema.validate``."""

    def __init__(self, module):
        super().__init__()
        self._module = module
        self._validators: dict[str, object] = {}

    def __getattr__(self, name):
        return getattr(self._module, name)

    def validate(self, instance, schema, *args, **kwargs):
        if args or kwargs:
            return self._module.validate(instance, schema, *args, **kwargs)
        key = json.dumps(schema, sort_keys=True)
        validator = self._validators.get(key)
        if validator is None:
            cls = self._module.validators.validator_for(schema)
            cls.check_schema(schema)
            validator = self._validators[key] = cls(schema)
        error = self._module.exceptions.best_match(validator.iter_errors(instance))
        if error is not None:
            raise error


def install() -> None:
    if getattr(install, "done", False):
        return
    import nbgrader.api
    from nbgrader.nbgraderformat import common

    if not isinstance(common.jsonschema, _CompiledJsonschema):
        common.jsonschema = _CompiledJsonschema(common.jsonschema)
    nbgrader.api.create_engine = functools.lru_cache(maxsize=8)(nbgrader.api.create_engine)
    install.done = True


def forget_engines() -> None:
    """After a fork: the engines kept so far belong to the parent process."""
    import nbgrader.api

    cache_clear = getattr(nbgrader.api.create_engine, "cache_clear", None)
    if cache_clear is not None:
        cache_clear()
