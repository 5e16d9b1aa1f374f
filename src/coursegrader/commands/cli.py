"""The ``course`` command, as instructors have it: the students' verbs plus the grader's.

    course autograde ASSIGNMENT       nbgrader's autograde for a whole class, in parallel (--jobs, --scheduler)
    course watch ASSIGNMENT          grade each submission as it arrives in nbgrader's exchange, release its feedback
    course demo [ASSIGNMENT]          release, autograde a lab's example class, feedback, grades.csv, table
    course release [ASSIGNMENT]       regenerate release/ASSIGNMENT from source/ (nbgrader generate_assignment)
    course report ASSIGNMENT          the class report (HTML, plots), a per-check CSV, a results.json per submission
    course checks [ASSIGNMENT]        every check of a lab: grade_id, block, points, self-check or hidden
    course export NOTEBOOK            a completed notebook -> the lab's deliverable files

Each command takes the assignment id, as nbgrader's do; with none, it takes every lab.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from coursekit.cli import add_student_commands, checks_table, make_console, run_student_command
from coursekit.lab import UnknownLab, all_labs, find_lab


def find_course_root(start: Path) -> Path:
    for folder in (start, *start.parents):
        if (folder / "nbgrader_config.py").exists():
            return folder
    raise SystemExit(f"course: no nbgrader_config.py in {start} or above; run this from the course folder")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="course", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="release, autograde a lab's example class, write feedback and grades.csv")
    demo.add_argument("assignment", nargs="?", default=None, help="the lab (default: every lab with an example class)")
    demo.add_argument("--class-dir", type=Path, default=None,
                      help="folder of <student>/ submission folders (default: tests/examples/ASSIGNMENT/class)")
    grade = commands.add_parser("autograde", help="nbgrader's autograde for a whole class, in parallel")
    grade.add_argument("assignment")
    grade.add_argument("--jobs", "-j", type=int, default=None, help="submissions graded at once (default: the machine's cores)")
    grade.add_argument("--student", nargs="+", default=[], metavar="ID", help="grade only these students")
    grade.add_argument("--force", action="store_true", help="grade again what is already graded")
    grade.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help="grade on an existing Dask cluster (tcp://host:8786); needs a gradebook every worker reaches")
    grade.add_argument("--db-url", default=None, metavar="URL",
                       help="the gradebook (default: nbgrader_config.py's, or NBGRADER_DB_URL)")
    watch = commands.add_parser("watch", help="a service: grade each submission as it arrives in nbgrader's exchange "
                                              "and release its feedback (see the README's instructor section)")
    watch.add_argument("assignment")
    watch.add_argument("--jobs", "-j", type=int, default=None, help="submissions graded at once (default: the machine's cores)")
    watch.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help="grade on an existing Dask cluster (tcp://host:8786); needs a gradebook every worker reaches")
    watch.add_argument("--poll", action="store_true",
                       help="poll the exchange instead of inotify (a network file system written by other machines)")
    watch.add_argument("--db-url", default=None, metavar="URL",
                       help="the gradebook (default: nbgrader_config.py's, or NBGRADER_DB_URL)")
    report = commands.add_parser("report", help="the class report (HTML with plots), a per-check CSV, results.json files")
    report.add_argument("assignment")
    release = commands.add_parser("release", help="regenerate release/ASSIGNMENT from source/ with nbgrader, and each "
                                                   "edition in another language (release-es/ASSIGNMENT)")
    release.add_argument("assignment", nargs="?", default=None, help="the lab (default: every lab)")
    solution = commands.add_parser("solution", help="the lab's reference solution (Markdown and notebook, in each "
                                                     "language), for students once it may be published")
    solution.add_argument("assignment")
    checks = commands.add_parser("checks", help="list a lab's checks, hidden ones included")
    checks.add_argument("assignment", nargs="?", default=None)
    add_student_commands(commands)
    args = parser.parse_args(argv)
    console = make_console()
    try:
        if args.command == "demo":
            from coursegrader.commands.demo import example_class, run_demo

            root = find_course_root(Path.cwd())
            labs = [find_lab(args.assignment)] if args.assignment else \
                [lab for lab in all_labs() if example_class(root, lab).is_dir()]
            for lab in labs:
                run_demo(root, lab, (args.class_dir or example_class(root, lab)).resolve(), console)
        elif args.command == "autograde":
            from coursegrader.classrun.autograde import autograde

            root = find_course_root(Path.cwd())
            summary = autograde(root, args.assignment, console, jobs=args.jobs, students=args.student, force=args.force,
                                scheduler=args.scheduler, db_url=args.db_url)
            console.print(f"{summary.count('graded')} graded, {summary.count('failed')} failed, "
                          f"{summary.count('skipped')} skipped (already graded; --force grades them again) "
                          f"in {summary.seconds:.1f} s; nbgrader's log: {summary.log_path.relative_to(root)}",
                          markup=False, highlight=False, soft_wrap=True)
            again = [outcome for outcome in summary.outcomes if outcome.note]
            if again:
                console.print(f"{len(again)} graded again after their worker was lost: "
                              f"{', '.join(outcome.student for outcome in again)}", markup=False, highlight=False, soft_wrap=True)
            if summary.stopped:
                console.print(f"course autograde stopped: {summary.stopped}", markup=False, highlight=False, soft_wrap=True)
            return 1 if summary.count("failed") or summary.stopped else 0
        elif args.command == "watch":
            from coursegrader.service.watch import watch

            find_lab(args.assignment)
            return watch(find_course_root(Path.cwd()), args.assignment, console, jobs=args.jobs,
                         scheduler=args.scheduler, force_polling=args.poll, db_url=args.db_url)
        elif args.command == "report":
            from coursegrader.reports.class_report import write_reports
            from coursegrader.reports.console import render
            from coursegrader.commands.demo import course_db_url

            lab = find_lab(args.assignment)
            root = find_course_root(Path.cwd())
            written = write_reports(lab, course_db_url(root), root)
            render(written["everyone"], lab, console, root)
            console.print(f"class report: {written['html']}\nper student and check: {written['csv']}\n"
                          f"results.json ({len(written['results'])}): {written['html'].parent / 'results'}/<student>/results.json")
        elif args.command == "release":
            root = find_course_root(Path.cwd())
            from coursegrader.commands.release import SourceDisagrees, release_lab

            for lab in [find_lab(args.assignment)] if args.assignment else all_labs():
                try:
                    release_lab(root, lab, console)
                except SourceDisagrees as error:
                    from rich.markup import escape

                    console.print(f"[red]course release: {escape(str(error))}[/]", highlight=False)
                    return 1
        elif args.command == "solution":
            from coursegrader.editions.solution import write_solution

            root = find_course_root(Path.cwd())
            for path in write_solution(root, find_lab(args.assignment)):
                console.print(f"wrote {path.relative_to(root)}")
            console.print("[bold]not released[/]: publish it after the deadline, or to a student once their "
                          "submission is graded (see the README's instructor section)")
        elif args.command == "checks":
            from coursegrader.labs import grading_checks

            for lab in [find_lab(args.assignment)] if args.assignment else all_labs():
                checks = grading_checks(lab)
                console.print(checks_table(f"{lab.assignment}: {checks.total_points():g} autograded points", checks))
        else:
            return run_student_command(args, console)
    except UnknownLab as error:
        console.print(f"[red]course: {error}[/]")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
