"""``LocalPool``: worker processes forked from the command, one submission at a time each; a dead or overdue
worker is replaced and its submission reported as failed."""

from __future__ import annotations

import gc
import multiprocessing
import signal
import time
from collections.abc import Callable
from multiprocessing.connection import wait

from coursegrader.classrun.grade import Outcome, grade_one
from coursegrader.classrun.sqlite_turns import serialize_sqlite_transactions



def _worker(app, assignment: str, slot: int, connection) -> None:
    """A worker process: forked from the command after nbgrader was imported; grades what it is sent."""
    import warnings

    from coursegrader import speedups

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the command handles Ctrl-C and stops its workers
    warnings.simplefilter("ignore")  # nbgrader's SQLAlchemy warnings would interleave on the console
    speedups.forget_engines()  # never share a database connection with the process it was forked from
    speedups.trust_gradebook_schema()  # this process ends with the run (if nbgrader_config.py enabled them)
    gc.freeze()  # what was imported lives as long as this process: the collector need not walk it (~10 ms a submission)
    app.config.SandboxedExecute.fork_kernels = True
    serialize_sqlite_transactions()
    while True:
        try:
            student = connection.recv()
        except EOFError:
            return
        if student is None:
            return
        connection.send(grade_one(app, assignment, student))


class LocalPool:
    """``jobs`` worker processes forked from this one; a dead or overdue worker is replaced."""

    def __init__(self, app, assignment: str, jobs: int, deadline: float):
        self.app, self.assignment, self.jobs, self.deadline = app, assignment, jobs, deadline
        self.context = multiprocessing.get_context("fork")

    def _start(self, slot: int):
        ours, theirs = self.context.Pipe()
        process = self.context.Process(target=_worker, args=(self.app, self.assignment, slot, theirs), daemon=True)
        process.start()
        theirs.close()
        return process, ours

    def run(self, students: list[str], on_outcome: Callable[[Outcome], None]) -> None:
        queue = list(reversed(students))
        workers = {slot: self._start(slot) for slot in range(min(self.jobs, len(students)))}
        busy: dict[int, tuple[str, float]] = {}  # slot -> (student, started)
        try:
            while queue or busy:
                for slot, (process, connection) in workers.items():
                    if slot not in busy and queue:
                        student = queue.pop()
                        connection.send(student)
                        busy[slot] = (student, time.monotonic())
                ready = wait([workers[slot][1] for slot in busy] + [workers[slot][0].sentinel for slot in busy],
                             timeout=1.0)
                for slot in list(busy):
                    process, connection = workers[slot]
                    student, started = busy[slot]
                    if connection in ready:
                        try:
                            on_outcome(connection.recv())
                            del busy[slot]
                            continue
                        except (EOFError, OSError):
                            pass
                    died = not process.is_alive()
                    overdue = time.monotonic() - started > self.deadline
                    if died or overdue:
                        reason = (f"its grading process died (exit {process.exitcode})" if died
                                  else f"it took longer than {self.deadline:.0f} s")
                        process.kill()
                        process.join()
                        on_outcome(Outcome(student, "failed", time.monotonic() - started, "", reason))
                        del busy[slot]
                        workers[slot] = self._start(slot)
        finally:
            for process, connection in workers.values():
                try:
                    connection.send(None)
                except OSError:
                    pass
            for process, _ in workers.values():
                process.join(timeout=5)
                if process.is_alive():
                    process.kill()
