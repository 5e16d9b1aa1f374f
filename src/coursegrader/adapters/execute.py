"""``SandboxedExecute``: nbgrader's Execute step with the kernel in a sandbox, bounded, and watched.

It replaces ``nbgrader.preprocessors.Execute`` in ``c.Autograde.autograde_preprocessors`` and
keeps its configuration (``Execute.timeout`` is the limit per cell). What it adds:

- the kernel runs in a ``Sandbox`` (bubblewrap), as an unprivileged user, with limits on memory,
  processes, file size and disk, and a time limit for the whole notebook;
- test cells hand their results over as files (``coursekit.selfcheck``); right after each test
  cell the grader takes them out of the sandbox's reach, so ``TrustedVerdicts`` can grade them;
- a cell's output is capped (the kernel itself stops a cell past twice the cap), only inert output types are
  kept (no HTML, SVG or JavaScript reaches the instructor's browser), widget messages are ignored;
- a kernel that dies, hangs or is killed by the watchdog stops the run at that cell: the cells
  before it keep their results, the cells after it are marked as not run, and the next
  submission is graded as usual.

If bubblewrap cannot start a sandbox here, the run stops before any submission is executed,
unless ``SandboxedExecute.unsafe_run_without_sandbox`` is set; then every submission's log says,
loudly, that its code ran with the grader's rights.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from nbgrader.preprocessors import Execute
from traitlets import Bool, Integer, Unicode

from coursegrader.intake.notes import set_notes
from coursekit.lab import find_lab
from coursegrader.intake.submission import Intake
from coursegrader.language.catalog import edition_language
from coursegrader.run.executor import UNSAFE_BANNER, RunSettings, SandboxedRunner, mark_not_run, refuse_unless_sandboxed
from coursegrader.run.sandbox import Limits, SandboxUnavailable, check_available
from coursegrader.run.uids import FIRST_UID, UID_COUNT


class SandboxedExecute(SandboxedRunner, Execute):
    notebook_timeout = Integer(600, help="Seconds the whole notebook may run; later cells are not run.").tag(config=True)
    memory_limit = Integer(Limits.memory_bytes, help="Bytes of memory for one submission's processes.").tag(config=True)
    process_limit = Integer(Limits.processes, help="Processes and threads one submission may have.").tag(config=True)
    file_size_limit = Integer(Limits.file_bytes, help="Largest file a submission may write, in bytes.").tag(config=True)
    disk_limit = Integer(Limits.disk_bytes, help="Bytes a submission may write in its folder (a tmpfs of this size; "
                                                 "past it, writes fail).").tag(config=True)
    entries_limit = Integer(Limits.disk_entries, help="Files and folders a submission may make, everywhere it can "
                                                      "write; past it, the sandbox is stopped.").tag(config=True)
    max_cell_output_bytes = Integer(2**20, help="Output kept per cell; the rest is dropped.").tag(config=True)
    max_output_bytes = Integer(8 * 2**20, help="Output kept per notebook; past it outputs are dropped.").tag(config=True)
    sandbox_uid = Integer(FIRST_UID, help="When the grader runs as root, each kernel runs as a user of its own, the "
                                          "first free one from this id (one per running sandbox on the machine).").tag(config=True)
    sandbox_uid_count = Integer(UID_COUNT, help="How many user ids from sandbox_uid sandboxes may use.").tag(config=True)
    bubblewrap = Unicode("bwrap", help="The bubblewrap executable.").tag(config=True)
    fork_kernels = Bool(False, help="Fork each kernel from a process that imported the kernel and the labs' libraries "
                                    "once (coursegrader.run.factory; `course autograde` sets it), instead of starting a "
                                    "new interpreter in each sandbox. Needs the grader to run as root.").tag(config=True)
    unsafe_run_without_sandbox = Bool(
        False, help="Run submissions without bubblewrap when it is unavailable: their code gets the grader's rights. "
                    "Verdicts still come from the grading process. Never set this for a real class.").tag(config=True)

    probe_timeout = Integer(10, help="Seconds a kernel gets to answer after a cell timed out.").tag(config=True)

    def make_settings(self) -> RunSettings:
        return RunSettings(
            limits=Limits(memory_bytes=self.memory_limit, processes=self.process_limit, file_bytes=self.file_size_limit,
                          disk_bytes=self.disk_limit, disk_entries=self.entries_limit),
            notebook_timeout=self.notebook_timeout, probe_timeout=self.probe_timeout,
            max_cell_output_bytes=self.max_cell_output_bytes, max_output_bytes=self.max_output_bytes,
            first_sandbox_uid=self.sandbox_uid, sandbox_uid_count=self.sandbox_uid_count, bubblewrap=self.bubblewrap, fork_kernels=self.fork_kernels,
            unsafe_run_without_sandbox=self.unsafe_run_without_sandbox, python=sys.executable,
            protected=(self._course_root(),))

    def refuse_unless_sandboxed(self) -> None:
        refuse_unless_sandboxed(self.make_settings(), self.log)

    def _course_root(self) -> Path:
        converter = getattr(self.parent, "parent", None)
        coursedir = getattr(converter, "coursedir", None)
        return Path(coursedir.root if coursedir is not None else os.getcwd()).resolve()

    def preprocess(self, nb, resources, km=None):
        student = resources.get("nbgrader", {}).get("student", "?")
        state = resources.setdefault("coursekit", {})
        state["handovers"] = {}
        intake = state.get("intake")
        if intake is not None and not intake.run_notebook:
            state["stopped"] = intake.summary()
            mark_not_run(nb.cells, 0, f"not run: {intake.summary()}")
            return nb, resources
        try:
            check_available(self.bubblewrap)
            sandboxed = True
        except SandboxUnavailable as error:
            if not self.unsafe_run_without_sandbox:
                raise
            self.log.warning("%s — %s; bubblewrap is unavailable: %s", UNSAFE_BANNER, student, error)
            sandboxed = False
        work_dir = Path(resources["metadata"]["path"]).resolve()
        self.settings = self.make_settings()
        lab = find_lab(resources["nbgrader"]["assignment"]) if "nbgrader" in resources else None
        self.run_notebook(nb, resources, work_dir, edition_language(nb), sandboxed,
                          test_cell_code=handover_call(lab) if lab is not None else None)
        left_behind = state.get("left_behind")
        if left_behind:
            intake = state.setdefault("intake", Intake(student))
            intake.problems.append(f"Not kept with your graded notebook, of the files your notebook wrote: {left_behind}.")
            self.log.warning("Submission %s: not kept, of the files its notebook wrote: %s", student, left_behind)
            set_notes(nb, intake)
        return nb, resources


def handover_call(lab):
    """The code a grading kernel runs for a test cell of ``lab``: its ``run_check``, which hands results over."""

    def code(grade_id: str) -> str:
        return f"from {lab.module} import run_check\nrun_check({grade_id!r}, globals())"

    return code
