"""Scores per student and per lab block, read from nbgrader's gradebook, and their table.

A block's score is the sum of its cells' scores; the lab says which block a grade_id belongs to
(``Lab.block_of``). Manually graded cells not yet graded are reported as pending, not as zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

from coursekit.lab import Lab

@dataclass
class BlockScore:
    score: float = 0.0
    max_score: float = 0.0
    pending: bool = False  # a manually graded cell still waits for a grader


@dataclass
class StudentScores:
    student: str
    blocks: dict[str, BlockScore] = field(default_factory=dict)
    feedback: Path | None = None

    @property
    def autograded(self) -> tuple[float, float]:
        done = [block for block in self.blocks.values() if not block.pending]
        return sum(block.score for block in done), sum(block.max_score for block in done)


def class_scores(db_url: str, lab: Lab, course_root: Path) -> list[StudentScores]:
    """Every student with a submission of ``lab``, with per-block scores."""
    from nbgrader.api import Gradebook, MissingEntry  # nbgrader imports slowly: only when asked

    rows = []
    with Gradebook(db_url) as gradebook:
        for student in sorted(gradebook.students, key=lambda student: student.id):
            try:
                submission = gradebook.find_submission_notebook(lab.notebook, lab.assignment, student.id)
            except MissingEntry:
                continue
            row = StudentScores(student.id)
            for grade in submission.grades:
                block = row.blocks.setdefault(lab.block_of(grade.name) or "?", BlockScore())
                block.max_score += grade.max_score
                if grade.needs_manual_grade:
                    block.pending = True
                else:
                    block.score += grade.score
            html = course_root / "feedback" / student.id / lab.assignment / f"{lab.notebook}.html"
            row.feedback = html if html.exists() else None
            rows.append(row)
    return rows


def _cell(block: BlockScore | None) -> str:
    if block is None:
        return "–"
    if block.pending:
        return f"[yellow]?[/]/{block.max_score:g}"
    colour = "green" if block.score == block.max_score else ("red" if block.score == 0 else "yellow")
    return f"[{colour}]{block.score:g}[/]/{block.max_score:g}"


def render(rows: list[StudentScores], lab: Lab, console: Console, course_root: Path) -> None:
    table = Table(title="Scores per block (? = awaits manual grading)", title_justify="left")
    table.add_column("student", no_wrap=True)
    for block in lab.blocks:
        table.add_column(block, justify="right", no_wrap=True)
    table.add_column("autograded", justify="right", no_wrap=True)
    table.add_column("feedback report", no_wrap=True, overflow="fold")
    for row in rows:
        score, max_score = row.autograded
        feedback = str(row.feedback.relative_to(course_root)) if row.feedback else "–"
        table.add_row(row.student, *(_cell(row.blocks.get(block)) for block in lab.blocks),
                      f"[bold]{score:g}[/]/{max_score:g}", feedback)
    console.print(table)
