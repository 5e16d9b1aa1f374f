"""A pytest plugin: coursegrader.speedups applied before any test runs (``-p speedups_pytest_plugin``).

``scripts/nbgrader_suite.py`` runs nbgrader's shipped tests with it, and writes down which fixes were in
force (in the file named by ``COURSEGRADER_SPEEDUPS_APPLIED``), so a run in which a fix was skipped
cannot pass for a run with the speedups.
"""

import os
from pathlib import Path


def pytest_configure(config):
    from coursegrader import speedups

    applied = speedups.apply()
    record = os.environ.get("COURSEGRADER_SPEEDUPS_APPLIED")
    if record:
        Path(record).write_text("\n".join(applied) + "\n")
