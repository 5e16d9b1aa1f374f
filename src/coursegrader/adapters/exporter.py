"""``SubmissionExporter``: how ``nbgrader autograde`` reads submissions, set as ``c.Autograde.exporter_class``.

nbgrader creates the exporter once per run, after it has listed the submissions and before it
grades any; it reads every notebook through the exporter's ``from_filename``. This one:

- at the start of a run, takes every submission in (``coursegrader.intake``): a submission with
  no notebook, a misnamed one or a folder that is a file is still graded (zero, or the misnamed
  notebook), with a note; files that must not be copied into the graded folder are added to
  nbgrader's ignore list, one exact path each; a ``timestamp.txt`` nbgrader cannot read (it would
  stop the whole run) is renamed aside, kept; what lies past the folder limits (too deep, too long,
  too many) is moved to ``.coursekit/set-aside/``, kept, before nbgrader walks the folder with
  ``os.walk``; a submission that cannot be made safe that way is set aside whole, and graded as empty;
- removes a graded folder of an earlier run whenever nbgrader would (``shutil.rmtree``, which
  fails on a deep tree inside nbgrader's own error handler and stops the run): to resume an
  interrupted run (the ledger does not record it as finished, ``coursegrader.intake.ledger``), with
  ``--force``, or for a submission newer than its grading; without recursion, whatever its depth;
- reads each notebook without following links, within the size and structure limits, and stands in
  the release notebook for one that cannot be read, so every student gets a graded notebook and feedback;
- puts the student's intake (problems, whether to run) in ``resources["coursekit"]`` for the
  preprocessors, and the problems at the top of the notebook, for the student's feedback.

Nothing a student's folder holds raises out of that student's grading: any failure of the intake
becomes a note for the student and a line in the log, and every other submission is graded. Every
limit is a ``c.SubmissionExporter.max_*`` setting (defaults: ``coursegrader.intake.notebook.IntakeLimits``).
"""

from __future__ import annotations

import datetime as dt
import glob
import os
import re
from pathlib import Path

from nbconvert.exporters import NotebookExporter
from traitlets import Integer

from coursegrader.intake import ledger
from coursegrader.intake.notebook import MiB, IntakeLimits, NotANotebook, read_notebook
from coursegrader.intake.notes import set_notes
from coursegrader.intake.setaside import SetAside, move_whole, remove_graded_folder
from coursegrader.intake.submission import Intake, scan_submission


def _limit(name: str, help: str) -> Integer:
    """The setting ``c.SubmissionExporter.max_<name>``, for the field ``name`` of ``IntakeLimits``."""
    return Integer(getattr(IntakeLimits, name), help=help).tag(config=True, intake_limit=name)


