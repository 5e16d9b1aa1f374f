"""nbgrader, set up as ``nbgrader autograde`` sets itself up: the app, and the submissions it would grade."""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Iterable
from pathlib import Path


def make_app(course_root: Path, assignment: str, force: bool = False, extra: Iterable[str] = ()):
    """An initialised ``AutogradeApp``: the course's configuration, loaded as `nbgrader autograde` loads it."""
    from nbgrader.apps import AutogradeApp

    app = AutogradeApp()
    cwd = os.getcwd()
    os.chdir(course_root)
    try:
        app.initialize([*(["--force"] if force else []), *extra])
    finally:
        os.chdir(cwd)
    app.coursedir.assignment_id = assignment
    return app


def check_gradebook(db_url: str, assignment: str) -> None:
    """Before grading anything: the gradebook opens from here and holds ``assignment``; otherwise stop the run
    with one line that names the cause and the fix (nbgrader would fail every submission, each saying only
    "see the above traceback")."""
    from nbgrader.api import Gradebook, MissingEntry
    from sqlalchemy.exc import DBAPIError, NoSuchModuleError

    from coursegrader.classrun.grade import explain, gradebook_unreachable, shown_url

    try:
        with Gradebook(db_url) as gradebook:
            gradebook.find_assignment(assignment)
    except MissingEntry:
        raise SystemExit(f"course autograde: assignment {assignment} is not in the gradebook {shown_url(db_url)}: run "
                         f"`nbgrader generate_assignment {assignment} --force` against that gradebook (with the same "
                         "NBGRADER_DB_URL or --db-url), then grade again") from None
    except (DBAPIError, NoSuchModuleError, ModuleNotFoundError) as error:
        raise SystemExit(f"course autograde: {gradebook_unreachable(error, db_url)}") from None
    except FileNotFoundError as error:
        if error.filename != "alembic":
            raise
        raise SystemExit(f"course autograde: {explain(error, assignment, db_url)}") from None


def submitted_students(app, assignment: str, only: Iterable[str] = ()) -> list[str]:
    """Every student with something in submitted/<student>/<assignment> (a folder, or anything else)."""
    coursedir = app.coursedir
    pattern = coursedir.format_path(coursedir.submitted_directory, "*", assignment)
    regexp = coursedir.format_path(coursedir.submitted_directory, "(?P<student>[^/]+)", re.escape(assignment), escape=True)
    found = sorted(match.group("student") for path in glob.glob(pattern) if (match := re.fullmatch(regexp, path)))
    wanted = set(only)
    if wanted:
        missing = wanted - set(found)
        if missing:
            raise SystemExit(f"course autograde: no submission of {assignment} for {', '.join(sorted(missing))} "
                             f"in {coursedir.format_path(coursedir.submitted_directory, '<student>', assignment)}")
        found = [student for student in found if student in wanted]
    return found
