"""The feedback page ``course watch`` releases: nbgrader's ``generate_feedback`` for one student, seen through the policy.

``write_feedback`` runs nbgrader's ``GenerateFeedback`` converter for one submission with the course's
configuration (the same page ``nbgrader generate_feedback`` writes), adding one step after
``FeedbackResults``: ``FeedbackView``, which applies what ``WatchPolicy`` lets students see right away.

- hidden checks: "outcome" keeps their title, outcome and points and removes their message, from the
  summary and from the notebook below it; "none" removes them from both (the totals then count the
  self-checks); "full" keeps everything, as the instructor's own feedback does;
- written answers: always "awaits a grader", with no score and no comment, whatever the gradebook
  holds from an earlier attempt;
- the notice: attempts used and left, when the next one is counted, what is withheld, at the top.

``notice_page`` is the page of a submission that was not graded (attempts used up, after the deadline,
a cool-down), released under that submission's own secret, so it reaches only the student who made it.
"""

from __future__ import annotations

import html
import io
import logging
import os
import traceback

from jinja2 import BytecodeCache
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool, Enum, Float, Integer

from coursegrader.adapters.feedback import FeedbackExporter
from coursegrader.results.results import PENDING, total_text
from coursegrader.service.policy import WatchPolicy, notice_lines
from coursekit.i18n import SOURCE_LANGUAGE, _, use_language

FEEDBACK_RESULTS = "coursegrader.adapters.feedback.FeedbackResults"


class _CompiledTemplates(BytecodeCache):
    """Jinja's compiled templates, kept in this process: a page written per submission compiles them once, not
    each time (nbconvert makes a new Jinja environment per exporter, and nbgrader a new exporter per run)."""

    def __init__(self):
        self.compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket) -> None:
        if bucket.key in self.compiled:
            bucket.bytecode_from_string(self.compiled[bucket.key])

    def dump_bytecode(self, bucket) -> None:
        self.compiled[bucket.key] = bucket.bytecode_to_string()


COMPILED_TEMPLATES = _CompiledTemplates()


class WatchFeedbackExporter(FeedbackExporter):
    """The course's feedback exporter (``c.FeedbackExporter`` configures it), its templates compiled once per process.
    Jinja checks each template's source against what it compiled, so an edited template is compiled anew."""

    def _create_environment(self):
        environment = super()._create_environment()
        environment.bytecode_cache = COMPILED_TEMPLATES
        return environment


class FeedbackView(NbGraderPreprocessor):
    """What a student sees right after submitting (``coursegrader.service.policy``); runs after FeedbackResults."""

    hidden = Enum(["outcome", "none", "full"], default_value="outcome").tag(config=True)
    attempt = Integer(1).tag(config=True)
    submitted_at = Float(0.0).tag(config=True)
    late = Bool(False).tag(config=True)

    def preprocess(self, nb, resources):
        view = resources.get("coursekit")
        if view is None:
            raise RuntimeError("FeedbackView runs after coursegrader.adapters.feedback.FeedbackResults")
        results = view["results"]
        hidden_ids = {row.grade_id for row in results.rows if row.hidden}
        manual_ids = {row.grade_id for row in results.rows if row.manual}
        kept = []
        for row in results.rows:
            if row.manual:
                row.status, row.earned, row.message = PENDING, None, ""
            elif row.hidden and self.hidden == "none":
                continue
            elif row.hidden and self.hidden == "outcome":
                row.message = ""
            kept.append(row)
        results.rows = kept
        view["rows"] = {row.grade_id: row for row in kept}
        with use_language(view.get("language", SOURCE_LANGUAGE)):
            view["total"] = total_text(results)
            view["notice"] = notice_lines(WatchPolicy(config=self.config), self.attempt, self.submitted_at,
                                          self.hidden, self.late)
        cells = []
        for cell in nb.cells:
            info = cell.get("metadata", {}).get("nbgrader", {})
            grade_id = info.get("grade_id")
            if grade_id in manual_ids:
                info.pop("comment", None)  # a grader's comment on an earlier attempt
            if grade_id in hidden_ids and self.hidden != "full":
                if self.hidden == "none":
                    continue
                cell["outputs"] = []
                cell.get("metadata", {}).pop("coursekit", None)
            cells.append(cell)
        nb.cells = cells
        return nb, resources


def write_feedback(app, assignment: str, student: str, hidden: str, attempt: int, submitted_at: float,
                   late: bool) -> tuple[bool, str]:
    """``nbgrader generate_feedback --force`` for one student, through ``FeedbackView``: (written, its log)."""
    from nbgrader.converters import GenerateFeedback
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config

    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("[%(name)s | %(levelname)s] %(message)s"))
    saved, saved_level = app.log.handlers[:], app.log.level
    app.log.handlers[:] = [handler]
    app.log.setLevel(logging.INFO)
    cwd = os.getcwd()
    written = True
    try:
        coursedir = CourseDirectory(parent=app)
        coursedir.assignment_id, coursedir.student_id = assignment, student
        converter = GenerateFeedback(coursedir=coursedir, parent=app)
        steps = list(converter.preprocessors)
        names = [step if isinstance(step, str) else f"{step.__module__}.{step.__name__}" for step in steps]
        at = names.index(FEEDBACK_RESULTS) + 1 if FEEDBACK_RESULTS in names else len(steps)
        extra = Config()
        extra.GenerateFeedback.preprocessors = [*steps[:at], FeedbackView, *steps[at:]]
        if converter.exporter_class is FeedbackExporter:
            extra.GenerateFeedback.exporter_class = WatchFeedbackExporter
        extra.FeedbackView.hidden = hidden
        extra.FeedbackView.attempt, extra.FeedbackView.submitted_at, extra.FeedbackView.late = attempt, submitted_at, late
        converter.update_config(extra)
        converter.force = True
        converter.start()
    except BaseException as error:  # noqa: BLE001 — one student's page must not stop the service
        if isinstance(error, KeyboardInterrupt):
            raise
        written = False
        buffer.write(f"{type(error).__name__}: {error}\n{traceback.format_exc()}")
    finally:
        os.chdir(cwd)
        app.log.handlers[:] = saved
        app.log.setLevel(saved_level)
    log = buffer.getvalue()
    if "There was an error processing assignment" in log:
        written = False
    return written, log


def notice_page(title: str, student: str, lines: list[str], language: str = SOURCE_LANGUAGE) -> bytes:
    """A plain page for a submission that was not graded: every text escaped, no script, no external resource."""
    with use_language(language):
        heading = _("{lab}: your submission").format(lab=title)
    body = "\n".join(f"<p>{html.escape(line)}</p>" for line in lines)
    return (f'<!DOCTYPE html>\n<html lang="{html.escape(language)}">\n<head>\n<meta charset="utf-8" />\n'
            f"<title>{html.escape(heading)}</title>\n</head>\n<body>\n<h2>{html.escape(heading)}</h2>\n"
            f'<p><b>{html.escape(student)}</b></p>\n<div id="notice">\n{body}\n</div>\n</body>\n</html>\n').encode("utf-8")
