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
over), ``stopped`` (why the run stopped early, or None) and ``disk_full``.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import run_sync
from nbformat.v4 import new_output

from coursegrader.run import handovers
from coursegrader.run.kernel import SandboxedKernelManager, ipykernel_command
from coursegrader.run.kernelclient import start_kernel_client
from coursegrader.run.outputs import OutputBudget, inert
from coursegrader.run.processes import kill_tree
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
    coalesce_streams = True  # one stream output per cell and stream: how the kernel's flushes fell is a race

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
        note = self._budget.spend(msg)
        if note is not None:
            # No interrupt from here: it would reach the kernel late, in whatever cell runs by then. The
            # kernel stops a cell that prints on (coursekit.outputlimit, at twice this cap); one whose code
            # removed that cap runs to the cell's time limit, its output dropped here.
            if note:
                outs.append(note)
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

    def run_notebook(self, nb, resources, work_dir: Path, language: str, sandboxed: bool) -> None:
        """Run ``nb`` with ``work_dir`` as its folder; leave the findings in ``resources["coursekit"]``."""
        settings = self.settings
        state = resources.setdefault("coursekit", {})
        state["handovers"] = {}
        self._language = language
        uid = SandboxUid(settings.first_sandbox_uid, settings.sandbox_uid_count)
        with tempfile.TemporaryDirectory(prefix="coursekit-run-") as run_folder, uid:
            run_dir = Path(run_folder)
            self._handover_dir = run_dir / "handover"
            self._handover_dir.mkdir()
            self._sandbox = Sandbox(work_dir=work_dir, run_dir=run_dir, limits=settings.limits, uid=uid.uid,
                                    python=settings.python, protected=settings.protected,
                                    bubblewrap=settings.bubblewrap,
                                    environment=self._kernel_environment()) if sandboxed else None
            if self._sandbox is not None:
                self._sandbox.prepare()
            try:
                self._execute_notebook(nb, resources, work_dir, run_dir)
            finally:
                if self._sandbox is not None:
                    self._sandbox.release(discard_new_files=state.get("disk_full", False))

    def _execute_notebook(self, nb, resources, work_dir: Path, run_dir: Path) -> None:
        from nbclient import NotebookClient
        from nbgrader import utils as nbgrader_utils

        settings = self.settings
        state = resources["coursekit"]
        NotebookClient.__init__(self, nb, None)
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        self._budget = OutputBudget(settings.max_cell_output_bytes, settings.max_output_bytes)
        self._deadline = None
        self._probing = False
        handover_limits = handover.Limits()
        kernel_log_path = run_dir / "kernel-output.log"
        kernel_log = kernel_log_path.open("wb")
        watchdog = None
        started = False
        try:
            with self.setup_kernel(stdout=kernel_log, stderr=kernel_log):
                started = True
                provisioner = self.km.provisioner
                pids = [provisioner.process.pid, *filter(None, [getattr(provisioner, "kernel_pid", None)])]
                watchdog = Watchdog(pids, work_dir, settings.limits) if self._sandbox is not None else None
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
                        handovers.empty_folder(self._handover_dir)
                    stopped = self._run_cell(cell, index, watchdog)
                    if grade_id is not None and handover.GRADE_ID.match(grade_id):
                        state["handovers"][grade_id] = handovers.take_handover(self._handover_dir, grade_id,
                                                                               handover_limits)
                        handovers.empty_folder(self._handover_dir)
                state["stopped"] = stopped
        except Exception as error:
            if started:
                raise
            kernel_log.flush()
            tail = kernel_log_path.read_bytes()[-2000:].decode("utf-8", "replace")
            raise RuntimeError(f"the grader could not start a kernel ({type(error).__name__}: {error}); "
                               f"the kernel's output ended with:\n{tail}") from None
        finally:
            if watchdog is not None:
                watchdog.__exit__(None, None, None)
                state["disk_full"] = watchdog.disk_full
            process = getattr(getattr(self.km, "provisioner", None), "process", None) if self.km else None
            if process is not None:
                kill_tree(process.pid)  # nothing a submission started outlives its grading
            kernel_log.close()
        self.set_widgets_metadata()

    def _run_cell(self, cell, index: int, watchdog: Watchdog | None) -> str | None:
        """Run one cell; return why the run must stop after it, or None."""
        notebook_timeout = self.settings.notebook_timeout
        self._budget.new_cell()
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
