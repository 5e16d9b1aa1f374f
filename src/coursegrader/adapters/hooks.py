"""nbgrader's convert hooks: ``forget_graded`` (autograde, before) and ``record_graded`` (autograde, after) keep
the ledger of graded submissions; ``keep_only_feedback_pages`` (generate_feedback, after) leaves nothing but the
feedback pages in a student's feedback folder.
"""

from __future__ import annotations

import os
from pathlib import Path

from coursegrader.files.trees import remove_tree
from coursegrader.intake import ledger

# what nbgrader's release_feedback and fetch_feedback read beside the pages
NBGRADER_FEEDBACK_FILES = frozenset({"timestamp.txt", "submission_secret.txt"})


def _submission_of(notebook: str) -> tuple[str, str]:
    """(student, assignment) of a notebook at ``.../<student>/<assignment>/<notebook>.ipynb`` (nbgrader's layout).

    nbgrader passes the command's assignment and student patterns to a hook, not the submission's ids.
    """
    path = Path(notebook)
    return path.parent.parent.name, path.parent.name


def forget_graded(assignment: str, student: str, notebooks: list[str]) -> None:
    """nbgrader's ``pre_convert_hook`` of ``Autograde``: this submission is being graded (again), so the ledger
    no longer records it as graded before nbgrader starts its new graded folder (a run killed from here on
    leaves a folder the next run grades again, not one it skips as complete)."""
    for notebook in notebooks[:1]:
        submission_student, submission_assignment = _submission_of(notebook)
        ledger.start(Path.cwd(), submission_assignment, submission_student)


def record_graded(assignment: str, student: str, notebooks: list[str]) -> None:
    """nbgrader's ``post_convert_hook`` of ``Autograde``: the submission these notebooks belong to is graded.

    nbgrader runs its converters in the course folder.
    """
    from traitlets.config import Application

    for notebook in notebooks[:1]:
        submission_student, submission_assignment = _submission_of(notebook)
        ledger.finish(Path.cwd(), submission_assignment, submission_student)
        if Application.initialized():
            Application.instance().log.info("Graded %s/%s completely", submission_student, submission_assignment)


def keep_only_feedback_pages(assignment: str, student: str, notebooks: list[str]) -> None:
    """nbgrader's ``post_convert_hook`` of ``GenerateFeedback``: the student's feedback folder keeps its pages.

    ``generate_feedback`` copies every other file of the autograded folder beside the pages, and
    ``release_feedback`` hands out every ``*.html`` there: whatever a submission brought or wrote that a
    browser would open. Only ``<notebook>.html`` of each graded notebook, and nbgrader's
    ``timestamp.txt`` and ``submission_secret.txt``, stay; the rest is removed without following a link.
    """
    from traitlets.config import Application

    if not notebooks:
        return
    submission_student, submission_assignment = _submission_of(notebooks[0])
    coursedir = getattr(Application.instance(), "coursedir", None) if Application.initialized() else None
    if coursedir is not None:  # `nbgrader generate_feedback`
        folder = Path(coursedir.format_path(coursedir.feedback_directory, submission_student, submission_assignment))
    else:  # formgrader's button, inside the Jupyter server: nbgrader's default layout, beside autograded/
        graded = Path(notebooks[0]).resolve().parent
        folder = graded.parents[2] / "feedback" / submission_student / submission_assignment
    pages = {f"{Path(notebook).stem}.html" for notebook in notebooks}
    if folder.is_symlink() or not folder.is_dir():
        return
    with os.scandir(folder) as entries:
        unwanted = [entry.name for entry in entries
                    if not (entry.name in pages | NBGRADER_FEEDBACK_FILES and entry.is_file(follow_symlinks=False))]
    for name in unwanted:
        remove_tree(folder / name)
    if unwanted and Application.initialized():
        Application.instance().log.info("Feedback %s/%s: removed %d file(s) beside its pages", submission_student,
                                        submission_assignment, len(unwanted))
