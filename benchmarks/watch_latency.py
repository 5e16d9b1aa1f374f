"""Feedback right after submitting: from ``nbgrader submit`` returning to the feedback being fetchable.

A course with the real ``nbgrader_config.py`` and an exchange in a temporary folder; the assignment
released with ``nbgrader release_assignment``; ``course watch --jobs 2`` started and left to warm up.
Then, side by side in one run:

1. single submissions: ``nbgrader submit`` run as a command, one at a time; for each, the time from the
   command returning to the page being in the exchange under its secret (where ``nbgrader
   fetch_feedback`` finds it), polled every 10 ms;
2. a burst of 100 submissions in 10 s, from 100 students: nbgrader's own submit (``ExchangeSubmit``,
   the code ``nbgrader submit`` runs) called in this process every 0.1 s — 100 ``nbgrader`` commands
   would take some 250 s of CPU just to start, more than the machine has in those 10 s — and the same
   latency for each, and how long the service took to drain the queue;
3. ``course autograde --jobs 2`` on the same 100 notebooks in a copy of the course: its cost per
   submission, the rate the burst is measured against.

Submissions are made by this process's account under other students' names, so the course turns the
owner check off (``c.WatchPolicy.check_owner = False``) and the attempt limit (0); nothing else differs
from a real course.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchmarks.class_grading import ASSIGNMENT, ROOT, environment, machine_times

COURSE_ID = "transformer-from-scratch"
SINGLES = 8
BURST, BURST_SECONDS = 100, 10.0


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


def examples() -> list[Path]:
    return sorted((ROOT / "tests" / "examples" / ASSIGNMENT / "class").glob("*/demo.ipynb"))


def page_name(secret: str) -> str:
    from nbgrader.utils import notebook_hash

    return notebook_hash(secret=secret, notebook_id="demo") + ".html"


def newest_submission(inbound: Path, student: str) -> Path:
    return max(inbound.glob(f"{student}+{ASSIGNMENT}+*"), key=lambda path: path.name.rsplit("+", 2)[1])


def wait_for(path: Path, timeout: float = 300) -> float:
    """Poll every 10 ms until ``path`` exists; the time it appeared (perf_counter)."""
    deadline = time.perf_counter() + timeout
    while not path.exists():
        if time.perf_counter() > deadline:
            raise TimeoutError(f"{path} did not appear in {timeout} s")
        time.sleep(0.01)
    return time.perf_counter()


def set_up(base: Path) -> tuple[Path, Path]:
    exchange = base / "exchange"
    exchange.mkdir(mode=0o1777)
    course = base / "course"
    course.mkdir(mode=0o700)
    config = (ROOT / "nbgrader_config.py").read_text() + f"""
