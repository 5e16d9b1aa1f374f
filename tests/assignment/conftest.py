"""A throwaway copy of the course, autograded once per test session with nbgrader itself."""

import io
import os
import shutil
from pathlib import Path

import pytest
from rich.console import Console

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENT = "16-permutation-equivariance"


def make_course(destination: Path) -> Path:
    """A course folder as an instructor has it: config and source/, nothing generated yet."""
    destination.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "nbgrader_config.py", destination / "nbgrader_config.py")
    shutil.copytree(ROOT / "source", destination / "source")
    return destination


@pytest.fixture(scope="session")
def graded_course(tmp_path_factory):
    """The whole `course demo` run (release, autograde, feedback, export) on the example bank."""
    from coursekit.demo import run_demo

    course = make_course(tmp_path_factory.mktemp("course"))
    os.environ.pop("NBGRADER_DB_URL", None)  # the throwaway course keeps its own gradebook
    output = io.StringIO()
    run_demo(course, ROOT / "tests" / "examples" / "submissions", Console(file=output, width=200))
    return course, output.getvalue()
