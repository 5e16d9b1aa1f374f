"""``SubmissionExporter``: how ``nbgrader autograde`` reads submissions, set as ``c.Autograde.exporter_class``.

nbgrader creates the exporter once per run, after it has listed the submissions and before it
grades any; it reads every notebook through the exporter's ``from_filename``. This one:

- at the start of a run, takes every submission in (``coursegrader.intake``): a submission with
  no notebook, a misnamed one or a folder that is a file is still graded (zero, or the misnamed
  notebook), with a note; files that must not be copied into the graded folder are added to
  nbgrader's ignore list, one exact path each; a ``timestamp.txt`` nbgrader cannot read (it would
  stop the whole run) is renamed aside, kept;
- resumes an interrupted run: a graded folder that the ledger does not record as finished is
  removed, so nbgrader grades that submission again (``coursegrader.intake.ledger``);
- reads each notebook without following links, with a size limit, and stands in the release
  notebook for one that cannot be read, so every student gets a graded notebook and feedback;
- puts the student's intake (problems, whether to run) in ``resources["coursekit"]`` for the
  preprocessors, and the problems at the top of the notebook, for the student's feedback.
"""

from __future__ import annotations

import datetime as dt
import glob
import os
import re
import shutil
from pathlib import Path

from nbconvert.exporters import NotebookExporter
from traitlets import Integer

from coursegrader.intake import ledger
from coursegrader.intake.notebook import IntakeLimits, NotANotebook, read_notebook
from coursegrader.intake.notes import set_notes
from coursegrader.intake.submission import Intake, scan_submission


