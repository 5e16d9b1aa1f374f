"""One submission's outcome (coursegrader.classrun.grade): the cause and the fix in one line, never "see the traceback"."""

import os

import pytest

from coursegrader.classrun.grade import explain, grade_one
from coursegrader.commands.nbgrader import nbgrader_env
from tests.assignment.conftest import ASSIGNMENT, TEST_LIMITS, make_course
from tests.examples.lab00 import BANK


def test_a_submission_of_an_assignment_never_generated_fails_saying_to_generate_it(tmp_path, monkeypatch):
    from coursegrader.classrun.app import make_app

    monkeypatch.delenv("NBGRADER_DB_URL", raising=False)
    monkeypatch.setenv("PATH", nbgrader_env()["PATH"])  # nbgrader runs alembic by name to make a gradebook
    course = make_course(tmp_path / "course", TEST_LIMITS)
    BANK.place("solution", course / "submitted" / "solution" / ASSIGNMENT, course)
    app = make_app(course, ASSIGNMENT)
    cwd = os.getcwd()
    outcome = grade_one(app, ASSIGNMENT, "solution")
    assert os.getcwd() == cwd
    assert outcome.status == "failed"
    assert outcome.error.startswith(f"assignment {ASSIGNMENT} is not in the gradebook sqlite:///")
    assert f"run `nbgrader generate_assignment {ASSIGNMENT} --force` against that gradebook" in outcome.error
    assert "No assignment with ID" in outcome.log  # nbgrader's own lines stay in the log


@pytest.mark.parametrize("make, says", [
    (lambda: __import__("coursegrader.run.sandbox", fromlist=["x"]).SandboxUnavailable("bwrap not found"),
     "no sandbox can start on"),
    (lambda: __import__("sqlalchemy.exc", fromlist=["x"]).OperationalError(
        "SELECT 1", {}, Exception('connection to server at "db" failed: Connection refused')),
     "could not be reached from"),
    (lambda: ModuleNotFoundError("No module named 'psycopg'", name="psycopg"), "needs the database driver psycopg"),
    (lambda: ModuleNotFoundError("No module named 'coursegrader'", name="coursegrader"), "install this project's environment"),
    (lambda: FileNotFoundError(2, "No such file or directory", "alembic"), "activate this project's environment"),
])
def test_each_cause_is_named_with_its_fix_even_behind_nbgraders_own_error(make, says):
    from nbgrader.converters.base import NbGraderException

    cause = make()
    try:
        try:
            raise cause
        except Exception:
            raise NbGraderException("Please see the the above traceback for details") from None  # as nbgrader does
    except NbGraderException as wrapped:
        message = explain(wrapped, ASSIGNMENT, "postgresql://grader:secret@db.example.org/course")
    assert says in message and "above traceback" not in message and "secret" not in message
    assert "\n" not in message
