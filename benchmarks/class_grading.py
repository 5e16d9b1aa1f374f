"""Grading a whole class: `nbgrader autograde` against `course autograde --jobs 2`, side by side in one run.

A class of N submissions is made from the example class (tests/examples/<assignment>/class/: correct
notebooks and realistic mistakes, cycled), placed in fresh copies of the course, and graded there by
each command with the same nbgrader_config.py, and by `course autograde` once more with the speedups
off (`c.CourseSpeedups.enabled = False` in that copy's nbgrader_config.py). Reported: the wall time of
each command, their ratio, the time per submission, the CPU time per submission (the machine's busy
time during the run, which a noisy neighbour moves less than the wall time), the floor (the same
students' code run as plain `python` scripts, two at a time), and the peak memory of each command's
whole process tree (sampled every 0.05 s), for two class sizes, to show whether memory stays flat as
the class grows.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import psutil

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "16-permutation-equivariance"


def environment() -> dict[str, str]:
    """The instructor's environment (the venv's tools first on PATH), with the course's own gradebook."""
    from coursegrader.commands.nbgrader import nbgrader_env

    return {name: value for name, value in nbgrader_env().items() if name != "NBGRADER_DB_URL"}


def make_class(course: Path, size: int) -> list[Path]:
    """``size`` submissions in ``course/submitted``, cycling through the example class; their notebooks."""
    examples = sorted((ROOT / "tests" / "examples" / ASSIGNMENT / "class").glob("*/demo.ipynb"))
    notebooks = []
    for index, example in zip(range(size), itertools.cycle(examples)):
        folder = course / "submitted" / f"s{index:04d}-{example.parent.name}" / ASSIGNMENT
        folder.mkdir(parents=True)
        shutil.copy(example, folder / "demo.ipynb")
        notebooks.append(folder / "demo.ipynb")
    return notebooks


SWITCH = "c.CourseSpeedups.enabled = True\n"


def make_course(folder: Path, size: int, speedups: bool = True) -> tuple[Path, list[Path]]:
    folder.mkdir(parents=True)
    config = (ROOT / "nbgrader_config.py").read_text()
    if config.count(SWITCH) != 1:
        raise RuntimeError(f"nbgrader_config.py should say {SWITCH!r} once: the benchmark turns it off in a copy")
    if not speedups:
        config = config.replace(SWITCH, SWITCH.replace("True", "False"))
    (folder / "nbgrader_config.py").write_text(config)
    shutil.copytree(ROOT / "source", folder / "source")
    subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", ASSIGNMENT, "--force"], cwd=folder,
                   check=True, capture_output=True, env=environment())
    return folder, make_class(folder, size)


def machine_times() -> tuple[float, float]:
    """(busy, stolen) CPU seconds of this machine so far, from /proc/stat: busy is user, nice, system,
    irq and softirq time on all cores; stolen is time a virtual machine's cores waited for its host."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    ticks = os.sysconf("SC_CLK_TCK")
    return (user + nice + system + irq + softirq) / ticks, steal / ticks


def measured(command: list[str], cwd: Path) -> tuple[float, float, float, float]:
    """(wall seconds, peak MiB of the command's whole process tree, CPU seconds the machine was busy
    meanwhile, CPU seconds stolen by the host meanwhile)."""
    peak = 0
    busy_before, stolen_before = machine_times()
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=environment())
    done = threading.Event()

    def sample():
        nonlocal peak
        while not done.is_set():
            try:
                root = psutil.Process(process.pid)
                tree = [root, *root.children(recursive=True)]
            except psutil.Error:
                tree = []
            total = 0
            for member in tree:
                try:
                    total += member.memory_info().rss
                except psutil.Error:
                    pass
            peak = max(peak, total)
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    returncode = process.wait()
    done.set()
    sampler.join()
    wall = time.perf_counter() - started
    busy_after, stolen_after = machine_times()
    if returncode != 0:
        raise RuntimeError(f"`{' '.join(command)}` exited with {returncode}")
    return wall, peak / 2**20, busy_after - busy_before, stolen_after - stolen_before


def student_script(notebook: Path) -> str:
    """The student's code as a plain script: the provided set-up cell and the student's own cells (no test
    cells, and not the check_all cell, whose self-checks import jsonschema: 2 s that is not student code)."""
    cells = nbformat.read(notebook, as_version=4).cells
    return "\n\n".join(cell.source for cell in cells if cell.cell_type == "code"
                       and (cell.metadata.get("nbgrader", {}).get("solution")
                            or cell.metadata.get("nbgrader", {}).get("grade_id") == "setup"))


def floor(notebooks: list[Path], folder: Path) -> float:
    """Wall seconds to run every student's code as `python script.py`, two at a time."""
    scripts = []
    for index, notebook in enumerate(notebooks):
        work = folder / f"{index:04d}"
        work.mkdir(parents=True)
        (work / "demo.py").write_text(student_script(notebook))
        scripts.append(work)
    started = time.perf_counter()
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda work: subprocess.run([sys.executable, "demo.py"], cwd=work, capture_output=True), scripts))
    return time.perf_counter() - started


