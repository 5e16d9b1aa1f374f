"""``record_graded``: nbgrader's ``c.Autograde.post_convert_hook``, which tells the ledger a submission is graded."""

from __future__ import annotations

from pathlib import Path

from coursegrader.intake import ledger


def record_graded(assignment: str, student: str, notebooks: list[str]) -> None:
    """nbgrader's ``post_convert_hook``: the submission these notebooks belong to is graded.

    nbgrader passes the command's assignment and student patterns, not the submission's ids, so
    they are read from the notebooks' paths (``.../<student>/<assignment>/<notebook>.ipynb``, nbgrader's
    directory structure); nbgrader runs its converters in the course folder.
    """
    from traitlets.config import Application

    for notebook in notebooks[:1]:
        path = Path(notebook)
        submission_assignment, submission_student = path.parent.name, path.parent.parent.name
        ledger.finish(Path.cwd(), submission_assignment, submission_student)
        if Application.initialized():
            Application.instance().log.info("Graded %s/%s completely", submission_student, submission_assignment)
