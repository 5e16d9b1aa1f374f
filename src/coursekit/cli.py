"""The ``course`` command: the course's own verbs beside nbgrader's.

    course demo                 release, autograde the example class, feedback, grades.csv, table
    course release              regenerate release/ from source/ (nbgrader generate_assignment)
    course checks               list the autograder's checks: grade_id, block, points, visibility
    course export NOTEBOOK      a completed notebook -> the lab's four deliverable files
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console


def find_course_root(start: Path) -> Path:
    for folder in (start, *start.parents):
        if (folder / "nbgrader_config.py").exists():
            return folder
    raise SystemExit(f"course: no nbgrader_config.py in {start} or above; run this from the course folder")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="course", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="release, autograde the example class, write feedback and grades.csv")
    demo.add_argument("--class-dir", type=Path, default=None,
                      help="folder of <student>/demo.ipynb submissions (default: tests/examples/submissions)")
    commands.add_parser("release", help="regenerate release/ from source/ with nbgrader generate_assignment")
    commands.add_parser("checks", help="list the autograder's checks")
    export = commands.add_parser("export", help="export a completed notebook into the lab's deliverable folder")
    export.add_argument("notebook", type=Path, help="the completed demo.ipynb")
    export.add_argument("--to", type=Path, default=None,
                        help="output folder (default: experiments/16-permutation-equivariance in the current folder)")
    export.add_argument("--no-execute", action="store_true",
                        help="use the manifest.json and demo_output.txt already beside the notebook instead of running it")
    args = parser.parse_args(argv)
    console = Console()
    if not console.is_terminal:
        console.width = max(console.width, 150)  # a log or a pipe: room for whole tables

    if args.command == "demo":
        from coursekit.demo import run_demo

        root = find_course_root(Path.cwd())
        run_demo(root, (args.class_dir or root / "tests" / "examples" / "submissions").resolve(), console)
    elif args.command == "release":
        from coursekit.demo import ASSIGNMENT
        from coursekit.nbgrader_run import run_nbgrader

        root = find_course_root(Path.cwd())
        log = run_nbgrader(["generate_assignment", ASSIGNMENT, "--force"], root)
        console.print(f"wrote release/{ASSIGNMENT}/ (nbgrader's log: {log.relative_to(root)})")
    elif args.command == "checks":
        from rich.table import Table

        from coursekit.lab00 import CHECKS

        table = Table(title=f"Lab 00 checks: {CHECKS.total_points():g} autograded points")
        for column in ("grade_id", "block", "points", "seen by students", "checks that"):
            table.add_column(column)
        for check in CHECKS:
            table.add_row(check.grade_id, check.block, f"{check.points:g}", "self-check" if check.visible else "hidden",
                          check.title)
        console.print(table)
    elif args.command == "export":
        from coursekit.deliverables import ExportError, export_deliverables

        try:
            written = export_deliverables(args.notebook, args.to, execute=not args.no_execute)
        except ExportError as error:
            console.print(f"[red]course export: {error}[/]")
            return 1
        for path in written:
            console.print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