class SubmissionExporter(NotebookExporter):
    max_notebook_bytes = _limit("notebook_bytes", "A larger notebook is not read.")
    max_file_bytes = _limit("file_bytes", "A larger extra file is not copied.")
    max_total_file_bytes = _limit("total_file_bytes", "Extra files past this total are not copied.")
    max_cells = _limit("cells", "A notebook with more cells is not graded.")
    max_source_bytes = _limit("source_bytes", "A notebook with more code and text in its cells (characters) is not graded.")
    max_attachments = _limit("attachments", "A notebook with more attachments (images pasted into markdown) is not graded.")
    max_attachment_bytes = _limit("attachment_bytes", "A notebook whose attachments take more is not graded.")
    max_json_depth = _limit("json_depth", "A notebook nested deeper (JSON lists and maps) is not graded.")
    max_values = _limit("values", "A notebook with more JSON values outside its saved outputs is not graded.")
    max_metadata_bytes = _limit("metadata_bytes", "A notebook with more metadata text is not graded.")
    max_output_values = _limit("output_values", "A notebook with more JSON values in its saved outputs is not graded.")
    max_text_bytes = _limit("text_bytes", "A longer JSON text is cut short unread; outside saved outputs, refused.")
    max_folder_depth = _limit("folder_depth", "What lies deeper in a submission folder is set aside, not graded.")
    max_entries = _limit("entries", "Files and folders of a submission past this number are set aside, not graded.")
    max_path_bytes = _limit("path_bytes", "What has a longer path in a submission folder is set aside, not graded.")

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.intakes: dict[tuple[str, str], Intake] = {}
        from nbgrader.converters import Autograde

        if isinstance(self.parent, Autograde):
            self._refuse_unless_sandboxed(self.parent)
            self._take_in(self.parent)

    @property
    def limits(self) -> IntakeLimits:
        return IntakeLimits(**{trait.metadata["intake_limit"]: getattr(self, name)
                               for name, trait in self.traits(intake_limit=lambda value: value is not None).items()})

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
        pattern = coursedir.format_path(coursedir.submitted_directory, coursedir.student_id, coursedir.assignment_id)
        regexp = coursedir.format_path(coursedir.submitted_directory, "(?P<student_id>[^/]+)", "(?P<assignment_id>[^/]+)",
                                       escape=True)
        notebooks: dict[str, list[str] | None] = {}
        ignored = []
        limits = self.limits
        for path in sorted(glob.glob(pattern)):
            match = re.fullmatch(regexp, path)
            if match is None:
                continue
            student, assignment = match.group("student_id"), match.group("assignment_id")
            if assignment not in notebooks:
                notebooks[assignment] = self._notebooks_of(coursedir, assignment)
            if notebooks[assignment] is None:
                continue  # nbgrader itself reports an assignment it does not know
            try:
                intake = self._take_in_one(converter, Path(path), student, assignment, notebooks[assignment], limits)
            except Exception as error:  # noqa: BLE001 — one submission's intake never stops the run
                self.log.exception("Submission %s/%s: the intake failed", student, assignment)
                intake = Intake(student, problems=[f"The grader could not look at your submission as it should "
                                                   f"({type(error).__name__}: {error}); it was graded as it is."])
            if intake is None:
                converter.assignments.pop(path, None)
                continue
            self.intakes[(student, assignment)] = intake
            ignored.extend(glob.escape(str(file)) for file in intake.ignored)
            for problem in intake.problems:
                self.log.warning("Submission %s/%s: %s", student, assignment, problem)
            if coursedir.notebook_id == "*" and (intake.notebook_source or not intake.run_notebook):
                converter.assignments[path] = [os.path.join(path, f"{name}.ipynb") for name in notebooks[assignment]]
        if ignored:
            coursedir.ignore = [*coursedir.ignore, *ignored]

    def _take_in_one(self, converter, path: Path, student: str, assignment: str, notebooks: list[str],
                     limits: IntakeLimits) -> Intake | None:
        """One submission taken in; None when it cannot be graded safely in this run (the log says why)."""
        aside = SetAside(Path(converter.coursedir.root), assignment, student)
        # first: whatever the scan meets, nbgrader's rmtree must not meet a deep graded folder of an earlier run
        if not self._remove_earlier_graded(converter, path, student, assignment, aside):
            return None
        intake = scan_submission(path, student, notebooks, limits, set_aside=aside)
        if aside.folder is not None:
            self.log.warning("Submission %s/%s: set aside %d %s in %s (see moved.txt there)", student, assignment,
                             aside.moved, "entry" if aside.moved == 1 else "entries", aside.folder)
        if intake.unsafe is not None:
            try:
                where = move_whole(path, aside, f"part of it could not be set aside: {intake.unsafe}")
            except OSError as error:
                self.log.error("Submission %s/%s: not graded in this run: %s, and the submission could not be set "
                               "aside whole either (%s)", student, assignment, intake.unsafe, error.strerror or error)
                return None
            self.log.warning("Submission %s/%s: set aside whole, in %s", student, assignment, where)
            intake = Intake(student, problems=[f"{intake.unsafe}, so your whole submission was set aside, not graded "
                                               "(your instructor keeps it)."], run_notebook=False)
        self._set_aside_bad_timestamp(path, intake)
        return intake

    def _remove_earlier_graded(self, converter, submitted: Path, student: str, assignment: str, aside: SetAside) -> bool:
        """Remove the graded folder of an earlier run when nbgrader would (with ``shutil.rmtree``), safely.

        False when it could be neither removed nor set aside: nbgrader would then fail on it, so the
        submission waits for a later run (the log says why)."""
        coursedir = converter.coursedir
        graded = Path(coursedir.format_path(coursedir.autograded_directory, student, assignment))
        if not os.path.lexists(graded):
            return True
        if not ledger.finished(Path(coursedir.root), assignment, student):
            why = "an earlier run stopped while grading it; grading it again"
        elif coursedir.notebook_id != "*":
            return True  # nbgrader then replaces single notebooks, and removes no folder
        elif converter.force:
            why = "graded again (--force): removing its graded folder of an earlier run"
        elif self._submitted_since(coursedir, submitted, graded):
            why = "submitted again since it was graded: removing its graded folder of an earlier run"
        else:
            return True
        self.log.warning("Submission %s/%s: %s", student, assignment, why)
        # forgotten first: a run killed while the folder goes leaves it to the next run, never as complete
        ledger.start(Path(coursedir.root), assignment, student)
        try:
            where = remove_graded_folder(graded, aside)
        except OSError as error:
            self.log.error("Submission %s/%s: not graded in this run: its graded folder of an earlier run, %s, could be "
                           "neither removed nor set aside (%s)", student, assignment, graded, error.strerror or error)
            return False
        if where is not None:
            self.log.warning("Submission %s/%s: what could not be removed of its graded folder is in %s",
                             student, assignment, where)
        return True

    @staticmethod
    def _submitted_since(coursedir, submitted: Path, graded: Path) -> bool:
        """nbgrader's test for a submission newer than its grading (``init_destination``)."""
        try:
            new, old = coursedir.get_existing_timestamp(str(submitted)), coursedir.get_existing_timestamp(str(graded))
        except (OSError, ValueError, OverflowError):
            return False
        return new is not None and old is not None and new > old

    def _set_aside_bad_timestamp(self, folder: Path, intake: Intake) -> None:
        timestamp = folder / "timestamp.txt"
        if timestamp in intake.ignored:
            aside = folder / f"timestamp.txt.unreadable-{dt.datetime.now():%Y%m%dT%H%M%S}"
            try:
                os.replace(timestamp, aside)
            except OSError as error:
                self.log.error("Submission %s: its unreadable timestamp.txt could not be renamed (%s)", intake.student,
                               error.strerror or error)
                return
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
        who = f"{student}/{assignment}"
        nb = None
        if sanitizing:
            ledger.start(Path(coursedir.root), assignment, student)
            if intake.run_notebook:
                source = intake.notebook_source.get(f"{notebook}.ipynb", Path(filename))
                nb = self._read(source, who, intake, self.limits, ": nothing of it could be graded.")
                if nb is not None:
                    self._note_large(source, who, notebook, intake)
        else:  # written by the sanitize step, before any code ran, notes included
            nb = self._read(Path(filename), who, intake, self.limits.for_graded(),
                            ": it could not be read back before grading, so nothing of it was graded.")
        if nb is None:
            nb = self._stand_in(assignment, notebook)
            sanitizing = True  # a new notebook: it gets the notes
        if sanitizing:
            set_notes(nb, intake)
        resources.setdefault("metadata", {})
        resources["metadata"]["name"] = notebook
        resources["metadata"]["path"] = os.path.dirname(filename)
        resources.setdefault("coursekit", {})["intake"] = intake
        return self.from_notebook_node(nb, resources, **kw)

    def _read(self, path: Path, who: str, intake: Intake, limits: IntakeLimits, then: str):
        """``path``'s notebook; or None, with why (and ``then``) noted for the student and the log."""
        try:
            return read_notebook(path, limits)
        except NotANotebook as error:
            intake.problems.append(f"{error}{then}")
            intake.run_notebook = False
            self.log.warning("Submission %s: %s", who, error)
            return None

    def _note_large(self, source: Path, who: str, notebook: str, intake: Intake) -> None:
        try:
            size = os.lstat(source).st_size
        except OSError:
            return
        if size > self.limits.large_notebook_bytes:
            note = (f"{notebook}.ipynb was {size / MiB:,.0f} MiB, nearly all of it saved outputs: they were "
                    "cleared before grading, which reruns the notebook (saved outputs never count).")
            intake.problems.append(note)
            self.log.warning("Submission %s: %s", who, note)
