"""Five measured fixes for what nbgrader pays again for every submission, without changing what it does.

Profiled on a class of Lab 00 submissions (cProfile; see benchmarks/), per submission:

- nbgrader checks each cell's metadata with ``jsonschema.validate(metadata, schema)``, which checks
  the schema itself and builds a validator on every call: ~30 cells × 2 passes, 0.1–0.15 s. Here the
  validator is built once per schema; the same schema, the same errors.
- nbgrader's ``Gradebook`` creates a new SQLAlchemy engine each time it is opened (about ten times per
  submission), so no SQL statement stays compiled and each opening re-reads the schema: ~0.1 s. Here
  one engine per database URL is kept for the process; ``Gradebook.close()`` still disposes of its
  connections, as before.
- nbformat checks each output it creates (one per message the kernel sends) against a part of its
  schema with jsonschema, building a validator for that part on every call: ~0.5 ms each, 30-40 ms
  per submission. Here that part is compiled once with fastjsonschema, the validator nbformat itself
  uses for whole notebooks; an output it rejects goes to nbformat's own check, for nbformat's error.
- jupyter_client reads the timestamp in each message's headers with dateutil, a quarter of the grader's
  time per message; ``datetime.fromisoformat`` reads the same timestamps to the same instant.
- nbgrader looks each cell of the release up with its own three-table join, twice per cell of every
  submission (``OverwriteCells``): a fifth of the grader's time. Here one query per kind of cell loads a
  notebook's cells into the session, which answers the later lookups until its transaction ends.

``install()`` applies all five in the current process; ``nbgrader_config.py`` loads the modules that call
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


class _CompiledNodeValidator:
    """Stands in for ``nbformat.v4.nbbase.validate(node, ref)``, which nbformat calls for every output it
    creates (nbclient creates one per message a kernel sends)."""

    def __init__(self, original):
        self._original = original
        self._compiled: dict[str, object] = {}

    def __call__(self, node, ref=None):
        if ref is None:
            return self._original(node, ref)
        check = self._compiled.get(ref)
        if check is None:
            import fastjsonschema
            from nbformat.validator import get_validator

            schema = get_validator(version=4)._schema
            check = self._compiled[ref] = fastjsonschema.compile(
                {"$ref": f"#/definitions/{ref}", "definitions": schema["definitions"]})
        try:
            check(node)
        except Exception:  # noqa: BLE001 — rejected, or unlike anything compiled: nbformat's own path decides
            return self._original(node, ref)
        return None


def _fast_isoparse(dateutil_isoparse):
    """jupyter_client reads the date in every message header with dateutil's ``isoparse`` (60 µs each, a
    quarter of what the grader spends reading a message); ``datetime.fromisoformat`` reads the same
    ISO 8601 timestamps in 1 µs, to the same instant. Anything it cannot read goes to dateutil."""
    from datetime import datetime

    def isoparse(text):
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            return dateutil_isoparse(text)

    isoparse.fast, isoparse.original = True, dateutil_isoparse
    return isoparse


_CELLS_KEY = "coursekit.cells"


def _remember_cells(api) -> None:
    """nbgrader looks each cell of the release up in the gradebook with its own query, two for every cell
    of every submission (``OverwriteCells``: ``find_source_cell`` and ``find_graded_cell``), each a
    three-table join: a fifth of the grader's time. Here one query per kind of cell and notebook loads
    them all into the gradebook's session, and later lookups in that session are answered from it: the
    same objects, the same ``MissingEntry``. The session forgets them when its transaction ends (commit,
    rollback, close) and before it writes new rows or deletes rows, so a cell added since is always seen."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    def forget(session, *args):
        session.info.pop(_CELLS_KEY, None)

    def forget_if_rows_change(session, flush_context, instances):
        if session.new or session.deleted:
            forget(session)

    event.listen(Session, "before_flush", forget_if_rows_change)
    event.listen(Session, "after_transaction_end", forget)  # commit, rollback, close

    def cells(gradebook, kind, notebook: str, assignment: str) -> dict:
        known = gradebook.db.info.setdefault(_CELLS_KEY, {})
        key = (kind.__name__, notebook, assignment)
        found = known.get(key)
        if found is None:
            rows = (gradebook.db.query(kind)
                    .join(api.Notebook, api.Notebook.id == kind.notebook_id)
                    .join(api.Assignment, api.Assignment.id == api.Notebook.assignment_id)
                    .filter(api.Notebook.name == notebook, api.Assignment.name == assignment).all())
            found = known[key] = {row.name: row for row in rows}
        return found

    def finder(kind, label: str, original):
        def find(self, name: str, notebook: str, assignment: str):
            cell = cells(self, kind, notebook, assignment).get(name)
            if cell is None:
                raise api.MissingEntry(f"No such {label}: {assignment}/{notebook}/{name}")
            return cell

        find.remembers_cells, find.original = True, original
        return find

    def find_graded_cell(self, name: str, notebook: str, assignment: str):
        cell = cells(self, api.GradeCell, notebook, assignment).get(name)
        if cell is None:
            cell = cells(self, api.TaskCell, notebook, assignment).get(name)
        if cell is None:
            raise api.MissingEntry(f"No such grade cell: {assignment}/{notebook}/{name}")
        return cell

    gradebook_class = api.Gradebook
    find_graded_cell.remembers_cells, find_graded_cell.original = True, gradebook_class.find_graded_cell
    gradebook_class.find_source_cell = finder(api.SourceCell, "source cell", gradebook_class.find_source_cell)
    gradebook_class.find_grade_cell = finder(api.GradeCell, "grade cell", gradebook_class.find_grade_cell)
    gradebook_class.find_solution_cell = finder(api.SolutionCell, "solution cell", gradebook_class.find_solution_cell)
    gradebook_class.find_task_cell = finder(api.TaskCell, "task cell", gradebook_class.find_task_cell)
    gradebook_class.find_graded_cell = find_graded_cell


