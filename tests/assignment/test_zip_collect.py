"""Collecting from an LMS: a Canvas submissions export, through `nbgrader zip_collect` as nbgrader_config.py sets it.

Canvas names each file `<name>_<user id>_<submission id>_<file>`, with `LATE_` after the name for a late
one, and renames a resubmitted `demo.ipynb` to `demo-1.ipynb`. The course collects by Canvas user id.
"""

import zipfile

from tests import commands
from tests.assignment.conftest import ASSIGNMENT, TEST_LIMITS, run_course
from tests.assignment.generated import generated_course
from tests.examples.lab00 import BANK


def test_a_canvas_export_is_collected_and_graded(tmp_path, tmp_path_factory):
    course = generated_course(tmp_path / "course", tmp_path_factory, TEST_LIMITS)
    archive = course / "downloaded" / ASSIGNMENT / "archive"
    archive.mkdir(parents=True)
    with zipfile.ZipFile(archive / "submissions.zip", "w") as export:
        export.write(BANK.path_of("solution"), "smithjane_101_5001_demo.ipynb")
        export.write(BANK.path_of("features_permuted"), "doejohn_LATE_102_5002_demo-1.ipynb")
        export.write(BANK.path_of("bad_date"), "o-learyann_103_5003_demo.ipynb")
    log = commands.nbgrader(["zip_collect", ASSIGNMENT], course).stdout
    submitted = sorted(path.relative_to(course / "submitted").as_posix()
                       for path in (course / "submitted").glob(f"*/{ASSIGNMENT}/*.ipynb"))
    assert submitted == [f"101/{ASSIGNMENT}/demo.ipynb", f"102/{ASSIGNMENT}/demo-1.ipynb",
                         f"103/{ASSIGNMENT}/demo.ipynb"], log
    graded = run_course(["autograde", ASSIGNMENT], course)
    assert "3 graded, 0 failed" in graded.stdout, graded.stdout + graded.stderr
    notes = (course / "autograded" / "102" / ASSIGNMENT / "demo.ipynb").read_text()
    assert "graded in its place" in notes  # Canvas's renamed notebook, graded, with a note
