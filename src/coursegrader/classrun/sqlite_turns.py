"""SQLite gradebooks shared by the processes of one machine: one writer at a time, handed over without sleeps."""

from __future__ import annotations

import os


class _WriterTurns:
    """Whose turn it is to write an SQLite gradebook, among the processes of this machine: an exclusive
    ``flock`` on a file named after the database, taken before ``BEGIN IMMEDIATE`` and given up when the
    connection goes back to its pool (after its COMMIT or ROLLBACK).

    SQLite's own lock is what keeps the database whole, and stays; but a process that finds it taken
    sleeps and retries (1, 2, 5, 10, 15... ms), long after the lock is free: two workers lost ~24 ms a
    submission that way. A process waiting for a flock wakes the moment it is released, and the
    kernel releases it if its holder dies."""

    def __init__(self):
        self.descriptors: dict[str, int] = {}
        self.held: dict[str, int] = {}  # lock file -> how many of this process's connections hold it

    @staticmethod
    def lock_file(database: str) -> str:
        import hashlib
        import tempfile

        digest = hashlib.sha256(os.path.abspath(database).encode()).hexdigest()[:16]
        return os.path.join(tempfile.gettempdir(), f"coursekit-gradebook-{digest}.lock")

    def take(self, path: str) -> None:
        import fcntl

        if self.held.get(path, 0) == 0:
            if path not in self.descriptors:
                self.descriptors[path] = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self.descriptors[path], fcntl.LOCK_EX)
        self.held[path] = self.held.get(path, 0) + 1

    def give_up(self, path: str) -> None:
        import fcntl

        self.held[path] -= 1
        if self.held[path] == 0:
            fcntl.flock(self.descriptors[path], fcntl.LOCK_UN)


def serialize_sqlite_transactions() -> None:
    """Make every SQLite transaction of this process take the write lock at BEGIN and wait up to a minute for it.

    pysqlite begins transactions lazily and upgrades a read lock to a write lock at the first write: two
    processes that both read, then write, deadlock, and SQLite answers one of them "database is locked"
    at once. ``BEGIN IMMEDIATE`` (SQLAlchemy's documented recipe) serialises them instead; ``_WriterTurns``
    hands the turn over without SQLite's sleeps.
    """
    import sqlite3

    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    from sqlalchemy.pool import Pool

    if getattr(serialize_sqlite_transactions, "installed", False):
        return
    turns = _WriterTurns()

    @event.listens_for(Engine, "connect")
    def _connect(dbapi_connection, _record):
        if isinstance(dbapi_connection, sqlite3.Connection):
            dbapi_connection.isolation_level = None
            dbapi_connection.execute("PRAGMA busy_timeout = 60000")

    @event.listens_for(Engine, "begin")
    def _begin(connection):
        if connection.dialect.name == "sqlite":
            database = connection.engine.url.database
            if database and database != ":memory:" and "coursekit.turn" not in connection.connection.info:
                path = turns.lock_file(database)
                turns.take(path)
                connection.connection.info["coursekit.turn"] = path
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    def _give_up(_dbapi_connection, record, *args):
        path = record.info.pop("coursekit.turn", None)
        if path is not None:
            turns.give_up(path)

    event.listen(Pool, "checkin", _give_up)
    event.listen(Pool, "invalidate", _give_up)
    serialize_sqlite_transactions.installed = True
