"""nbgrader's check of each cell's metadata, with the validator built once per schema.

Stands in for: ``jsonschema.validate(metadata, schema)`` as ``nbgrader.nbgraderformat.common`` calls it
(``BaseMetadataValidator.validate_cell``), by replacing that module's ``jsonschema`` attribute with a proxy.

Why: ``jsonschema.validate`` checks the schema itself and builds a validator on every call; nbgrader
calls it for each cell, in each pass that checks metadata (~30 cells × 2 passes per submission,
0.1–0.15 s). Here the validator of a schema is built once, from a deep copy of it (its keys in
their order: error messages print the schema), by the steps ``jsonschema.validate`` takes
(``validator_for``, ``check_schema``, ``best_match`` of ``iter_errors``), so the same metadata gives
the same error, or none.

Not covered: calls with more arguments than (instance, schema), and schemas that are not plain JSON,
go to ``jsonschema.validate`` itself.
"""

from __future__ import annotations

import copy
import json

WRITTEN_FOR = {"nbgrader": "0.9.6", "jsonschema": "4.26.0"}


class CompiledJsonschema:
    """The ``jsonschema`` module, but for ``validate(instance, schema)``, which reuses a validator per schema."""

    def __init__(self, module):
        self._module = module
        self._validators: dict[str, object] = {}

    def __getattr__(self, name):
        return getattr(self._module, name)

    def validate(self, instance, schema, *args, **kwargs):
        if args or kwargs:
            return self._module.validate(instance, schema, *args, **kwargs)
        try:
            key = json.dumps(schema, sort_keys=True)
        except (TypeError, ValueError):
            return self._module.validate(instance, schema)
        validator = self._validators.get(key)
        if validator is None:
            own_copy = copy.deepcopy(schema)  # changed in place later, it cannot change the validator kept here
            cls = self._module.validators.validator_for(own_copy)
            cls.check_schema(own_copy)  # an invalid schema raises SchemaError at every call, as before: never kept
            validator = self._validators[key] = cls(own_copy)
        error = self._module.exceptions.best_match(validator.iter_errors(instance))
        if error is not None:
            raise error
        return None


def applied() -> bool:
    from nbgrader.nbgraderformat import common

    return isinstance(common.jsonschema, CompiledJsonschema)


def apply() -> None:
    from nbgrader.nbgraderformat import common

    if not isinstance(common.jsonschema, CompiledJsonschema):
        common.jsonschema = CompiledJsonschema(common.jsonschema)


def remove() -> None:
    from nbgrader.nbgraderformat import common

    if isinstance(common.jsonschema, CompiledJsonschema):
        common.jsonschema = common.jsonschema._module
