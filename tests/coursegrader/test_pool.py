"""The local workers of `course autograde`: a worker that dies or hangs costs its submission only."""

import os
import time
from types import SimpleNamespace

from traitlets.config import Config

import coursegrader.autograde as autograde_module
from coursegrader.autograde import LocalPool, Outcome


def fake_grade(app, assignment, student):
    if student == "dies":
        os._exit(3)
    if student == "hangs":
        time.sleep(120)
    return Outcome(student, "graded", 0.01, f"graded {student} in worker {os.getpid()}\n")


def test_a_dead_or_overdue_worker_is_replaced_and_the_others_go_on(monkeypatch):
    monkeypatch.setattr(autograde_module, "grade_one", fake_grade)
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
