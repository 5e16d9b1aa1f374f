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