c.Exchange.root = {str(exchange)!r}
c.WatchPolicy.check_owner = False
c.WatchPolicy.max_attempts = 0
"""
    (course / "nbgrader_config.py").write_text(config)
    shutil.copytree(ROOT / "source", course / "source")
    for command in (["generate_assignment", ASSIGNMENT, "--force"], ["release_assignment", ASSIGNMENT]):
        subprocess.run([sys.executable, "-m", "nbgrader", *command], cwd=course, check=True, capture_output=True,
                       env=environment())
    return course, exchange


def start_service(course: Path) -> tuple[subprocess.Popen, Path]:
    output = course / "watch.out"
    process = subprocess.Popen([str(Path(sys.executable).parent / "course"), "watch", ASSIGNMENT, "--jobs", "2"],
                               cwd=course, env=environment(), stdout=output.open("w"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 180
    while "workers ready" not in output.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"course watch did not start:\n{output.read_text()}")
        time.sleep(0.1)
    return process, output


def singles(course: Path, exchange: Path, student_home: Path) -> list[float]:
    """``nbgrader submit`` as a command, one at a time: seconds from its return to the page being released."""
    inbound, feedback = exchange / COURSE_ID / "inbound", exchange / COURSE_ID / "feedback"
    env = {**environment(), "HOME": str(student_home)}
    flags = [f"--course={COURSE_ID}", f"--Exchange.root={exchange}"]
    subprocess.run([sys.executable, "-m", "nbgrader", "fetch_assignment", *flags, ASSIGNMENT], cwd=student_home,
                   check=True, capture_output=True, env=env)
    latencies = []
    for index, notebook in zip(range(SINGLES), itertools.cycle(examples())):
        shutil.copy(notebook, student_home / ASSIGNMENT / "demo.ipynb")
        student = f"single{index:02d}"
        subprocess.run([sys.executable, "-m", "nbgrader", "submit", *flags, f"--student={student}", ASSIGNMENT],
                       cwd=student_home, check=True, capture_output=True, env=env)
        returned = time.perf_counter()
        secret = (newest_submission(inbound, student) / "submission_secret.txt").read_text()
        latencies.append(wait_for(feedback / page_name(secret)) - returned)
    return latencies


def burst(exchange: Path, work: Path) -> tuple[list[float], float]:
    """100 students submit within 10 s (nbgrader's ExchangeSubmit, in this process): each one's latency, and the
    seconds from the first submission to the last page released."""
    from nbgrader.auth import Authenticator
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.exchange.default.submit import ExchangeSubmit
    from traitlets.config import Config

    inbound, feedback = exchange / COURSE_ID / "inbound", exchange / COURSE_ID / "feedback"
    folders = []
    for index, notebook in zip(range(BURST), itertools.cycle(examples())):
        folder = work / f"b{index:03d}" / ASSIGNMENT
        folder.mkdir(parents=True)
        shutil.copy(notebook, folder / "demo.ipynb")
        folders.append(folder.parent)
    returned: dict[str, float] = {}
    released: dict[str, float] = {}
    done = threading.Event()

    def poll() -> None:
        names = {}
        while not done.is_set():
            for student in set(returned) - set(released):
                if student not in names:
                    try:
                        names[student] = page_name((newest_submission(inbound, student) / "submission_secret.txt")
                                                   .read_text())
                    except (ValueError, OSError):
                        continue
                if (feedback / names[student]).exists():
                    released[student] = time.perf_counter()
            if len(released) == BURST:
                return
            time.sleep(0.01)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    first = time.perf_counter()
    cwd = os.getcwd()
    try:
        for index, folder in enumerate(folders):
            time.sleep(max(0.0, first + index * BURST_SECONDS / BURST - time.perf_counter()))
            config = Config()
            config.CourseDirectory.course_id, config.Exchange.root = COURSE_ID, str(exchange)
            config.Exchange.cache = str(work / "cache")
            coursedir = CourseDirectory(config=config)
            coursedir.assignment_id, coursedir.student_id = ASSIGNMENT, folder.name
            os.chdir(folder)
            ExchangeSubmit(coursedir=coursedir, authenticator=Authenticator(config=config), config=config).start()
            returned[folder.name] = time.perf_counter()
    finally:
        os.chdir(cwd)
    poller.join(timeout=900)
    done.set()
    latencies = [released[student] - returned[student] for student in returned if student in released]
    if len(latencies) != BURST:
        raise RuntimeError(f"only {len(latencies)} of {BURST} pages were released")
    return latencies, max(released.values()) - first


def cpu_of(pid: int) -> float:
    """CPU seconds of the service's own process (not its workers): the loop, collecting, the journal, releasing."""
    import psutil

    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def autograde_cost(base: Path) -> tuple[float, float]:
    """``course autograde --jobs 2`` on the burst's 100 notebooks, then ``nbgrader generate_feedback`` for them:
    wall seconds per submission of each."""
    from benchmarks.class_grading import make_course

    course, _notebooks = make_course(base / "autograde", BURST)
    started = time.perf_counter()
    subprocess.run([str(Path(sys.executable).parent / "course"), "autograde", ASSIGNMENT, "--jobs", "2"], cwd=course,
                   check=True, capture_output=True, env=environment())
    graded = time.perf_counter()
    subprocess.run([sys.executable, "-m", "nbgrader", "generate_feedback", ASSIGNMENT], cwd=course, check=True,
                   capture_output=True, env=environment())
    return (graded - started) / BURST, (time.perf_counter() - graded) / BURST


def run() -> None:
    print("\n4. feedback right after submitting: `course watch --jobs 2`, from `nbgrader submit` returning to the "
          "page being fetchable")
    base = Path(tempfile.mkdtemp(prefix="coursekit-watch-bench-"))
    base.chmod(0o755)
    try:
        course, exchange = set_up(base)
        process, output = start_service(course)
        try:
            busy_before, _ = machine_times()
            single = singles(course, exchange, Path(tempfile.mkdtemp(dir=base)))
            print(f"   {'':44} {'median':>8} {'p95':>8} {'max':>8}")
            print(f"   {f'single submissions ({SINGLES}, one at a time)':44} {statistics.median(single):7.2f}s "
                  f"{percentile(single, 0.95):7.2f}s {max(single):7.2f}s", flush=True)
            service_cpu = cpu_of(process.pid)
            burst_latencies, drained = burst(exchange, base / "burst")
            busy_after, _ = machine_times()
            service_cpu = cpu_of(process.pid) - service_cpu
            print(f"   {f'burst: {BURST} submissions in {BURST_SECONDS:g} s':44} "
                  f"{statistics.median(burst_latencies):7.2f}s {percentile(burst_latencies, 0.95):7.2f}s "
                  f"{max(burst_latencies):7.2f}s", flush=True)
        finally:
            process.terminate()
            process.wait(timeout=120)
        split = [(float(grading), float(page)) for grading, page in
                 re.findall(r"✓ b\d+ \(attempt \d+\): \w+ in ([\d.]+) s, page written in ([\d.]+) s", output.read_text())]
        per_submission, feedback_per_submission = autograde_cost(base)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print(f"   burst drained in {drained:.1f} s: {drained / BURST:.3f} s a submission (grading and feedback page), "
          f"against `course autograde --jobs 2` {per_submission:.3f} s a submission (grading only): "
          f"{(drained / BURST) / per_submission:.2f}x; and its `nbgrader generate_feedback` "
          f"{feedback_per_submission:.3f} s a submission: with it, {(drained / BURST) / (per_submission + feedback_per_submission):.2f}x")
    print(f"   in the burst, each worker took a median {statistics.median(g for g, _ in split):.2f} s to grade a "
          f"submission and {statistics.median(p for _, p in split):.2f} s to write its page (wall, two at a time); "
          f"machine CPU busy during the singles and the burst: {busy_after - busy_before:.0f} s (2 cores); the "
          f"service's own process (watching, collecting, journal, releasing): {service_cpu / BURST * 1000:.0f} ms of "
          f"CPU a submission")


if __name__ == "__main__":
    run()
