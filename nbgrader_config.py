"""The course's nbgrader configuration: `nbgrader <command>` run from this folder reads it.

Layout (nbgrader's conventions): source/ (instructor notebooks with solutions and hidden tests),
release/ (generated for students, committed), submitted/, autograded/, feedback/ (nbgrader's
working folders, not committed). The gradebook is SQLite at ./gradebook.db unless
`--CourseDirectory.db_url=...` (or NBGRADER_DB_URL) names another database.

`nbgrader autograde ASSIGNMENT` grades safely with nothing more: the steps below replace or join
nbgrader's own (see each module's docstring, and the README's "What the sandbox guarantees").
"""

import os
import sys
from pathlib import Path

from coursegrader import speedups
from coursegrader.adapters.feedback import FeedbackExporter
from coursekit.lab import all_labs

c = get_config()  # noqa: F821 (nbgrader provides get_config when it loads this file)

COURSE_ROOT = Path(__file__).resolve().parent

c.CourseDirectory.course_id = "transformer-from-scratch"
c.CourseDirectory.root = str(COURSE_ROOT)
c.CourseDirectory.db_url = os.environ.get("NBGRADER_DB_URL", f"sqlite:///{COURSE_ROOT / 'gradebook.db'}")

# Fixes for what nbgrader, nbformat and jupyter_client repeat for every submission (coursegrader.speedups):
# each applied only on the versions it was written for, nbgrader's own test suite passing with them as
# without. False: every command run from this folder runs them as shipped. Set it here: they are applied
# (or removed) right now, while nbgrader reads this file, so a command-line option comes too late.
c.CourseSpeedups.enabled = True
speedups.apply(c)

# Files a lab's notebook writes when it runs. Autograding re-runs it, so a copy the student submitted
# is never what gets graded: a stale or hand-made manifest.json cannot stand in for one the code writes.
# locale/: a lab's translation catalogs (source/<assignment>/locale), which `course release` reads to
# write the other editions; they are not part of any release.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "locale",
                            *sorted({name for lab in all_labs() for name in lab.writes})]

# What students find in place of a solution.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# ---------------------------------------------------------------------------------------------------
# Autograding: submissions taken in safely, run in a sandbox, verdicts decided outside the kernel.

c.Autograde.exporter_class = "coursegrader.adapters.exporter.SubmissionExporter"  # bad input, interrupted runs
c.SubmissionExporter.optimistic_validation = True  # validate each notebook once, not after every step
c.Autograde.sanitize_preprocessors = [
    "nbgrader.preprocessors.ClearOutput",
    "coursegrader.adapters.restore.RestoreCells",  # edited, deleted, duplicated or foreign grade cells
    "nbgrader.preprocessors.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "nbgrader.preprocessors.OverwriteCells",
    "nbgrader.preprocessors.CheckCellMetadata",
]
c.Autograde.autograde_preprocessors = [
    "coursegrader.adapters.editions.UntranslateStubs",  # another edition's untouched stubs, as nbgrader knows them
    "coursegrader.adapters.execute.SandboxedExecute",  # nbgrader's Execute, in bubblewrap, bounded
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "coursegrader.adapters.verdicts.TrustedVerdicts",  # each test cell's verdict, from the grading process
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "coursegrader.adapters.editions.TranslateEdition",  # the graded notebook back in the student's edition
    "nbgrader.preprocessors.CheckCellMetadata",
]
c.Autograde.pre_convert_hook = "coursegrader.adapters.hooks.forget_graded"
c.Autograde.post_convert_hook = "coursegrader.adapters.hooks.record_graded"

# Feedback: the results at the top, block by block and check by check; a hidden check shows its title,
# outcome and message, never its code; Block D's marking scheme stays with the graders; a student's own
# text is never cut; the student's feedback folder holds only the page.
c.GenerateFeedback.exporter_class = "coursegrader.adapters.feedback.FeedbackExporter"
FeedbackExporter.configure(c)
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "coursegrader.adapters.feedback.FeedbackResults",
    "coursegrader.adapters.feedback.ClearHiddenTests",  # nbgrader's, on the instructor's (locked) cells only
    "coursegrader.adapters.feedback.ClearMarkScheme",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
c.GenerateFeedback.post_convert_hook = "coursegrader.adapters.hooks.keep_only_feedback_pages"
# The marking scheme of a written answer sits in its locked instructions cell (nbgrader restores locked
# cells from the gradebook, so graders see it in formgrader beside the answer), not in a task cell.
c.ClearMarkScheme.enforce_metadata = False

# Every page that shows a submission renders what the student wrote or printed through one cleaner
# (coursegrader.adapters.htmlsafety): formgrader's submission page (an HTMLExporter it builds from this
# file when the Jupyter server starts) and the feedback page (FeedbackExporter is one). Formatting,
# tables, math and embedded images stay; nothing runs, and nothing is fetched from anywhere.
c.HTMLExporter.sanitize_html = True
c.HTMLExporter.filters = {"markdown2html": "coursegrader.adapters.htmlsafety.markdown2html",
                          "clean_html": "coursegrader.adapters.htmlsafety.clean_html"}
c.HTMLExporter.preprocessors = ["coursegrader.adapters.htmlsafety.InertOutputs"]
# formgrader reads this file inside the Jupyter server: there, its submission page and files are served
# guarded (coursegrader.adapters.formgrader_guard), even where that server extension is not enabled.
if "jupyter_server.serverapp" in sys.modules:
    from coursegrader.adapters.formgrader_guard import guard_running_server

    guard_running_server()

# Collecting from an LMS: a Canvas export, `<name>_[LATE_]<user id>_<submission id>_<file>`, collected by user id.
c.ZipCollectApp.collector_plugin = "nbgrader.plugins.zipcollect.FileNameCollectorPlugin"
c.FileNameCollectorPlugin.named_regexp = r"^(?P<name>.+?)_(?:LATE_)?(?P<student_id>\d+)_(?P<submission_id>\d+)_(?P<file_id>.+)$"

# Bounds for one submission (see coursegrader/execute.py for all of them).
c.Execute.timeout = 60  # seconds per cell
c.Execute.extra_arguments = ["--HistoryManager.hist_file=:memory:"]
c.SandboxedExecute.notebook_timeout = 300  # seconds for the whole notebook
c.SandboxedExecute.memory_limit = 2 * 2**30  # bytes, all of the submission's processes together
