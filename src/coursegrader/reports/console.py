"""The console table of a class: each student's score per block, autograded points, total and feedback page."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from coursegrader.results.results import PENDING, Results, points, total_text
from coursekit.lab import Lab


def _block_cell(rows) -> str:
    if not rows:
        return "–"
    possible = sum(row.points for row in rows)
    if any(row.status == PENDING for row in rows):
        return f"[yellow]?[/]/{points(possible)}"
    earned = sum(row.earned or 0 for row in rows)
    colour = "green" if earned == possible else ("red" if earned == 0 else "yellow")
    return f"[{colour}]{points(earned)}[/]/{points(possible)}"


def render(everyone: list[Results], lab: Lab, console: Console, course_root: Path) -> None:
    table = Table(title="Scores per block (? = awaits a grader)", title_justify="left")
    table.add_column("student", no_wrap=True)
    for block in lab.blocks:
        table.add_column(block, justify="right", no_wrap=True, min_width=5)
    table.add_column("autograded", justify="right", no_wrap=True, min_width=7)
    table.add_column("total", justify="right", no_wrap=True, min_width=5)
    table.add_column("feedback report", overflow="fold")
    for results in everyone:
        auto_earned, auto_possible = results.autograded
        feedback = course_root / "feedback" / results.student / lab.assignment / f"{lab.notebook}.html"
        table.add_row(results.student, *(_block_cell([row for row in results.rows if row.block == block])
                                         for block in lab.blocks),
                      f"[bold]{points(auto_earned)}[/]/{points(auto_possible)}", total_text(results),
                      str(feedback.relative_to(course_root)) if feedback.exists() else "–")
    console.print(table)
