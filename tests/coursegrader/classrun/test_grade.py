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


def test_a_regrade_killed_once_nbgrader_touched_the_graded_folder_is_graded_again_not_skipped(tmp_path, monkeypatch,
                                                                                               tmp_path_factory):
    """The ledger forgets a submission before nbgrader removes its old graded folder, so a run killed from
    there on (here: half-way through that removal) leaves it to the next run."""
    import coursegrader.adapters.exporter
    from coursegrader.classrun.app import make_app
    from coursegrader.intake import ledger
    from tests.assignment.generated import generated_course

    monkeypatch.delenv("NBGRADER_DB_URL", raising=False)
    monkeypatch.setenv("PATH", nbgrader_env()["PATH"])
    course = generated_course(tmp_path / "course", tmp_path_factory, TEST_LIMITS, ["solution"])
    assert grade_one(make_app(course, ASSIGNMENT), ASSIGNMENT, "solution").status == "graded"
    assert ledger.finished(course, ASSIGNMENT, "solution")

    graded = course / "autograded" / "solution" / ASSIGNMENT

    def killed_half_way(path, set_aside):
        (graded / "demo.ipynb").unlink()
        raise KeyboardInterrupt  # what SIGINT does; SIGKILL leaves the same folder, with no chance to clean up

    with monkeypatch.context() as patch:
        patch.setattr(coursegrader.adapters.exporter, "remove_graded_folder", killed_half_way)
        with pytest.raises(KeyboardInterrupt):
            grade_one(make_app(course, ASSIGNMENT, force=True), ASSIGNMENT, "solution")
    assert graded.is_dir() and not (graded / "demo.ipynb").exists()
    assert not ledger.finished(course, ASSIGNMENT, "solution")
    assert grade_one(make_app(course, ASSIGNMENT), ASSIGNMENT, "solution").status == "graded"  # not "skipped"


def test_nbgraders_pre_convert_hook_forgets_the_submission_before_it_is_graded_again(tmp_path, monkeypatch):
    from coursegrader.adapters.hooks import forget_graded
    from coursegrader.intake import ledger

    monkeypatch.chdir(tmp_path)  # nbgrader runs its hooks in the course folder
    ledger.finish(tmp_path, ASSIGNMENT, "ada")
    ledger.finish(tmp_path, ASSIGNMENT, "grace")
    forget_graded(ASSIGNMENT, "*", [str(tmp_path / "submitted" / "ada" / ASSIGNMENT / "demo.ipynb")])
    assert not ledger.finished(tmp_path, ASSIGNMENT, "ada")
    assert ledger.finished(tmp_path, ASSIGNMENT, "grace")
