"""`course autograde --scheduler` on a real Dask cluster, with a real PostgreSQL gradebook: never a wrong grade.
(Split in two files that run side by side: this one, one worker with two threads and the scheduler lost;
test_cluster_processes.py, two worker processes and the runs that must stop before grading. Their
set-up is tests/assignment/cluster.py.)

The module starts a throwaway PostgreSQL server (Debian's package: initdb and pg_ctl, installed by
scripts/install_system_deps.sh), reached by its plain ``postgresql://`` URL, and a Dask scheduler; each
test starts the workers it needs with the README's command (``dask worker ADDRESS``, with the flags it
names), all started at once; one worker with two threads, on a scheduler of its own, serves the module.
Each layout grades a class that mixes correct work, realistic mistakes and hostile submissions
(links, FIFOs, odd names, huge printouts, code that writes links, FIFOs and a deep tree into its own
folder), and the shared gradebook, the autograded notebooks and the autograded folders must be what
`nbgrader autograde` leaves on this machine:

- one worker process with two threads (a worker runs as many tasks at once as it has threads), and two
  worker processes; in each, the worker process grading a submission is killed (SIGKILL) half-way: its
  submissions are graded again, by the restarted process or the other one, once each in the gradebook,
  and the summary says so;
- a scheduler that goes away: the command stops, saying so, non-zero; run again, it grades the rest;
- workers that cannot grade (no sandbox, not this project's code), a gradebook without the assignment,
  a gradebook on this machine's disk: the run stops before grading, saying what to do.
"""

from __future__ import annotations

import copy
import os
import re
import signal
from pathlib import Path

import pytest

from tests import commands
from tests.assignment.cluster import (
    SLOW,
    THREADS,
    THREADS_CLASS,
    assert_graded_once_each_as_nbgrader_did,
    autograde_killing_a_worker,
    autograde_on,
    dask_scheduler,
    dask_workers,
    expected_gradebook,
    expected_notebooks,
    tree_of,
)
from tests.assignment.conftest import ASSIGNMENT, HOSTILE
from tests.assignment.gradebooks import gradebook_content, graded_notebooks


def test_a_worker_process_with_two_threads_grades_as_nbgrader_even_killed_and_restarted(
        nbgrader_reference, threads_cluster, cluster_course, tmp_path):
    names = sorted({*THREADS_CLASS, *HOSTILE, SLOW})
    scheduler, workers = threads_cluster  # its one process restarted by the worker's nanny once killed
    course, db_url = cluster_course(tmp_path / "course", "two_threads", names)
    workers.joined()
    returncode, output = autograde_killing_a_worker(course, scheduler, db_url)
    by_nbgrader = nbgrader_reference()
    assert_graded_once_each_as_nbgrader_did(returncode, output, names, db_url, course, by_nbgrader)
    for student in names:
        graded = tree_of(course, student)
        assert graded == tree_of(by_nbgrader, student), student
        assert "link or special" not in graded.values(), student
    deep_tree = [path for path in tree_of(course, "isolation_writes_odd_files") if path.startswith("d")]
    assert 1 < max(len(Path(path).parts) for path in deep_tree) <= 16  # the 100-deep tree, cut where copy-out stops
    assert not (course / "gradebook.db").exists()  # nothing went to a local gradebook

    again = autograde_on(course, scheduler, db_url)
    assert f"0 graded, 0 failed, {len(names)} skipped" in again.stdout, again.stdout + again.stderr

def test_a_scheduler_that_goes_away_stops_the_run_and_a_rerun_grades_the_rest(
        nbgrader_reference, threads_cluster, cluster_course, tmp_path):
    names = ["block_raises", SLOW, "solution"]  # each graded by nbgrader in graded_both_ways
    # the README's first layout without its nanny (one interpreter instead of two): no worker is killed here
    with dask_scheduler() as (lost, address), dask_workers(address, ([*THREADS, "--no-nanny"], {})) as workers:
        course, db_url = cluster_course(tmp_path / "course", "resumed", names)
        workers.joined()
        command = commands.start("course", ["autograde", ASSIGNMENT, "--scheduler", address], course,
                                 {"NBGRADER_DB_URL": db_url})
        for line in command.lines():
            if "[1/3]" in line:
                os.kill(lost.pid, signal.SIGKILL)
        done = command.wait(120)
    first = done.stdout
    assert done.returncode != 0, first
    stopped = re.search(f"course autograde stopped: the Dask scheduler at {address} went away after ([12]) of 3", first)
    assert stopped and "run the same command again" in first, first
    done = int(stopped.group(1))

    scheduler, threads = threads_cluster  # the module's worker: the rerun needs no worker of its own
    threads.joined()
    second = autograde_on(course, scheduler, db_url)
    assert second.returncode == 0, second.stdout + second.stderr
    assert f"{3 - done} graded, 0 failed, {done} skipped" in second.stdout, second.stdout  # each graded once
    assert gradebook_content(db_url, ASSIGNMENT) == expected_gradebook(nbgrader_reference(), names)
    assert graded_notebooks(course, ASSIGNMENT) == expected_notebooks(nbgrader_reference(), names)

def test_a_worker_unlike_this_machine_is_named_with_what_differs(monkeypatch):
    from types import SimpleNamespace

    from traitlets.config import Config

    from coursegrader.classrun import cluster

    ours = cluster.environment()
    theirs = copy.deepcopy(ours)
    theirs["packages"]["numpy"] = "1.0.0"
    theirs["project"] = "another"

    class Client:
        def wait_for_workers(self, count, timeout):
            pass

        def run(self, function, *args, on_error):
            return {"tcp://10.0.0.9:4000": {**theirs, "host": "grader9", "sandbox": None},
                    "tcp://10.0.0.8:4000": {**ours, "host": "grader8", "sandbox": None}}

    with pytest.raises(SystemExit) as stopped:
        cluster.check_workers(Client(), SimpleNamespace(config=Config()), "tcp://scheduler:8786")
    message = str(stopped.value)
    assert "tcp://10.0.0.9:4000 (grader9) would not grade as this machine does" in message
    assert f"numpy 1.0.0 there, {ours['packages']['numpy']} here" in message and "another version of this project" in message
    assert "10.0.0.8" not in message