def install() -> None:
    if getattr(install, "done", False):
        return
    import nbgrader.api
    from nbgrader.nbgraderformat import common

    if not isinstance(common.jsonschema, _CompiledJsonschema):
        common.jsonschema = _CompiledJsonschema(common.jsonschema)
    nbgrader.api.create_engine = functools.lru_cache(maxsize=8)(nbgrader.api.create_engine)
    from nbformat.v4 import nbbase

    if not isinstance(nbbase.validate, _CompiledNodeValidator):
        nbbase.validate = _CompiledNodeValidator(nbbase.validate)
    if not getattr(nbgrader.api.Gradebook.find_source_cell, "remembers_cells", False):
        _remember_cells(nbgrader.api)
    from jupyter_client import jsonutil

    if not getattr(jsonutil._dateutil_parse, "fast", False):
        jsonutil._dateutil_parse = _fast_isoparse(jsonutil._dateutil_parse)
    install.done = True


def forget_engines() -> None:
    """After a fork: the engines kept so far belong to the parent process."""
    import nbgrader.api

    cache_clear = getattr(nbgrader.api.create_engine, "cache_clear", None)
    if cache_clear is not None:
        cache_clear()


def trust_gradebook_schema() -> None:
    """For a process that grades for one command and ends (a ``course autograde`` worker): check the
    gradebook's tables once per database, not at each of the ~12 times a submission opens the gradebook.

    nbgrader's ``Gradebook()`` lists the database's tables and runs ``create_all`` (a query per table)
    every time it is opened. Within one run nothing drops those tables, so after the first opening of a
    database has made sure of them, later openings in this process skip both. A process that outlives a
    run (a Dask worker) must not call this: its next run may meet a new database at the same address.
    """
    import nbgrader.api

    if getattr(trust_gradebook_schema, "done", False):
        return
    checked: dict[str, list[str]] = {}
    metadata = nbgrader.api.Base.metadata
    create_all, inspect = metadata.create_all, nbgrader.api.inspect

    class _KnownTables:
        def __init__(self, names: list[str]):
            self.names = names

        def get_table_names(self) -> list[str]:
            return list(self.names)

    def remembered_inspect(engine):
        known = checked.get(str(getattr(engine, "url", "")))
        return _KnownTables(known) if known is not None else inspect(engine)

    def create_all_once(bind=None, **kwargs):
        key = str(getattr(bind, "url", ""))
        if key and key in checked and not kwargs:
            return None
        result = create_all(bind=bind, **kwargs)
        if key:
            checked[key] = inspect(bind).get_table_names()
        return result

    nbgrader.api.inspect = remembered_inspect
    metadata.create_all = create_all_once
    trust_gradebook_schema.done = True

