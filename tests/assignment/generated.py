"""Lab 00 generated once per test run, for the tests that need a fresh course with it released.

`nbgrader generate_assignment` writes the same gradebook and release/ for every course made by
``make_course``: it runs once (``tests.once``, whichever worker asks first), and each test copies them from
that generated course. The tests of generating itself (test_release.py, `course release`) still run nbgrader.
"""

import os
from pathlib import Path

from tests import commands
from tests.assignment.conftest import ASSIGNMENT, copy_generated, make_course
from tests.examples.lab00 import BANK
from tests.once import once_per_run


def _generate(folder: Path) -> Path:
    template = make_course(folder)
    commands.nbgrader(["generate_assignment", ASSIGNMENT, "--force"], template)
    return template


def generated_course(destination: Path, tmp_path_factory, extra_config: str = "", names=()) -> Path:
    """A course as ``make_course`` makes it, after `nbgrader generate_assignment`, with the bank's examples
    ``names`` in submitted/."""
    os.environ.pop("NBGRADER_DB_URL", None)  # the throwaway course keeps its own gradebook
    generated = once_per_run(tmp_path_factory, "generated", _generate)
    course = make_course(destination, extra_config)
    copy_generated(generated, course)
    for name in names:
        BANK.place(name, course / "submitted" / name / ASSIGNMENT, course)
    return course
