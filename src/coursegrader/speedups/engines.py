"""One SQLAlchemy engine per gradebook database, kept for the process, where that changes nothing else.

Stands in for: ``nbgrader.api.create_engine`` (SQLAlchemy's ``create_engine``, as imported by
``nbgrader.api``), which ``Gradebook.__init__`` calls each time a gradebook is opened.

Why: nbgrader opens the gradebook about ten times per submission, each time with a new engine, so no
compiled statement survives and each opening connects anew: ~0.1 s per submission. Here the engine of
a database is created once and handed out again. ``Gradebook.close()`` still disposes of its
connections (``engine.dispose()``), which leaves the engine usable for the next opening.

Only where one URL always names one database is an engine kept: a SQLite file given by an absolute
path, or a database server. Every other URL gets a new engine, as before: an in-memory SQLite
database (``sqlite://``, ``sqlite:///:memory:``, a ``file:`` URI) lives and dies with its engine's
connections, so two gradebooks opened on ``sqlite:///:memory:`` must stay two databases; a relative
path names a different file in each working folder.

``forget()``, in a process forked from one that kept engines: the parent's engines (and their
connections) are left to the parent, and this process creates its own.
"""

from __future__ import annotations

import os
import threading

WRITTEN_FOR = {"nbgrader": "0.9.6", "SQLAlchemy": "2.1.9"}

_lock = threading.Lock()


def one_database_per_url(url) -> bool:
    """Whether every engine created for ``url`` reaches the same database, wherever and whenever it connects."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(url)
    except (ArgumentError, TypeError, ValueError):
        return False
    if url.get_backend_name() != "sqlite":
        return True
    database = url.database or ""
    return os.path.isabs(database) and "uri" not in url.query and "mode" not in url.query


class EngineCache:
    """``create_engine``, with the engine of each shareable URL (and the same keyword arguments) kept."""

    def __init__(self, original):
        self.original = original
        self.engines: dict[tuple, object] = {}

    def __call__(self, url, *args, **kwargs):
        if args or not one_database_per_url(url):
            return self.original(url, *args, **kwargs)
        try:
            text = url if isinstance(url, str) else url.render_as_string(hide_password=False)
            key = (text, tuple(sorted(kwargs.items())))
            hash(key)
        except TypeError:
            return self.original(url, *args, **kwargs)
        with _lock:
            engine = self.engines.get(key)
            if engine is None:
                engine = self.engines[key] = self.original(url, **kwargs)
            return engine

    def forget(self) -> None:
        with _lock:
            for engine in self.engines.values():
                engine.dispose(close=False)  # SQLAlchemy's way after a fork: the parent's connections stay open
            self.engines.clear()


def applied() -> bool:
    import nbgrader.api

    return isinstance(nbgrader.api.create_engine, EngineCache)


def apply() -> None:
    import nbgrader.api

    if not isinstance(nbgrader.api.create_engine, EngineCache):
        nbgrader.api.create_engine = EngineCache(nbgrader.api.create_engine)


def remove() -> None:
    import nbgrader.api

    if isinstance(nbgrader.api.create_engine, EngineCache):
        cache = nbgrader.api.create_engine
        nbgrader.api.create_engine = cache.original
        with _lock:
            cache.engines.clear()


def forget() -> None:
    """After a fork: leave the engines kept so far to the parent process."""
    import nbgrader.api

    if isinstance(nbgrader.api.create_engine, EngineCache):
        nbgrader.api.create_engine.forget()
