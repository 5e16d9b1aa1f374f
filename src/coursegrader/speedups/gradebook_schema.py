"""The gradebook's tables checked once per database, for a process that grades for one run and ends.

Stands in for: ``nbgrader.api.inspect`` (SQLAlchemy's ``inspect``, as imported by ``nbgrader.api``) and
``nbgrader.api.Base.metadata.create_all``, which ``Gradebook.__init__`` calls each time a gradebook is
opened: it lists the database's tables (to know whether the database is new) and runs ``create_all``
(a query per table), about twelve times per submission.

Why: within one run nothing drops those tables, so after the first opening of a database in this
process has listed and created them, later openings are told the tables found then, and
``create_all`` is not run again for that database. Only where one URL always names one database
(``engines.one_database_per_url``): every opening of an in-memory SQLite database, or of a relative
path, is checked as before.

Not for a process that outlives a run (a Dask worker, a Jupyter server): its next run may meet a new
database at the same address. ``coursegrader.speedups.trust_gradebook_schema()`` applies it, when the
speedups are enabled.
"""

from __future__ import annotations

from coursegrader.speedups.engines import one_database_per_url

WRITTEN_FOR = {"nbgrader": "0.9.6", "SQLAlchemy": "2.1.9"}

_originals: dict[str, object] = {}


class _KnownTables:
    """What ``inspect(engine)`` would say of the tables, as found by the first opening."""

    def __init__(self, names: list[str]):
        self.names = names

    def get_table_names(self) -> list[str]:
        return list(self.names)


def _key(bind) -> str | None:
    url = getattr(bind, "url", None)
    if url is None or not one_database_per_url(url):
        return None
    return url.render_as_string(hide_password=False)


def applied() -> bool:
    return bool(_originals)


def apply() -> None:
    if _originals:
        return
    import nbgrader.api

    checked: dict[str, list[str]] = {}
    inspect, create_all = nbgrader.api.inspect, nbgrader.api.Base.metadata.create_all

    def remembered_inspect(subject, *args, **kwargs):
        key = _key(subject) if not args and not kwargs else None
        known = checked.get(key) if key is not None else None
        return _KnownTables(known) if known is not None else inspect(subject, *args, **kwargs)

    def create_all_once(bind=None, **kwargs):
        key = _key(bind) if not kwargs else None
        if key is not None and key in checked:
            return None
        result = create_all(bind=bind, **kwargs)
        if key is not None:
            checked[key] = inspect(bind).get_table_names()
        return result

    _originals.update(inspect=inspect, create_all=create_all)
    nbgrader.api.inspect = remembered_inspect
    nbgrader.api.Base.metadata.create_all = create_all_once


def remove() -> None:
    if not _originals:
        return
    import nbgrader.api

    nbgrader.api.inspect = _originals["inspect"]
    del nbgrader.api.Base.metadata.create_all  # the instance attribute set above: the class's method again
    _originals.clear()
