"""The course's nbgrader configuration: `nbgrader <command>` run from this folder reads it.

Layout (nbgrader's conventions): source/ (instructor notebooks with solutions and hidden tests),
release/ (generated for students, committed), submitted/, autograded/, feedback/ (nbgrader's
working folders, not committed). The gradebook is SQLite at ./gradebook.db unless
`--CourseDirectory.db_url=...` (or NBGRADER_DB_URL) names another database.
"""

import os
from pathlib import Path

c = get_config()  # noqa: F821 (nbgrader provides get_config when it loads this file)

COURSE_ROOT = Path(__file__).resolve().parent

c.CourseDirectory.course_id = "transformer-from-scratch"
c.CourseDirectory.root = str(COURSE_ROOT)
c.CourseDirectory.db_url = os.environ.get("NBGRADER_DB_URL", f"sqlite:///{COURSE_ROOT / 'gradebook.db'}")

# Files the notebook writes when it runs. Autograding re-runs it, so a copy the student submitted is
# never what gets graded: a stale or hand-made manifest.json cannot stand in for one the code writes.
c.CourseDirectory.ignore = [
    ".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "manifest.json", "demo_output.txt",
]

# What students find in place of a solution.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Autograding: a whole notebook runs in a few seconds; a cell that hangs is cut off.
c.Execute.timeout = 60
c.Execute.extra_arguments = ["--HistoryManager.hist_file=:memory:"]
