"""nbgrader's lookups of a notebook's cells in the gradebook, answered from one query per kind of cell.

Stands in for five methods of ``nbgrader.api.Gradebook``: ``find_source_cell``, ``find_grade_cell``,
``find_solution_cell``, ``find_task_cell`` and ``find_graded_cell`` (a grade cell, else a task cell),
each in nbgrader 0.9.6 a three-table join (cell, notebook, assignment) filtered by the three names,
``.one()``, and ``MissingEntry("No such <kind>: <assignment>/<notebook>/<name>")`` when nothing matches.

Why: ``OverwriteCells`` looks every cell of the release up twice for every submission
(``find_source_cell``, ``find_graded_cell``): a fifth of the grader's time. Here the first lookup of a
kind of cell in a notebook loads all of that notebook's cells of that kind into the gradebook's
session, and later lookups in the same transaction are answered from them: the same objects (the
session's own), the same ``MissingEntry`` with the same message.

When nbgrader's own query answers instead (and so exactly as shipped):

- the session holds changes not yet written (new, changed or deleted objects): nbgrader's query would
  write them first (autoflush), and may find what they changed;
- the database is neither SQLite nor PostgreSQL, whose comparison of names is exact, like a dict's
  (MySQL's usual collations ignore case and trailing spaces);
- a name is not a string.

What is remembered is forgotten when the session's transaction ends (commit, rollback, close) and
before it writes new or deleted rows, or changed cells, notebooks or assignments.
"""

from __future__ import annotations

WRITTEN_FOR = {"nbgrader": "0.9.6", "SQLAlchemy": "2.1.9"}

FINDERS = ("find_source_cell", "find_grade_cell", "find_solution_cell", "find_task_cell", "find_graded_cell")
EXACT_DIALECTS = frozenset({"sqlite", "postgresql"})
_KEY = "coursegrader.speedups.cell_lookups"
_originals: dict[str, object] = {}
_listeners: list[tuple[str, object]] = []


def _forget(session, *args) -> None:
    session.info.pop(_KEY, None)


def _answered_by_nbgrader(gradebook, session, names) -> bool:
    return (bool(session.new or session.dirty or session.deleted)
            or gradebook.engine.dialect.name not in EXACT_DIALECTS
            or not all(isinstance(name, str) for name in names))


def _cells(api, session, kind, notebook: str, assignment: str) -> dict:
    """Every ``kind`` cell of the notebook, by name, loaded once per transaction."""
    known = session.info.setdefault(_KEY, {})
    key = (kind.__name__, notebook, assignment)
    found = known.get(key)
    if found is None:
        rows = (session.query(kind)
                .join(api.Notebook, api.Notebook.id == kind.notebook_id)
                .join(api.Assignment, api.Assignment.id == api.Notebook.assignment_id)
                .filter(api.Notebook.name == notebook, api.Assignment.name == assignment).all())
        found = known[key] = {row.name: row for row in rows}
    return found


def _finder(api, finder: str, kinds: tuple, label: str):
    original = _originals[finder]

    def find(self, name: str, notebook: str, assignment: str):
        session = self.db()
        if _answered_by_nbgrader(self, session, (name, notebook, assignment)):
            return original(self, name, notebook, assignment)
        for kind in kinds:
            cell = _cells(api, session, kind, notebook, assignment).get(name)
            if cell is not None:
                return cell
        raise api.MissingEntry(f"No such {label}: {assignment}/{notebook}/{name}")

    find.__name__ = find.__qualname__ = finder
    find.__doc__ = original.__doc__
    find.original = original
    return find


def applied() -> bool:
    return bool(_originals)


def apply() -> None:
    if _originals:
        return
    import nbgrader.api as api
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    rows_of = (api.SourceCell, api.GradeCell, api.SolutionCell, api.TaskCell, api.Notebook, api.Assignment)

    def forget_if_rows_change(session, flush_context, instances) -> None:
        if session.new or session.deleted or any(isinstance(row, rows_of) for row in session.dirty):
            _forget(session)

    for name, listener in (("before_flush", forget_if_rows_change), ("after_transaction_end", _forget)):
        event.listen(Session, name, listener)
        _listeners.append((name, listener))
    for finder in FINDERS:
        _originals[finder] = getattr(api.Gradebook, finder)
    kinds = {"find_source_cell": ((api.SourceCell,), "source cell"),
             "find_grade_cell": ((api.GradeCell,), "grade cell"),
             "find_solution_cell": ((api.SolutionCell,), "solution cell"),
             "find_task_cell": ((api.TaskCell,), "task cell"),
             "find_graded_cell": ((api.GradeCell, api.TaskCell), "grade cell")}
    for finder, (cell_kinds, label) in kinds.items():
        setattr(api.Gradebook, finder, _finder(api, finder, cell_kinds, label))


def remove() -> None:
    if not _originals:
        return
    import nbgrader.api as api
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    for finder, original in _originals.items():
        setattr(api.Gradebook, finder, original)
    _originals.clear()
    while _listeners:
        name, listener = _listeners.pop()
        event.remove(Session, name, listener)
