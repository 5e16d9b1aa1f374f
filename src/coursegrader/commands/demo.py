"""``course demo lab.assignment`` (``make demo``): the instructor's whole loop on a lab's example class.

1. regenerate ``release/`` from ``source/`` (``nbgrader generate_assignment``), and the Spanish edition
   ``release-es/`` (``course release``);
2. place each example submission in ``submitted/<student>/<assignment>/``;
3. autograde them (``course autograde``: nbgrader's autograde, in parallel, with a progress bar);
4. write feedback HTML (``nbgrader generate_feedback``) and ``grades.csv`` (``nbgrader export``);
5. write the class report, the per-check CSV and a results.json per submission (``course report``);
6. write the reference solution in each language (``course solution``), not released;
7. print each student's score per block, with the paths of all of it.

Every step is nbgrader's own command, configured by ``nbgrader_config.py``; nothing here grades.
"""

from __future__ import annotations

import io
import shutil
import time
from pathlib import Path

from rich.console import Console

from coursegrader.classrun.autograde import autograde
from coursegrader.reports.class_report import write_reports
from coursegrader.reports.console import render
from coursegrader.commands.nbgrader import run_nbgrader
from coursegrader.commands.release import release_lab
from coursegrader.editions.solution import write_solution
from coursekit.lab import Lab


def example_class(course_root: Path, lab: Lab) -> Path:
    """Where a lab's example class lives: ``tests/examples/<assignment>/class``."""
    return course_root / "tests" / "examples" / lab.assignment / "class"


def place_class(class_dir: Path, course_root: Path, assignment: str) -> list[str]:
    """Copy each ``class_dir/<student>/`` (a submission folder) into ``submitted/<student>/<assignment>/``.

    A submission is copied as it is, links included, exactly as nbgrader's collect would leave it.
    """
    students = sorted(path.name for path in class_dir.iterdir() if not path.name.startswith("."))
    if not students:
        raise FileNotFoundError(f"no example submissions found: expected {class_dir}/<student>/")
    for student in students:
        target = course_root / "submitted" / student / assignment
        if target.is_symlink() or target.is_file():
            target.unlink()
        elif target.exists():
            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        source = class_dir / student
        if source.is_dir() and not source.is_symlink():
            shutil.copytree(source, target, symlinks=True)
        else:
            shutil.copy2(source, target, follow_symlinks=False)
    return students


def course_db_url(course_root: Path) -> str:
    """The gradebook URL that nbgrader_config.py gives nbgrader (nbgrader's default if it gives none)."""
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course_root)).load_config()
    return CourseDirectory(config=config).db_url


def run_demo(course_root: Path, lab: Lab, class_dir: Path, console: Console) -> None:
    started = time.perf_counter()

    def step(title: str) -> float:
        console.print(f"[bold]▶ {title}[/]")
        return time.perf_counter()

    def done(since: float, what: str) -> None:
        console.print(f"  {what} [dim]({time.perf_counter() - since:.1f} s)[/]")

    t = step(f"release: course release {lab.assignment} (nbgrader generate_assignment, then each edition)")
    released = release_lab(course_root, lab, Console(file=io.StringIO()))
    done(t, "wrote " + ", ".join(f"{folder.relative_to(course_root)}/" for folder in released))

    t = step(f"collect: the example class from {class_dir.relative_to(course_root) if class_dir.is_relative_to(course_root) else class_dir}")
    students = place_class(class_dir, course_root, lab.assignment)
    done(t, f"{len(students)} submissions in submitted/")

    t = step(f"autograde: course autograde {lab.assignment} --force (nbgrader's autograde, in parallel)")
    summary = autograde(course_root, lab.assignment, console, force=True)
    done(t, f"graded {summary.count('graded')}, failed {summary.count('failed')}; "
            f"nbgrader's log: {summary.log_path.relative_to(course_root)}")

    t = step(f"feedback: nbgrader generate_feedback {lab.assignment}")
    run_nbgrader(["generate_feedback", lab.assignment, "--force"], course_root)
    done(t, "HTML reports in feedback/<student>/")

    t = step("grades: nbgrader export")
    run_nbgrader(["export"], course_root)
    done(t, "wrote grades.csv")

    t = step(f"reports: course report {lab.assignment}")
    written = write_reports(lab, course_db_url(course_root), course_root)
    done(t, "class report, CSV and results.json")

    t = step(f"solution: course solution {lab.assignment}")
    solutions = write_solution(course_root, lab) if lab.solution else []
    done(t, "reference solution (not released): " + ", ".join(str(path.relative_to(course_root))
                                                              for path in solutions if path.suffix == ".md"))

    everyone = [results for results in written["everyone"] if results.student in students]
    console.print()
    render(everyone, lab, console, course_root)
    console.print(f"grades: {course_root / 'grades.csv'}\n"
                  f"feedback: {course_root / 'feedback'}/<student>/{lab.assignment}/{lab.notebook}.html\n"
                  f"class report: {written['html']}\n"
                  f"per student and check: {written['csv']}\n"
                  f"results.json for an LMS: {written['html'].parent / 'results'}/<student>/results.json")
    console.print(f"[dim]done in {time.perf_counter() - started:.0f} s[/]")
