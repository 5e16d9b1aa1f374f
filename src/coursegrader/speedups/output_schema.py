"""nbformat's check of each output it creates, against a part of its schema compiled once.

Stands in for: ``nbformat.v4.nbbase.validate(node, ref)``, which ``new_output`` (and the other ``new_*``)
call for every node they create; nbclient creates an output per message a kernel sends.

Why: with a ``ref``, nbformat checks the node with jsonschema, building a validator for that part of
the schema on every call: ~0.5 ms each, 30–40 ms per submission. Here that part (``{"$ref":
"#/definitions/<ref>"}`` over the v4 schema's definitions, under the schema's own ``$schema``) is
compiled once with fastjsonschema, the validator nbformat itself uses for whole notebooks. A node it
accepts is accepted; a node it rejects, or anything it fails on, goes to nbformat's own ``validate``,
so a rejected node raises nbformat's own error.

Not covered: calls without a ``ref`` (whole notebooks), and a ``ref`` the schema does not define, go to
nbformat's own ``validate``.
"""

from __future__ import annotations

WRITTEN_FOR = {"nbformat": "5.11.1", "fastjsonschema": "2.22.3", "jsonschema": "4.26.0"}


class CompiledNodeValidator:
    """``nbformat.v4.nbbase.validate``, with each ``ref``'s part of the schema compiled once."""

    def __init__(self, original):
        self._original = original
        self._compiled: dict[str, object] = {}

    def __call__(self, node, ref=None):
        if ref is None:
            return self._original(node, ref)
        check = self._compiled.get(ref)
        if check is None:
            import fastjsonschema
            from nbformat.v4 import nbbase
            from nbformat.validator import get_validator

            schema = get_validator(version=nbbase.nbformat)._schema
            part = {"$ref": f"#/definitions/{ref}", "definitions": schema["definitions"]}
            if "$schema" in schema:
                part["$schema"] = schema["$schema"]
            try:
                check = fastjsonschema.compile(part)
            except Exception:  # noqa: BLE001 — a ref the schema does not define: nbformat's own error
                return self._original(node, ref)
            self._compiled[ref] = check
        try:
            check(node)
        except Exception:  # noqa: BLE001 — rejected, or unlike anything compiled: nbformat's own path decides
            return self._original(node, ref)
        return None


def applied() -> bool:
    from nbformat.v4 import nbbase

    return isinstance(nbbase.validate, CompiledNodeValidator)


def apply() -> None:
    from nbformat.v4 import nbbase

    if not isinstance(nbbase.validate, CompiledNodeValidator):
        nbbase.validate = CompiledNodeValidator(nbbase.validate)


def remove() -> None:
    from nbformat.v4 import nbbase

    if isinstance(nbbase.validate, CompiledNodeValidator):
        nbbase.validate = nbbase.validate._original
