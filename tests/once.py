"""Work done once per test run, whichever pytest-xdist worker asks for it first.

A session fixture runs once in each worker process that uses it. The courses the suite grades with
nbgrader are too costly for that: ``once_per_run`` makes one of them, in a folder beside the workers'
own temporary folders, while the other workers that ask wait on a lock, then read what it returned
(pickled). Without xdist it behaves as a plain session fixture body.

What was made is removed by ``remove_made()`` at the end of the run, from the process that started
the workers (``pytest_sessionfinish`` in tests/conftest.py).
"""

from __future__ import annotations

import fcntl
import os
import pickle
from collections.abc import Callable
from pathlib import Path

from coursegrader.files import trees

FOLDER = "made-once"


def shared_folder(tmp_path_factory) -> Path:
    """The run's folder that every worker sees (the parent of each worker's basetemp under xdist)."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    folder = shared / FOLDER
    folder.mkdir(exist_ok=True)
    return folder


def once_per_run(tmp_path_factory, name: str, make: Callable[[Path], object]):
    """``make(folder)``'s result, ``make`` called by the first worker that asks, in ``<shared>/<name>``."""
    shared = shared_folder(tmp_path_factory)
    result = shared / f"{name}.pickle"
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # held while the first one makes it; the others wait here
        if result.exists():
            return pickle.loads(result.read_bytes())
        made = make(shared / name)
        result.write_bytes(pickle.dumps(made))
        return made


def remove_made(basetemp: Path) -> None:
    """Remove what ``once_per_run`` made in this run (its trees may be deeper than shutil.rmtree can walk)."""
    folder = basetemp / FOLDER
    if folder.is_dir():
        trees.remove_tree(folder)
