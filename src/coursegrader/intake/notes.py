"""The grader's notes about a submission: a markdown cell at the top of its graded notebook.

Each problem the intake found (``Intake.problems``) is one item; the student reads them in their
feedback, graders in formgrader.
"""

from __future__ import annotations

import html

from nbformat.v4 import new_markdown_cell

from coursegrader.intake.submission import Intake

NOTES_HEADING = "Notes from the autograder"
NOTES_CELL_ID = "coursekit-grading-notes"  # the same in every run (nbformat would draw a random one)


def notes_cell(intake: Intake):
    items = "\n".join(f"- {html.escape(problem)}" for problem in intake.problems)
    cell = new_markdown_cell(f"**{NOTES_HEADING}**\n\n{items}\n", metadata={"coursekit": {"notes": True}})
    cell.id = NOTES_CELL_ID
    return cell


def is_notes_cell(cell) -> bool:
    return bool(cell.get("metadata", {}).get("coursekit", {}).get("notes"))


def set_notes(nb, intake: Intake) -> None:
    """Put ``intake``'s problems at the top of ``nb``, in place of any notes cell already there."""
    nb.cells = [cell for cell in nb.cells if not is_notes_cell(cell)]
    if intake.problems:
        nb.cells.insert(0, notes_cell(intake))
