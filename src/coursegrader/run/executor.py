"""Running one notebook in a sandbox, cell by cell, keeping what its test cells hand over.

``SandboxedRunner`` is a mix-in for an nbclient ``NotebookClient`` (nbgrader's ``Execute`` is one;
``coursegrader.adapters.execute.SandboxedExecute`` puts the two together). Given ``RunSettings``, it:

- starts the kernel in a ``Sandbox`` (bubblewrap), or forks it from the kernel factory into one, and
  watches it (``Watchdog``): memory of all its processes, its folder's size;
- runs the cells one by one, with a time limit per cell and for the whole notebook; right after each
  test cell it takes what the cell handed over (``coursegrader.run.handovers``);
- keeps only inert outputs, within a budget (``coursegrader.run.outputs``), and ignores widget
  messages and display updates;
- stops at a cell whose kernel died, hung or was stopped by the watchdog: the cells before it keep
  their results, the later ones are marked as not run.

It leaves its findings in ``resources["coursekit"]``: ``handovers`` (grade_id -> what was handed
over), ``stopped`` (why the run stopped early, or None), and ``left_behind`` (what the kernel wrote that
was not copied back into the graded folder, for the student's note, or None).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import run_sync
from nbformat.v4 import new_output

from coursegrader.run import handovers
from coursegrader.run.inside import SandboxView
from coursegrader.run.kernel import SandboxedKernelManager, ipykernel_command
from coursegrader.run.kernelclient import start_kernel_client
from coursegrader.run.outputs import OutputBudget, coalesce_streams, inert
from coursegrader.run.processes import kill_tree, kill_user_processes
from coursegrader.run.sandbox import Limits, Sandbox, SandboxUnavailable, check_available
from coursegrader.run.uids import FIRST_UID, UID_COUNT, SandboxUid
from coursegrader.run.watchdog import Watchdog
from coursekit import handover
from coursekit.selfcheck import HANDOVER_DIR_VARIABLE, LANGUAGE_VARIABLE

UNSAFE_BANNER = ("UNSANDBOXED: the code of this submission runs with the grader's rights, network and files "
                 "(SandboxedExecute.unsafe_run_without_sandbox is set)")


@dataclass(frozen=True)
class RunSettings:
    """Everything a run needs to know besides the notebook: bounds, and how to start the kernel."""

    limits: Limits = field(default_factory=Limits)
    notebook_timeout: int = 600  # seconds for the whole notebook
    probe_timeout: int = 10  # seconds a kernel gets to answer after a cell timed out
    max_cell_output_bytes: int = 2**20
    max_output_bytes: int = 8 * 2**20
    first_sandbox_uid: int = FIRST_UID  # sandboxes run as users of this range, one each (coursegrader.run.uids)
    sandbox_uid_count: int = UID_COUNT
    bubblewrap: str = "bwrap"
    fork_kernels: bool = False
    unsafe_run_without_sandbox: bool = False
    python: str = sys.executable
    protected: tuple[Path, ...] = ()  # folders the kernel may never read (the course folder)

    @property
    def kernel_output_limit(self) -> int:
        # twice the grader's cap: the grader sees the cell cross its own cap first and says so; the kernel's
        # cap stops a runaway cell even when the grader's interrupt comes late
        return 2 * self.max_cell_output_bytes


def refuse_unless_sandboxed(settings: RunSettings, log) -> None:
    """At the start of a run: raise ``SandboxUnavailable`` if no sandbox can start here and the instructor
    has not opted out; log the opt-out loudly if they have."""
    try:
        check_available(settings.bubblewrap)
    except SandboxUnavailable as error:
        if not settings.unsafe_run_without_sandbox:
            raise
        log.warning("%s\n%s\nbubblewrap is unavailable: %s\n%s", "!" * 100, UNSAFE_BANNER, error, "!" * 100)


def mark_not_run(cells, start: int, note: str) -> None:
    for cell in cells[start:]:
        if cell.cell_type == "code":
            cell.outputs = [new_output("stream", name="stdout", text=f"[{note}]\n")]


def _kernel_stopped(message: str):
    return new_output("error", ename="KernelStopped", evalue=message, traceback=[f"KernelStopped: {message}"])


class SandboxedRunner:
    """Mix-in for nbclient's ``NotebookClient``: run a notebook in a sandbox (see the module's docstring).

    The class using it provides ``settings`` (``RunSettings``) and nbclient's attributes (``log``, ``km``...).
    """

    settings: RunSettings
    shutdown_kernel = "immediate"  # a graded kernel's state is worth nothing: kill it, do not ask it to stop
    coalesce_streams = False  # nbclient's is quadratic in a line's length: ``_run_cell`` coalesces instead

    # -------------------------------------------------------------------------
    # nbclient hooks

    def _get_timeout(self, cell):
        if getattr(self, "_probing", False):
            return self.settings.probe_timeout
        timeout = super()._get_timeout(cell)
        deadline = getattr(self, "_deadline", None)
        if deadline is None:
            return timeout
        remaining = max(1, int(deadline - time.monotonic()) + 1)
        return remaining if timeout is None else min(timeout, remaining)

    def create_kernel_manager(self):
        settings = self.settings
        if self._sandbox is None:
            limits = settings.limits
            argv = ["prlimit", f"--as={limits.memory_bytes}", f"--fsize={limits.file_bytes}", "--core=0",
                    *ipykernel_command(settings.python, settings.kernel_output_limit)]
            spec = KernelSpec(argv=argv, env=self._kernel_environment(), display_name="Python 3 (unsandboxed)",
                              language="python", interrupt_mode="message")
            self.km = AsyncKernelManager(config=self.config)
            self.km._kernel_spec = spec
        else:
            factory = None
            if settings.fork_kernels and os.geteuid() == 0:
                from coursegrader.run.factory import KernelFactory

                factory = KernelFactory.shared()
            self.km = SandboxedKernelManager(self._sandbox, settings.kernel_output_limit, factory=factory,
                                             config=self.config)
        return self.km

    def output(self, outs, msg, display_id, cell_index):
        instead = self._budget.spend(msg)
        if instead is not None:
            # No interrupt from here: it would reach the kernel late, in whatever cell runs by then. The
            # kernel stops a cell that prints on (coursekit.outputlimit, at twice this cap); one whose code
            # removed that cap runs to the cell's time limit, its output dropped here.
            outs.extend(instead)
            return None
        return super().output(outs, inert(msg), display_id, cell_index)

    async def async_start_new_kernel_client(self):
        return await start_kernel_client(self)

    start_new_kernel_client = run_sync(async_start_new_kernel_client)

    def _update_display_id(self, display_id, msg):
        return None  # a kernel may not rewrite outputs it already produced (least of all in other cells)

    def handle_comm_msg(self, outs, msg, cell_index):
        return None  # widgets play no part in grading

    # -------------------------------------------------------------------------
    # the run

    def _kernel_environment(self) -> dict[str, str]:
        """What the kernel is told: where to hand results over, and the language of the student's edition
        (for the little it prints itself at grading)."""
        return {HANDOVER_DIR_VARIABLE: str(self._handover_dir), LANGUAGE_VARIABLE: self._language}

    def run_notebook(self, nb, resources, work_dir: Path, language: str, sandboxed: bool,
                     test_cell_code: Callable[[str], str] | None = None) -> None:
        """Run ``nb`` with ``work_dir`` as its folder; leave the findings in ``resources["coursekit"]``.

        ``test_cell_code(grade_id)``, when given, is the code the kernel runs for each test cell in place of
        the cell's source: the kernel never sees a hidden test's source, only the call that hands results
        over (the graded notebook keeps the cell as it was)."""
        settings = self.settings
        self._test_cell_code = test_cell_code
        state = resources.setdefault("coursekit", {})
        state["handovers"] = {}
        self._language = language
        uid = SandboxUid(settings.first_sandbox_uid, settings.sandbox_uid_count)
        with tempfile.TemporaryDirectory(prefix="coursekit-run-") as run_folder, uid:
            run_dir = Path(run_folder)
            self._handover_dir = run_dir / Sandbox.HANDOVER  # inside the sandbox, its own tmpfs at this path
            self._sandbox = Sandbox(work_dir=work_dir, run_dir=run_dir, limits=settings.limits, uid=uid.uid,
                                    python=settings.python, protected=settings.protected,
                                    bubblewrap=settings.bubblewrap,
                                    environment=self._kernel_environment()) if sandboxed else None
            if self._sandbox is None:
                self._handover_dir.mkdir()
            try:
                self._execute_notebook(nb, resources, work_dir, run_dir)
            finally:
                if self._sandbox is not None and self._sandbox.as_root:  # the kernel ran as the sandbox's own id
                    kill_user_processes(uid.uid)  # gone, and waited for, before the id is given back

    def _execute_notebook(self, nb, resources, work_dir: Path, run_dir: Path) -> None:
        from nbclient import NotebookClient

        state = resources["coursekit"]
        NotebookClient.__init__(self, nb, None)
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        self._budget = OutputBudget(self.settings.max_cell_output_bytes, self.settings.max_output_bytes)
        self._deadline = None
        self._probing = False
        kernel_log_path = run_dir / "kernel-output.log"  # the unsandboxed kernel's; a sandboxed one logs inside
        kernel_log = kernel_log_path.open("wb")
        started = False
        try:
            with self.setup_kernel(stdout=kernel_log, stderr=kernel_log):
                started = True
                view = getattr(self.km.provisioner, "view", None)
                try:
                    self._run_in(view, state, work_dir)
                finally:
                    if view is not None:
                        self._keep_what_it_wrote(view, state, work_dir)
        except Exception as error:
            if started:
                raise
            raise RuntimeError(f"the grader could not start a kernel ({type(error).__name__}: {error}); "
                               f"its output ended with:\n{self._kernel_output(kernel_log, kernel_log_path)}") from None
        finally:
            process = getattr(getattr(self.km, "provisioner", None), "process", None) if self.km else None
            if process is not None:
                kill_tree(process.pid)  # nothing a submission started outlives its grading
            kernel_log.close()
        self.set_widgets_metadata()

    def _kernel_output(self, kernel_log, kernel_log_path: Path) -> str:
        kernel_log.flush()
        parts = [kernel_log_path.read_bytes()[-2000:]]
        if self._sandbox is not None:
            for path in (self._sandbox.run_dir / "bubblewrap.log",):
                if path.is_file():
                    parts.append(path.read_bytes()[-2000:])
        return b"\n".join(part for part in parts if part).decode("utf-8", "replace")

    def _run_in(self, view: SandboxView | None, state: dict, work_dir: Path) -> None:
        """Copy the submission's files in, then run the cells under the watchdog."""
        from nbgrader import utils as nbgrader_utils

        settings = self.settings
        provisioner = self.km.provisioner
        if view is not None:
            view.copy_in(work_dir)
            view.seal_sockets()
            handover_fd = os.dup(view.handover_fd)
        else:
            handover_fd = os.open(self._handover_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        spare = frozenset(filter(None, [getattr(provisioner, "holder_pid", None), _inner(provisioner.process.pid)]))
        watchdog = Watchdog(provisioner.process.pid, spare, view, settings.limits,
                            kernel_pid=getattr(provisioner, "kernel_pid", None)) if view is not None else None
        handover_limits = handover.Limits()
        try:
            if watchdog is not None:
                watchdog.__enter__()
            info = self.wait_for_reply(self.kc.kernel_info())
            if info is not None:
                self.nb.metadata["language_info"] = info["content"].get("language_info", {})
            self._deadline = time.monotonic() + settings.notebook_timeout
            stopped = None
            for index, cell in enumerate(self.nb.cells):
                if stopped is not None:
                    mark_not_run(self.nb.cells, index, f"not run: {stopped}")
                    break
                if cell.cell_type != "code":
                    continue
                if time.monotonic() >= self._deadline:
                    stopped = f"the notebook reached its time limit of {settings.notebook_timeout} s before this cell"
                    mark_not_run(self.nb.cells, index, f"not run: {stopped}")
                    break
                grade_id = cell.metadata.get("nbgrader", {}).get("grade_id") if nbgrader_utils.is_grade(cell) else None
                if grade_id is not None:
                    handovers.empty_folder(handover_fd)
                stopped = self._run_test_cell(cell, index, watchdog, grade_id) if grade_id is not None \
                    else self._run_cell(cell, index, watchdog)
                if grade_id is not None and handover.GRADE_ID.match(grade_id):
                    state["handovers"][grade_id] = handovers.take_handover(handover_fd, grade_id, handover_limits)
                    handovers.empty_folder(handover_fd)
            state["stopped"] = stopped
        finally:
            if watchdog is not None:
                watchdog.__exit__(None, None, None)
                state["too_many_entries"] = watchdog.too_many_entries
            os.close(handover_fd)

    def _keep_what_it_wrote(self, view: SandboxView, state: dict, work_dir: Path) -> None:
        """Copy what the kernel wrote back into the graded folder, and say what was left behind."""
        if state.get("too_many_entries"):
            state["left_behind"] = "nothing it wrote was kept: it created too many files and folders"
            return
        try:
            copied = view.copy_out(work_dir)
        except OSError as error:  # the sandbox is gone (its keeper was killed): nothing to copy
            self.log.warning("the files the notebook wrote could not be copied out: %s", error)
            return
        state["left_behind"] = copied.note()

    def _run_test_cell(self, cell, index: int, watchdog: Watchdog | None, grade_id: str) -> str | None:
        code = getattr(self, "_test_cell_code", None)
        if code is None or not handover.GRADE_ID.match(grade_id):
            return self._run_cell(cell, index, watchdog)
        source, cell.source = cell.source, code(grade_id)
        try:
            return self._run_cell(cell, index, watchdog)
        finally:
            cell.source = source

    def _run_cell(self, cell, index: int, watchdog: Watchdog | None) -> str | None:
        """Run one cell; return why the run must stop after it, or None."""
        self._budget.new_cell()
        try:
            return self._execute_one(cell, index, watchdog)
        finally:
            # one stream output per cell and stream: how the kernel's flushes fell is a race
            cell.outputs = coalesce_streams(cell.outputs)

    def _execute_one(self, cell, index: int, watchdog: Watchdog | None) -> str | None:
        notebook_timeout = self.settings.notebook_timeout
        try:
            self.execute_cell(cell, index, store_history=True)
        except DeadKernelError:
            cell.execution_count = None  # whether the kernel said it began the cell before dying is a race
            reason = watchdog.reason if watchdog is not None and watchdog.reason else None
            message = (f"the grader stopped the kernel in this cell: {reason}" if reason
                       else "the kernel died in this cell: the code exited the kernel, or crashed it")
            cell.outputs.append(_kernel_stopped(message))
            return message.replace("in this cell", f"in cell {index + 1}")
        except CellTimeoutError:
            if time.monotonic() >= self._deadline:
                reason = f"the notebook reached its time limit of {notebook_timeout} s"
            else:
                reason = "the kernel did not stop after the time limit of this cell"
            cell.outputs.append(_kernel_stopped(reason))
            return f"{reason.replace('this cell', f'cell {index + 1}')}" if "this cell" in reason else f"{reason} in cell {index + 1}"
        except Exception as error:  # noqa: BLE001 — a kernel can send anything; it must not stop other students' grading
            self.log.warning("cell %d: the kernel's messages could not be processed: %s: %s", index + 1,
                             type(error).__name__, error)
            message = "the kernel sent messages the grader could not read"
            cell.outputs.append(_kernel_stopped(message))
            return f"{message} in cell {index + 1}"
        timed_out = any(output.get("output_type") == "error" and output.get("ename") == "CellTimeoutError"
                        for output in cell.outputs)
        if timed_out:
            if time.monotonic() >= self._deadline:
                return f"the notebook reached its time limit of {notebook_timeout} s in cell {index + 1}"
            if not self._responds():
                return f"the kernel did not stop after the time limit of cell {index + 1}"
        return None

    def _responds(self) -> bool:
        """After an interrupted cell: does the kernel answer a trivial request?"""
        self._probing = True
        try:
            reply = self.wait_for_reply(self.kc.execute("pass", silent=True, store_history=False))
        except Exception:  # noqa: BLE001
            return False
        finally:
            self._probing = False
        return reply is not None


def _inner(outer_pid: int) -> int | None:
    """bubblewrap's process inside the sandbox (its PID 1), below the one the grader started."""
    from coursegrader.run.processes import descendants

    found = descendants(outer_pid)
    return found[0] if found else None
