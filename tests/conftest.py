"""What every test of the suite shares."""

import pytest

# the cluster tests' fixtures (a PostgreSQL server, Dask schedulers and workers, each per test module)
pytest_plugins = ["tests.assignment.cluster"]


@pytest.fixture(autouse=True)
def nbgrader_as_shipped_after_each_test():
    """A test that reads nbgrader_config.py in its own process applies coursegrader.speedups there: put
    nbgrader, nbformat and jupyter_client back as shipped after it, so no later test runs patched."""
    yield
    from coursegrader import speedups

    if speedups.applied():
        speedups.remove()


def pytest_sessionfinish(session):
    """In the process that started the run (not in an xdist worker): remove what tests.once made."""
    if hasattr(session.config, "workerinput"):
        return
    from tests.once import remove_made

    factory = getattr(session.config, "_tmp_path_factory", None)
    if factory is not None:
        remove_made(factory.getbasetemp())


# Files that take longest, or build what others wait for, handed to the workers first (pytest-xdist hands out
# files in collection order, with --no-loadscope-reorder in pyproject.toml): the suite then ends on short files,
# not on one long file alone (the last five here: 3–6 s files that ended the run when collection order left them
# to the end). test_adversarial.py first: it grades the classes (graded_classes) that the cluster
# tests compare with at their end and test_parallel.py reads; test_autograde.py grades the demo others read.
LONGEST_FIRST = ("assignment/test_adversarial.py", "assignment/test_cluster.py",
                 "assignment/test_cluster_processes.py", "service/test_watch_end_to_end.py",
                 "assignment/test_autograde.py", "assignment/test_second_lab.py",
                 "assignment/test_pages_run_nothing.py", "assignment/test_formgrader.py",
                 "assignment/test_parallel.py", "student/test_browser_student.py",
                 "coursegrader/run/test_sandbox.py", "assignment/test_zip_collect.py", "assignment/test_interrupted.py",
                 "assignment/test_intake_limits.py", "coursegrader/speedups/test_speedups.py", "test_commands.py",
                 "coursegrader/classrun/test_gradeserver.py", "coursegrader/run/test_output_limit.py",
                 "coursekit/test_student_kit.py", "test_nbgrader_suite.py")


def pytest_collection_modifyitems(session, config, items):
    def rank(item) -> int:
        path = item.path.as_posix()
        return next((index for index, name in enumerate(LONGEST_FIRST) if path.endswith("tests/" + name)),
                    len(LONGEST_FIRST))

    items.sort(key=rank)  # stable: within a rank, the order pytest collected
