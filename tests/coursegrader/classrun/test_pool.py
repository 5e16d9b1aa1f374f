"""The local workers of `course autograde`: a worker that dies or hangs costs its submission only."""

import os
import time
from types import SimpleNamespace

from traitlets.config import Config

import coursegrader.classrun.pool as pool_module
from coursegrader.classrun import sqlite_turns
from coursegrader.classrun.grade import Outcome
from coursegrader.classrun.pool import LocalPool


def fake_grade(app, assignment, student):
    if student == "dies":
        os._exit(3)
    if student == "hangs":
        time.sleep(120)
    return Outcome(student, "graded", 0.01, f"graded {student} in worker {os.getpid()}\n")


def test_a_dead_or_overdue_worker_is_replaced_and_the_others_go_on(monkeypatch):
    import nbgrader.converters  # noqa: F401 — imported before the workers are forked, as `course autograde` does: a
    # replaced worker starts at once, and the 3 s deadline measures the submission, not nbgrader's import
    monkeypatch.setattr(pool_module, "grade_one", fake_grade)
    outcomes = []
    started = time.monotonic()
    LocalPool(SimpleNamespace(config=Config()), "lab", jobs=2, deadline=3).run(
        ["a", "dies", "b", "hangs", "c", "d"], outcomes.append)
    by_student = {outcome.student: outcome for outcome in outcomes}
    assert sorted(by_student) == ["a", "b", "c", "d", "dies", "hangs"]
    assert {student for student, outcome in by_student.items() if outcome.status == "graded"} == {"a", "b", "c", "d"}
    assert "died" in by_student["dies"].error and "longer than 3 s" in by_student["hangs"].error
    assert time.monotonic() - started < 30
    workers = {outcome.log.split()[-1] for outcome in outcomes if outcome.status == "graded"}
    assert len(workers) >= 2  # the work was spread, and replaced workers took over


def _hold_a_transaction(database: str, steps) -> None:
    """In a child process: the workers' SQLite set-up, one write transaction, a pause at each step."""
    from sqlalchemy import create_engine, text

    sqlite_turns.serialize_sqlite_transactions()
    engine = create_engine(f"sqlite:///{database}")
    with engine.connect() as connection:
        connection.execute(text("CREATE TABLE IF NOT EXISTS t (a INTEGER)"))
        connection.commit()
        steps.send("committed, still connected")
        steps.recv()
        connection.execute(text("INSERT INTO t VALUES (1)"))
        steps.send("in a transaction")
        steps.recv()
        connection.commit()
    steps.send("connection back in its pool")
    steps.recv()


def test_a_connection_holds_the_writer_turn_from_its_first_transaction_until_it_goes_back_to_its_pool(tmp_path):
    import fcntl
    import multiprocessing

    database = str(tmp_path / "gradebook.db")
    lock_file = sqlite_turns._WriterTurns.lock_file(database)

    def turn_is_free() -> bool:
        descriptor = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        finally:
            os.close(descriptor)  # closing the descriptor gives a lock taken here back
        return True

    context = multiprocessing.get_context("fork")
    ours, theirs = context.Pipe()
    child = context.Process(target=_hold_a_transaction, args=(database, theirs))
    child.start()
    seen = []
    for _ in range(3):
        assert ours.poll(60)
        seen.append((ours.recv(), turn_is_free()))
        ours.send("go on")
    child.join(30)
    assert child.exitcode == 0
    # a connection keeps the turn from its first transaction until it goes back to the pool
    assert seen == [("committed, still connected", False), ("in a transaction", False),
                    ("connection back in its pool", True)]
