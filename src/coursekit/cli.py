"""The ``course`` command, as students have it: the lab's verbs that need no grader.

    course export NOTEBOOK [--assignment ID]   a completed notebook -> the lab's deliverable files
    course checks [ASSIGNMENT]                  the self-checks of a lab: grade_id, block, points

Instructors' ``course`` (``coursegrader.cli``) adds release, demo and the hidden checks.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from coursekit.lab import Lab, UnknownLab, all_labs, find_lab


def lab_of_notebook(notebook: Path, assignment: str | None) -> Lab:
    """The lab a notebook belongs to: ``--assignment``, else its folder's name (nbgrader fetches an
    assignment into a folder of that name), else the one lab whose notebook has this file name."""
    if assignment:
        return find_lab(assignment)
    labs = all_labs()
    by_folder = [lab for lab in labs if lab.assignment == notebook.resolve().parent.name]
    by_name = [lab for lab in labs if lab.notebook == notebook.stem]
    for candidates in (by_folder, by_name):
        if len(candidates) == 1:
            return candidates[0]
    raise UnknownLab(f"cannot tell which lab {notebook.name} belongs to: pass --assignment "
                     f"({', '.join(lab.assignment for lab in labs)})")


def add_student_commands(commands) -> None:
    export = commands.add_parser("export", help="export a completed notebook into the lab's deliverable folder")
    export.add_argument("notebook", type=Path, help="the completed notebook")
    export.add_argument("--assignment", default=None, help="the lab's assignment id (default: the notebook's folder name)")
    export.add_argument("--to", type=Path, default=None,
                        help="output folder (default: the lab's deliverable folder, under the current folder)")
    export.add_argument("--no-execute", action="store_true",
                        help="use the files already beside the notebook instead of running it")


def checks_table(title: str, checks) -> Table:
    table = Table(title=title)
    for column in ("grade_id", "block", "points", "seen by students", "checks that"):
        table.add_column(column)
    for check in checks:
        table.add_row(check.grade_id, check.block, f"{check.points:g}", "self-check" if check.visible else "hidden",
                      check.title)
    return table


def run_student_command(args, console: Console) -> int:
    if args.command == "export":
        from coursekit.deliverables import ExportError, export_deliverables

        try:
            if not args.notebook.is_file():
                raise ExportError(f"no notebook at {args.notebook.resolve()}")
            lab = lab_of_notebook(args.notebook, args.assignment)
            written = export_deliverables(lab, args.notebook, args.to, execute=not args.no_execute)
        except (ExportError, UnknownLab) as error:
            console.print(f"[red]course export: {error}[/]")
            return 1
        for path in written:
            console.print(f"wrote {path}")
        return 0
    if args.command == "checks":
        labs = [find_lab(args.assignment)] if args.assignment else all_labs()
        for lab in labs:
            console.print(checks_table(f"{lab.assignment}: self-checks", lab.self_checks))
        return 0
    raise ValueError(args.command)


def make_console() -> Console:
    console = Console()
    if not console.is_terminal:
        console.width = max(console.width, 200)  # a log or a pipe: room for whole tables
    return console


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="course", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    add_student_commands(commands)
    checks = commands.add_parser("checks", help="list a lab's self-checks")
    checks.add_argument("assignment", nargs="?", default=None)
    args = parser.parse_args(argv)
    try:
        return run_student_command(args, make_console())
    except UnknownLab as error:
        make_console().print(f"[red]course: {error}[/]")
        return 1


if __name__ == "__main__":
    sys.exit(main())
