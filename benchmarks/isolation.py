"""What a process of its own per submission costs: grading in-process against the grading server's forks.

`course autograde --scheduler` grades each submission in a child forked for it from the worker's grading
server (coursegrader.classrun.gradeserver), because grading changes process-wide state (working
directory, os.environ, the app's logger) and a Dask worker runs several tasks at once in threads. This
measures, on the same submissions graded one at a time, side by side:

- in-process: `grade_one` in this process, the app made once (what a `--jobs` worker does);
- a fork per submission: `grade_one` in a child of the grading server, the app made in the child;
- the cluster's whole task: the child writes the course files, unpacks the submission, grades it and
  packs the graded folder (`grade_in_throwaway_course`), its result unpickled here.

CPU is the grading process's (with the processes it reaped: bubblewrap, the sandbox's setup), read from
the kernel's accounting, so other load on the machine moves it little; the kernels' own CPU is the same
in every mode (they are forked by the kernel factory) and is not counted. Also: what the server itself
costs per call (fork, relaying kernel requests), and what threads would leave on the table: the grading
process's CPU per submission is Python under one GIL, so N threads of one process grade at most
1/that submissions a second, N processes N times as many.

    .venv/bin/python -m benchmarks.isolation [SUBMISSIONS]
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psutil

from benchmarks.class_grading import ASSIGNMENT, make_course


def _cpu_of_this_process() -> float:
    own, reaped = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + reaped.ru_utime + reaped.ru_stime


def grade_in_child(course: str, student: str) -> tuple[str, float]:
    """In a child of the grading server: make the app, grade; return the status and the child's CPU seconds."""
    from coursegrader import speedups
    from coursegrader.classrun.app import make_app
    from coursegrader.classrun.grade import grade_one

    speedups.trust_gradebook_schema()
    app = make_app(Path(course), ASSIGNMENT, force=True)
    app.config.SandboxedExecute.fork_kernels = True
    outcome = grade_one(app, ASSIGNMENT, student)
    return outcome.status, _cpu_of_this_process()


def whole_task_in_child(files, student: str, submission: bytes, db_url: str):
    from coursegrader.classrun.cluster import grade_in_throwaway_course

    outcome, graded = grade_in_throwaway_course(files, ASSIGNMENT, student, submission, db_url)
    return outcome.status, len(graded), _cpu_of_this_process()


def nothing() -> float:
    return _cpu_of_this_process()


def _server_cpu(server) -> float:
    times = psutil.Process(server.process.pid).cpu_times()
    return times.user + times.system + times.children_user + times.children_system


def run(size: int = 10) -> None:
    from coursegrader import speedups
    from coursegrader.classrun.app import make_app
    from coursegrader.classrun.cluster import course_files
    from coursegrader.classrun.grade import grade_one
    from coursegrader.classrun.gradeserver import GradingServer
    from coursegrader.classrun.transfer import pack

    print(f"\n4. a process per submission: {size} submissions graded one at a time, in-process and forked")
    with tempfile.TemporaryDirectory(prefix="coursekit-bench-isolation-") as folder:
        course, _ = make_course(Path(folder) / "course", size)
        students = sorted(path.name for path in (course / "submitted").iterdir())
        os.environ.pop("NBGRADER_DB_URL", None)
        db_url = f"sqlite:///{course / 'gradebook.db'}"

        app = make_app(course, ASSIGNMENT, force=True)  # reading nbgrader_config.py applies the speedups
        speedups.trust_gradebook_schema()
        app.config.SandboxedExecute.fork_kernels = True
        rows = {"in-process (a --jobs worker)": [], "a fork per submission": [], "the cluster's whole task": []}
        grade_one(app, ASSIGNMENT, students[0])  # warm: the kernel factory, first-use caches
        for student in students:
            started, cpu = time.perf_counter(), _cpu_of_this_process()
            assert grade_one(app, ASSIGNMENT, student).status == "graded"
            rows["in-process (a --jobs worker)"].append((time.perf_counter() - started, _cpu_of_this_process() - cpu))

        started = time.perf_counter()
        server = GradingServer()
        server_start = time.perf_counter() - started
        try:
            server.call(nothing)
            calls = []
            for _ in range(10):
                before, started = _server_cpu(server), time.perf_counter()
                server.call(nothing)
                calls.append((time.perf_counter() - started, _server_cpu(server) - before))
            server.call(grade_in_child, str(course), students[0])  # warm, as above
            for student in students:
                before, started = _server_cpu(server), time.perf_counter()
                status, _ = server.call(grade_in_child, str(course), student)
                assert status == "graded"
                rows["a fork per submission"].append((time.perf_counter() - started, _server_cpu(server) - before))
            files = course_files(app, course, ASSIGNMENT)
            for student in students:
                submission, _ = pack(course / "submitted" / student / ASSIGNMENT, links=True)
                before, started = _server_cpu(server), time.perf_counter()
                status, _, _ = server.call(whole_task_in_child, files, student, submission, db_url)
                assert status == "graded"
                rows["the cluster's whole task"].append((time.perf_counter() - started, _server_cpu(server) - before))
        finally:
            server.close()
        shutil.rmtree(course, ignore_errors=True)

    print(f"   grading server start (imports nbgrader, the pipeline, the kernel factory): {server_start:.2f} s, once per worker process")
    print(f"   a call that does nothing (fork, pickle, answer): {statistics.median(w for w, _ in calls) * 1e3:.1f} ms wall, "
          f"{statistics.median(c for _, c in calls) * 1e3:.1f} ms CPU (median of {len(calls)})")
    print(f"   {'per submission (median)':34} {'wall':>8} {'CPU of grading':>15} {'vs in-process':>14}")
    base = statistics.median(cpu for _, cpu in rows["in-process (a --jobs worker)"])
    for label, figures in rows.items():
        wall, cpu = statistics.median(w for w, _ in figures), statistics.median(c for _, c in figures)
        print(f"   {label:34} {wall:7.3f}s {cpu:14.3f}s {cpu / base:13.2f}x")
    print(f"   threads of one process share one GIL: at most {1 / base:.1f} submissions/s of grading-process work, "
          f"however many threads; N processes (or forks) scale it N times, and share no cwd, environment or logger")


if __name__ == "__main__":
    import warnings

    from benchmarks import isolation  # by its module's name: the grading server's children import its functions

    warnings.simplefilter("ignore")
    isolation.run(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
