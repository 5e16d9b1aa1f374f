"""Lab 00 generated once per test process, for the tests that need a fresh course with it released.

`nbgrader generate_assignment` is a process of its own (~4 s of imports) that writes the same gradebook
and release/ for every course made by ``make_course``: each test copies them from one generated course
instead. The tests of generating itself (test_release.py, `course release`) still run nbgrader.
"""

import os
import shutil
from pathlib import Path

from coursegrader.commands.nbgrader import run_nbgrader
from tests.assignment.conftest import ASSIGNMENT, make_course
from tests.examples.lab00 import BANK

_generated: Path | None = None


def generated_course(destination: Path, tmp_path_factory, extra_config: str = "", names=()) -> Path:
    """A course as ``make_course`` makes it, after `nbgrader generate_assignment`, with the bank's examples
    ``names`` in submitted/."""
    global _generated
    if _generated is None:
        os.environ.pop("NBGRADER_DB_URL", None)  # the throwaway course keeps its own gradebook
        template = make_course(tmp_path_factory.mktemp("generated"))
        run_nbgrader(["generate_assignment", ASSIGNMENT, "--force"], template)
        _generated = template
    course = make_course(destination, extra_config)
    shutil.copy2(_generated / "gradebook.db", course / "gradebook.db")
    shutil.copytree(_generated / "release", course / "release")
    for name in names:
        BANK.place(name, course / "submitted" / name / ASSIGNMENT, course)
    return course
