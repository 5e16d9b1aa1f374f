"""``course autograde ASSIGNMENT``: nbgrader's autograde for a whole class, in parallel.

Each submission is graded by nbgrader's own ``Autograde`` converter, configured by the course's
``nbgrader_config.py`` exactly as ``nbgrader autograde`` configures it, so the gradebook and the
autograded notebooks are the same. What differs is how the work is spread:

- the gradebook is checked first (``check_gradebook``): one that cannot be reached, or that does not
  hold the assignment, stops the run at once, saying what to do;
- nbgrader is imported once, here; the worker processes are forked from this one, one submission
  at a time each (``--jobs``, the machine's cores by default), or the submissions go to the workers
  of a Dask cluster (``--scheduler``, ``coursegrader.classrun.cluster``), where each is graded in a
  process of its own;
- each worker forks its kernels from a factory that imported the kernel and the labs' libraries
  once (``coursegrader.run.factory``), into a bubblewrap sandbox per submission;
- a worker that dies or runs past its deadline is replaced, and its submission reported as failed;
  the others go on;
- with SQLite, every gradebook transaction takes the database's write lock when it begins and waits
  for it, so workers never meet half-way, and the next in line is woken as soon as it is free
  (``coursegrader.classrun.sqlite_turns``);
- a progress bar counts graded, failed and skipped submissions, with an estimate of the time left;
  nbgrader's log, one block per submission, goes to ``logs/course-autograde.log``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from coursegrader.classrun.app import check_gradebook, make_app, submitted_students
from coursegrader.classrun.grade import Outcome
from coursegrader.classrun.pool import LocalPool
from coursegrader.classrun.progress import progress_reporter

DEADLINE_MARGIN = 120  # seconds a submission may take beyond its notebook's time limit before its worker is replaced


@dataclass
class Summary:
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0
    log_path: Path | None = None
    stopped: str | None = None  # why the run ended before every submission was graded (the scheduler went away)

    def count(self, status: str) -> int:
        return sum(outcome.status == status for outcome in self.outcomes)


def autograde(course_root: Path, assignment: str, console, jobs: int | None = None, students: Iterable[str] = (),
              force: bool = False, scheduler: str | None = None, db_url: str | None = None) -> Summary:
    """Grade ``assignment``'s submissions in ``course_root``; return what happened to each."""
    from nbgrader.converters.base import NbGraderException  # noqa: F401 — nbgrader, imported once, before forking

    from coursegrader.adapters.execute import SandboxedExecute
    from coursekit.lab import find_lab

    find_lab(assignment)
    extra = [f"--CourseDirectory.db_url={db_url}"] if db_url else []
    app = make_app(course_root, assignment, force, extra)
    if scheduler and app.coursedir.db_url.startswith("sqlite"):
        raise SystemExit("course autograde --scheduler: the workers need a gradebook they can all reach; "
                         "set NBGRADER_DB_URL (or --db-url) to a PostgreSQL URL")
    check_gradebook(app.coursedir.db_url, assignment)
    if not scheduler:
        SandboxedExecute(config=app.config).refuse_unless_sandboxed()  # on a cluster, each worker is asked
    todo = submitted_students(app, assignment, students)
    jobs = max(1, jobs or os.cpu_count() or 1)
    summary = Summary()
    started = time.perf_counter()
    log_dir = Path(course_root) / "logs"
    log_dir.mkdir(exist_ok=True)
    summary.log_path = log_dir / "course-autograde.log"
    deadline = SandboxedExecute(config=app.config).notebook_timeout + DEADLINE_MARGIN
    progress, report = progress_reporter(console, len(todo))
    with summary.log_path.open("w", encoding="utf-8") as log, progress:
        log.write(f"course autograde {assignment}: {len(todo)} submissions, "
                  f"{'Dask scheduler ' + scheduler if scheduler else f'{jobs} local workers'}\n")

        def on_outcome(outcome: Outcome) -> None:
            summary.outcomes.append(outcome)
            log.write(f"\n===== {outcome.student}: {outcome.status} in {outcome.seconds:.2f} s"
                      f"{' — ' + outcome.error if outcome.error else ''}{' — ' + outcome.note if outcome.note else ''}"
                      f"\n{outcome.log}")
            log.flush()
            report(outcome)

        if scheduler:
            from coursegrader.classrun.cluster import ClusterLost, run_on_cluster  # imports dask: only when asked for

            try:
                run_on_cluster(app, course_root, assignment, todo, scheduler, force, deadline, on_outcome)
            except ClusterLost as lost:
                summary.stopped = str(lost)
                log.write(f"\n===== stopped: {lost}\n")
        else:
            LocalPool(app, assignment, jobs, deadline).run(todo, on_outcome)
    summary.seconds = time.perf_counter() - started
    return summary
