"""`course autograde --scheduler` with two worker processes, one killed half-way, and the runs that must stop
before grading: workers that cannot grade (no sandbox, not this project's code), a gradebook without the
assignment, a gradebook on this machine's disk. The other half of the cluster tests is test_cluster.py;
their set-up, tests/assignment/cluster.py.
"""


from __future__ import annotations

from tests.assignment.cluster import (
    PROCESSES,
    PROCESSES_CLASS,
    SLOW,
    assert_graded_once_each_as_nbgrader_did,
    autograde_killing_a_worker,
    autograde_on,
    dask_workers,
    place,
)
from tests.assignment.conftest import ASSIGNMENT, TEST_LIMITS, make_course, run_course


def test_workers_that_cannot_grade_stop_the_run_before_it_starts_saying_what_to_do(scheduler, cluster_course, tmp_path):
    impostor = tmp_path / "impostor"
    (impostor / "coursegrader").mkdir(parents=True)
    (impostor / "coursegrader" / "__init__.py").write_text("")  # another coursegrader, without this project's code
    # without a nanny: the worker runs in the `dask worker` process itself, one interpreter instead of two each,
    # with the same environment (what the run looks at here)
    with dask_workers(scheduler, (["--nthreads", "1", "--no-nanny"], {"PATH": "/nonexistent"}),
                      (["--nthreads", "1", "--no-nanny"], {"PYTHONPATH": str(impostor)})) as workers:
        course, db_url = cluster_course(tmp_path / "course", "refused", ["solution"])
        workers.joined()
        result = autograde_on(course, scheduler, db_url)
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "0 graded" not in output, output
    assert "cannot start a sandbox" in output and "install bubblewrap there" in output
    assert "cannot run this project's code" in output and "start `dask worker` from it" in output
    assert not (course / "autograded").exists()

def test_a_gradebook_without_the_assignment_is_named_with_the_fix(scheduler, new_database, tmp_path):
    # psycopg2's form of the URL: it works as it did, beside the plain one (psycopg 3) the other tests use
    db_url = new_database("never_generated").replace("postgresql://", "postgresql+psycopg2://")
    course = make_course(tmp_path / "course", TEST_LIMITS)
    place("solution", course)
    result = autograde_on(course, scheduler, db_url)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert f"assignment {ASSIGNMENT} is not in the gradebook postgresql+psycopg2://" in output
    assert f"run `nbgrader generate_assignment {ASSIGNMENT} --force` against that gradebook" in output
    assert "above traceback" not in output

def test_a_cluster_needs_a_shared_gradebook(scheduler, tmp_path):
    course = make_course(tmp_path / "course", TEST_LIMITS)
    place("solution", course)
    result = run_course(["autograde", ASSIGNMENT, "--scheduler", scheduler], course)
    assert result.returncode != 0 and "PostgreSQL URL" in result.stdout + result.stderr

def test_two_worker_processes_grade_as_nbgrader_the_other_taking_over_from_one_killed(
        nbgrader_reference, scheduler, cluster_course, tmp_path):
    names = sorted({*PROCESSES_CLASS, SLOW})
    processes = int(PROCESSES[PROCESSES.index("--nworkers") + 1])
    with dask_workers(scheduler, (PROCESSES, {}), processes=processes) as workers:
        course, db_url = cluster_course(tmp_path / "course", "two_processes", names)
        workers.joined()
        returncode, output = autograde_killing_a_worker(course, scheduler, db_url)
    assert_graded_once_each_as_nbgrader_did(returncode, output, names, db_url, course, nbgrader_reference())
