"""`course autograde --scheduler` on a real Dask cluster, with a real PostgreSQL gradebook.

The suite starts a throwaway PostgreSQL server (Debian's package: initdb and pg_ctl, installed by
scripts/install_system_deps.sh) and a Dask scheduler with two worker processes, grades the same
class as tests/assignment/test_parallel.py, and compares the shared gradebook with the one
`nbgrader autograde` left on this machine.
"""

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from coursegrader.commands.nbgrader import run_nbgrader
from tests.assignment.conftest import ASSIGNMENT, TEST_LIMITS, make_course
from tests.assignment.gradebooks import gradebook_content, graded_notebooks
from tests.assignment.conftest import CLASS, course_with_class, run_course
from tests.examples.lab00 import BANK


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def postgres_url():
    """A PostgreSQL server of its own, on a Unix socket, for the length of this module."""
    binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    assert binaries, "PostgreSQL is not installed: run `make system-deps` (scripts/install_system_deps.sh)"
    bin_dir = Path(binaries[-1])
    folder = Path(tempfile.mkdtemp(prefix="coursekit-postgres-"))
    port = free_port()
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_postgres:
        owner = pwd.getpwnam("postgres")
        os.chown(folder, owner.pw_uid, owner.pw_gid)
    run = lambda *command: subprocess.run([*as_postgres, *map(str, command)], check=True, capture_output=True)  # noqa: E731
    run(bin_dir / "initdb", "-D", folder / "data", "-A", "trust", "-U", "postgres")
    run(bin_dir / "pg_ctl", "-D", folder / "data", "-l", folder / "server.log", "-w",
        "-o", f"-k {folder} -p {port} -h ''", "start")
    try:
        run(bin_dir / "createdb", "-h", folder, "-p", port, "-U", "postgres", "gradebook")
        yield f"postgresql+psycopg2://postgres@/gradebook?host={folder}&port={port}"
    finally:
        run(bin_dir / "pg_ctl", "-D", folder / "data", "-m", "immediate", "stop")
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def dask_scheduler():
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        yield cluster.scheduler_address


def test_a_dask_cluster_with_postgres_leaves_the_gradebook_nbgrader_leaves(graded_both_ways, postgres_url,
                                                                          dask_scheduler, tmp_path):
    by_nbgrader, *_ = graded_both_ways
    course = make_course(tmp_path / "course", TEST_LIMITS)
    run_nbgrader(["generate_assignment", ASSIGNMENT, "--force", f"--CourseDirectory.db_url={postgres_url}"], course)
    for name in CLASS:
        BANK.place(name, course / "submitted" / name / ASSIGNMENT, course)
    result = run_course(["autograde", ASSIGNMENT, "--scheduler", dask_scheduler], course,
                        env={"NBGRADER_DB_URL": postgres_url})
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(CLASS)} graded, 0 failed" in result.stdout
    expected = gradebook_content(f"sqlite:///{by_nbgrader / 'gradebook.db'}", ASSIGNMENT)
    assert gradebook_content(postgres_url, ASSIGNMENT) == expected
    assert graded_notebooks(course, ASSIGNMENT) == graded_notebooks(by_nbgrader, ASSIGNMENT)
    assert not (course / "gradebook.db").exists()  # nothing went to a local gradebook

    again = run_course(["autograde", ASSIGNMENT, "--scheduler", dask_scheduler], course,
                       env={"NBGRADER_DB_URL": postgres_url})
    assert f"0 graded, 0 failed, {len(CLASS)} skipped" in again.stdout


def test_a_cluster_needs_a_shared_gradebook(dask_scheduler, tmp_path):
    course = course_with_class(tmp_path / "course", ["solution"])
    result = run_course(["autograde", ASSIGNMENT, "--scheduler", dask_scheduler], course)
    assert result.returncode != 0 and "PostgreSQL URL" in result.stdout + result.stderr