def run(sizes: tuple[int, int] = (50, 200)) -> None:
    small, large = sizes
    print(f"\n3. grading a class of {large} submissions (and {small}), same nbgrader_config.py, 2 cores")
    with tempfile.TemporaryDirectory(prefix="coursekit-bench-") as folder:
        base = Path(folder)
        course_bin = str(Path(sys.executable).parent / "course")
        figures = {}
        for size in (small, large):
            course, notebooks = make_course(base / f"course-{size}", size)
            figures[("course", size)] = measured([course_bin, "autograde", ASSIGNMENT, "--jobs", "2"], course)
        course, _ = make_course(base / "course-off", large, speedups=False)
        figures[("course off", large)] = measured([course_bin, "autograde", ASSIGNMENT, "--jobs", "2"], course)
        nbgrader_course, notebooks = make_course(base / "nbgrader", large)
        figures[("nbgrader", large)] = measured([sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT],
                                                nbgrader_course)
        floor_seconds = floor(notebooks, base / "floor")

    nbgrader_seconds, _, nbgrader_cpu, _ = figures[("nbgrader", large)]
    course_seconds, course_peak, course_cpu, _ = figures[("course", large)]
    off_seconds, _, off_cpu, _ = figures[("course off", large)]
    small_peak = figures[("course", small)][1]
    print(f"   {'':40} {'wall':>9} {'per submission':>15} {'CPU per sub':>12} {'stolen':>8} {'peak memory':>12}")
    for label, (seconds, peak, cpu, stolen), size in [
            ("nbgrader autograde", figures[("nbgrader", large)], large),
            ("course autograde --jobs 2", figures[("course", large)], large),
            ("course autograde --jobs 2, speedups off", figures[("course off", large)], large),
            (f"course autograde --jobs 2 ({small})", figures[("course", small)], small)]:
        print(f"   {label:40} {seconds:8.1f}s {seconds / size:14.3f}s {cpu / size:11.3f}s {stolen:7.1f}s "
              f"{peak:10.0f}MiB")
    print(f"   {'floor: plain python scripts, 2 at a time':40} {floor_seconds:8.1f}s {floor_seconds / large:14.3f}s")
    print(f"   ratio nbgrader/course: {nbgrader_seconds / course_seconds:.1f}x wall, "
          f"{nbgrader_cpu / course_cpu:.1f}x CPU; course per submission / floor: {course_seconds / floor_seconds:.1f}x; "
          f"peak memory {large} vs {small} submissions: {course_peak / small_peak:.2f}x")
    print(f"   speedups (coursegrader.speedups): course autograde takes {off_seconds / course_seconds:.2f}x the wall "
          f"time and {off_cpu / course_cpu:.2f}x the CPU without them, "
          f"{(off_seconds - course_seconds) / large:.3f} s a submission")
    print("   (CPU: the machine's busy time during the run, all cores; stolen: time this virtual machine's cores\n"
          "    waited for their host, a sign of a noisy neighbour — compare runs by their ratios)")


if __name__ == "__main__":
    run()