class SubmissionExporter(NotebookExporter):
    max_notebook_bytes = Integer(IntakeLimits.notebook_bytes, help="A larger notebook is not read.").tag(config=True)
    max_file_bytes = Integer(IntakeLimits.file_bytes, help="A larger extra file is not copied.").tag(config=True)
    max_total_file_bytes = Integer(IntakeLimits.total_file_bytes,
                                   help="Extra files past this total are not copied.").tag(config=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.intakes: dict[tuple[str, str], Intake] = {}
        from nbgrader.converters import Autograde

        if isinstance(self.parent, Autograde):
            self._refuse_unless_sandboxed(self.parent)
            self._take_in(self.parent)

    @property
    def limits(self) -> IntakeLimits:
        return IntakeLimits(notebook_bytes=self.max_notebook_bytes, file_bytes=self.max_file_bytes,
                            total_file_bytes=self.max_total_file_bytes)

    # -------------------------------------------------------------------------
    # the start of a run

    def _refuse_unless_sandboxed(self, converter) -> None:
        """Stop the whole run, before any submission, if submissions would run without a sandbox."""
        from nbgrader.converters.base import NbGraderException

        from coursegrader.adapters.execute import SandboxedExecute
        from coursegrader.run.sandbox import SandboxUnavailable

        if not any(step in (SandboxedExecute, "coursegrader.adapters.execute.SandboxedExecute")
                   for step in converter.autograde_preprocessors):
            self.log.warning("SandboxedExecute is not among c.Autograde.autograde_preprocessors: submissions run "
                             "without a sandbox, and their verdicts cannot be trusted")
            return
        try:
            SandboxedExecute(parent=self, config=self.config).refuse_unless_sandboxed()
        except SandboxUnavailable as error:
            self.log.error("Refusing to run students' code without a sandbox: %s. Install bubblewrap "
                           "(`make system-deps`), or pass --SandboxedExecute.unsafe_run_without_sandbox=True to run "
                           "it with the grader's rights.", error)
            raise NbGraderException(str(error)) from None

    def _notebooks_of(self, coursedir, assignment: str) -> list[str] | None:
        from nbgrader.api import Gradebook, MissingEntry

        with Gradebook(coursedir.db_url, coursedir.course_id) as gradebook:
            try:
                return sorted(notebook.name for notebook in gradebook.find_assignment(assignment).notebooks)
            except MissingEntry:
                return None

    def _take_in(self, converter) -> None:
        coursedir = converter.coursedir
        root = Path(coursedir.root)
        pattern = coursedir.format_path(coursedir.submitted_directory, coursedir.student_id, coursedir.assignment_id)
        regexp = coursedir.format_path(coursedir.submitted_directory, "(?P<student_id>[^/]+)", "(?P<assignment_id>[^/]+)",
                                       escape=True)
        notebooks: dict[str, list[str] | None] = {}
        ignored = []
        for path in sorted(glob.glob(pattern)):
            match = re.fullmatch(regexp, path)
            if match is None:
                continue
            student, assignment = match.group("student_id"), match.group("assignment_id")
            if assignment not in notebooks:
                notebooks[assignment] = self._notebooks_of(coursedir, assignment)
            if notebooks[assignment] is None:
                continue  # nbgrader itself reports an assignment it does not know
            if not converter.force:
                self._resume(coursedir, root, student, assignment)
            intake = scan_submission(Path(path), student, notebooks[assignment], self.limits)
            self._set_aside_bad_timestamp(Path(path), intake)
            self.intakes[(student, assignment)] = intake
            ignored.extend(glob.escape(str(file)) for file in intake.ignored)
            for problem in intake.problems:
                self.log.warning("Submission %s/%s: %s", student, assignment, problem)
            if coursedir.notebook_id == "*" and (intake.notebook_source or not intake.run_notebook):
                converter.assignments[path] = [os.path.join(path, f"{name}.ipynb") for name in notebooks[assignment]]
        if ignored:
            coursedir.ignore = [*coursedir.ignore, *ignored]

    def _resume(self, coursedir, root: Path, student: str, assignment: str) -> None:
        graded = Path(coursedir.format_path(coursedir.autograded_directory, student, assignment))
        if os.path.lexists(graded) and not ledger.finished(root, assignment, student):
            self.log.warning("Submission %s/%s: an earlier run stopped while grading it; grading it again",
                             student, assignment)
            if graded.is_dir() and not graded.is_symlink():
                shutil.rmtree(graded)
            else:
                graded.unlink()

    def _set_aside_bad_timestamp(self, folder: Path, intake: Intake) -> None:
        timestamp = folder / "timestamp.txt"
        if timestamp in intake.ignored:
            aside = folder / f"timestamp.txt.unreadable-{dt.datetime.now():%Y%m%dT%H%M%S}"
            os.replace(timestamp, aside)
            intake.ignored.remove(timestamp)
            self.log.warning("Submission %s: moved its unreadable timestamp.txt to %s", intake.student, aside.name)

    # -------------------------------------------------------------------------
    # reading one notebook

    def _stand_in(self, assignment: str, notebook: str):
        """The release notebook, graded in place of a submission that has none to run."""
        coursedir = self.parent.coursedir
        release = Path(coursedir.format_path(coursedir.release_directory, ".", assignment)) / f"{notebook}.ipynb"
        try:
            return read_notebook(release)
        except NotANotebook as error:
            raise RuntimeError(f"the release notebook {release} is needed to grade a submission without a notebook, "
                               f"and cannot be read: {error}; run `course release {assignment}`") from None

    def from_filename(self, filename, resources=None, **kw):
        info = resources["nbgrader"]
        student, assignment, notebook = info["student"], info["assignment"], info["notebook"]
        coursedir = self.parent.coursedir
        submitted = Path(coursedir.format_path(coursedir.submitted_directory, student, assignment))
        sanitizing = Path(filename).parent == submitted
        intake = self.intakes.setdefault((student, assignment), Intake(student))
        if sanitizing:
            ledger.start(Path(coursedir.root), assignment, student)
            nb = None
            if intake.run_notebook:
                source = intake.notebook_source.get(f"{notebook}.ipynb", Path(filename))
                try:
                    nb = read_notebook(source, self.limits)
                    size = source.stat().st_size
                    if size > self.limits.large_notebook_bytes:
                        note = (f"{notebook}.ipynb was {size / 2**20:,.0f} MiB, nearly all of it saved outputs: they were "
                                "cleared before grading, which reruns the notebook (saved outputs never count).")
                        intake.problems.append(note)
                        self.log.warning("Submission %s/%s: %s", student, assignment, note)
                except NotANotebook as error:
                    intake.problems.append(f"{error}: nothing of it could be graded.")
                    intake.run_notebook = False
                    self.log.warning("Submission %s/%s: %s", student, assignment, error)
            if nb is None:
                nb = self._stand_in(assignment, notebook)
            set_notes(nb, intake)
        else:
            nb = read_notebook(Path(filename), self.limits)  # written by the sanitize step, before any code ran
        resources.setdefault("metadata", {})
        resources["metadata"]["name"] = notebook
        resources["metadata"]["path"] = os.path.dirname(filename)
        resources.setdefault("coursekit", {})["intake"] = intake
        return self.from_notebook_node(nb, resources, **kw)
