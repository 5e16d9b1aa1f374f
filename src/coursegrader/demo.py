"""``course demo`` (``make demo``): the instructor's whole loop on the example class.

1. regenerate ``release/`` from ``source/`` (``nbgrader generate_assignment``);
2. place each example submission in ``submitted/<student>/<assignment>/``;
3. autograde them (``nbgrader autograde``), reporting each student as it goes;
4. write feedback HTML (``nbgrader generate_feedback``) and ``grades.csv`` (``nbgrader export``);
5. print each student's score per block, with the path of their feedback report.

Every step is nbgrader's own command, configured by ``nbgrader_config.py``; nothing here grades.
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

from rich.console import Console

from coursekit.classreport import class_scores, render
from coursekit.nbgrader_run import run_nbgrader

ASSIGNMENT = "16-permutation-equivariance"
NOTEBOOK = "demo"


def place_class(class_dir: Path, course_root: Path, assignment: str) -> list[str]:
    """Copy ``class_dir/<student>/<notebook>.ipynb`` into ``submitted/<student>/<assignment>/``."""
    students = sorted(path.parent.name for path in class_dir.glob(f"*/{NOTEBOOK}.ipynb"))
    if not students:
        raise FileNotFoundError(f"no example submissions found: expected {class_dir}/<student>/{NOTEBOOK}.ipynb")
    for student in students:
        target = course_root / "submitted" / student / assignment
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        shutil.copy2(class_dir / student / f"{NOTEBOOK}.ipynb", target / f"{NOTEBOOK}.ipynb")
    return students


def course_db_url(course_root: Path) -> str:
    """The gradebook URL that nbgrader_config.py gives nbgrader (nbgrader's default if it gives none)."""
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course_root)).load_config()
    return CourseDirectory(config=config).db_url


def run_demo(course_root: Path, class_dir: Path, console: Console) -> None:
    started = time.perf_counter()

    def step(title: str) -> float:
        console.print(f"[bold]▶ {title}[/]")
        return time.perf_counter()

    def done(since: float, what: str) -> None:
        console.print(f"  {what} [dim]({time.perf_counter() - since:.1f} s)[/]")

    t = step(f"release: nbgrader generate_assignment {ASSIGNMENT}")
    run_nbgrader(["generate_assignment", ASSIGNMENT, "--force"], course_root)
    done(t, f"wrote {Path('release') / ASSIGNMENT}/")

    t = step(f"collect: the example class from {class_dir.relative_to(course_root) if class_dir.is_relative_to(course_root) else class_dir}")
    students = place_class(class_dir, course_root, ASSIGNMENT)
    done(t, f"{len(students)} submissions in submitted/")

    t = step(f"autograde: nbgrader autograde {ASSIGNMENT} (one kernel per student, in turn)")
    graded = []

    def progress(line: str) -> None:
        match = re.search(r"Autograding .*/autograded/([^/]+)/", line)
        if match:
            graded.append(match.group(1))
            console.print(f"  [{len(graded)}/{len(students)}] {match.group(1)}")

    log = run_nbgrader(["autograde", ASSIGNMENT, "--force"], course_root, on_line=progress)
    done(t, f"autograded {len(graded)} submissions; nbgrader's log: {log.relative_to(course_root)}")

    t = step(f"feedback: nbgrader generate_feedback {ASSIGNMENT}")
    run_nbgrader(["generate_feedback", ASSIGNMENT, "--force"], course_root)
    done(t, "HTML reports in feedback/<student>/")

    t = step("grades: nbgrader export")
    run_nbgrader(["export"], course_root)
    done(t, "wrote grades.csv")

    rows = [row for row in class_scores(course_db_url(course_root), ASSIGNMENT, NOTEBOOK, course_root)
            if row.student in students]
    console.print()
    render(rows, console, course_root)
    console.print(f"grades: {course_root / 'grades.csv'}\nfeedback: {course_root / 'feedback'}/<student>/{ASSIGNMENT}/{NOTEBOOK}.html")
    console.print(f"[dim]done in {time.perf_counter() - started:.0f} s[/]")
