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

import asyncio
import os
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import run_sync
from nbformat.v4 import new_output
from nbgrader import utils as nbgrader_utils
from nbgrader.preprocessors import Execute
from traitlets import Bool, Integer, Unicode

from coursegrader.editions import edition_language
from coursegrader.kernel import SandboxedKernelManager, ipykernel_command
from coursegrader.sandbox import Limits, Sandbox, SandboxUnavailable, Watchdog, check_available, kill_tree
from coursekit import handover
from coursekit.selfcheck import HANDOVER_DIR_VARIABLE, LANGUAGE_VARIABLE

SAFE_MIME_TYPES = ("text/plain", "text/latex", "image/png", "image/jpeg", "image/gif")
UNSAFE_BANNER = ("UNSANDBOXED: the code of this submission runs with the grader's rights, network and files "
                 "(SandboxedExecute.unsafe_run_without_sandbox is set)")


@dataclass(frozen=True)
class HandedOver:
    """The two files a test cell handed over, read by the grader right after the cell ran."""

    document: bytes
    arrays: bytes


@dataclass(frozen=True)
class NotHandedOver:
    reason: str  # why nothing usable came from this test cell, in words for the student


def read_regular_file(path: Path, max_bytes: int) -> bytes | str:
    """The bytes of ``path`` if it is a regular file (not a link) of at most ``max_bytes``; else why not."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return "missing"
    except OSError as error:
        return f"unreadable ({error.strerror})"
    with os.fdopen(descriptor, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            return "not a regular file"
        if info.st_size > max_bytes:
            return f"larger than {max_bytes:,} bytes"
        return handle.read(max_bytes + 1)[:max_bytes]


def empty_folder(folder: Path) -> None:
    """Remove everything in ``folder`` without following links."""
    import shutil

    for entry in os.scandir(folder):
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            try:
                os.unlink(entry.path)
            except OSError:
                pass


def take_handover(folder: Path, grade_id: str, limits: handover.Limits) -> HandedOver | NotHandedOver:
    document_name, arrays_name = handover.file_names(grade_id)
    document = read_regular_file(folder / document_name, limits.json_bytes)
    arrays = read_regular_file(folder / arrays_name, limits.npz_bytes)
    if isinstance(document, bytes) and isinstance(arrays, bytes):
        return HandedOver(document, arrays)
    problem = document if isinstance(document, str) else arrays
    if problem == "missing":
        return NotHandedOver("this test cell handed no results to the grader (did something in the notebook replace "
                             "or stop `run_check`?)")
    return NotHandedOver(f"the results this test cell handed over were {problem}")


def _text_size(value) -> int:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict):
        return sum(_text_size(item) for item in value.values())
    if isinstance(value, (list, tuple)):
        return sum(_text_size(item) for item in value)
    return 8


class SandboxedExecute(Execute):
    notebook_timeout = Integer(600, help="Seconds the whole notebook may run; later cells are not run.").tag(config=True)
    memory_limit = Integer(Limits.memory_bytes, help="Bytes of memory for one submission's processes.").tag(config=True)
    process_limit = Integer(Limits.processes, help="Processes and threads one submission may have.").tag(config=True)
    file_size_limit = Integer(Limits.file_bytes, help="Largest file a submission may write, in bytes.").tag(config=True)
    disk_limit = Integer(Limits.disk_bytes, help="Bytes a submission may keep in its folder.").tag(config=True)
    max_cell_output_bytes = Integer(2**20, help="Output kept per cell; past it the cell is interrupted.").tag(config=True)
    max_output_bytes = Integer(8 * 2**20, help="Output kept per notebook; past it outputs are dropped.").tag(config=True)
    sandbox_uid = Integer(64_000, help="User id the kernel runs as when the grader runs as root.").tag(config=True)
    bubblewrap = Unicode("bwrap", help="The bubblewrap executable.").tag(config=True)
    fork_kernels = Bool(False, help="Fork each kernel from a process that imported the kernel and the labs' libraries "
                                    "once (coursegrader.factory; `course autograde` sets it), instead of starting a "
                                    "new interpreter in each sandbox. Needs the grader to run as root.").tag(config=True)
    unsafe_run_without_sandbox = Bool(
        False, help="Run submissions without bubblewrap when it is unavailable: their code gets the grader's rights. "
                    "Verdicts still come from the grading process. Never set this for a real class.").tag(config=True)

    shutdown_kernel = "immediate"  # a graded kernel's state is worth nothing: kill it, do not ask it to stop
    coalesce_streams = True  # one stream output per cell and stream: how the kernel's flushes fell is a race

    probe_timeout = Integer(10, help="Seconds a kernel gets to answer after a cell timed out.").tag(config=True)

    # -------------------------------------------------------------------------
    # nbclient hooks

    def _get_timeout(self, cell):
        if getattr(self, "_probing", False):
            return self.probe_timeout
        timeout = super()._get_timeout(cell)
        deadline = getattr(self, "_deadline", None)
        if deadline is None:
            return timeout
        remaining = max(1, int(deadline - time.monotonic()) + 1)
        return remaining if timeout is None else min(timeout, remaining)

    def create_kernel_manager(self):
        if self._sandbox is None:
            spec = KernelSpec(argv=self._unsandboxed_argv(), env=self._kernel_environment(),
                              display_name="Python 3 (unsandboxed)", language="python", interrupt_mode="message")
            self.km = AsyncKernelManager(config=self.config)
            self.km._kernel_spec = spec
        else:
            factory = None
            if self.fork_kernels and os.geteuid() == 0:
                from coursegrader.factory import KernelFactory

                factory = KernelFactory.shared()
            self.km = SandboxedKernelManager(self._sandbox, self._kernel_output_limit, factory=factory,
                                             config=self.config)
        return self.km

    def output(self, outs, msg, display_id, cell_index):
        size = _text_size(msg.get("content", {}))
        self._cell_output += size
        self._notebook_output += size
        over_cell = self._cell_output > self.max_cell_output_bytes
        if over_cell or self._notebook_output > self.max_output_bytes:
            if not self._cell_truncated:
                self._cell_truncated = True
                limit = self.max_cell_output_bytes if over_cell else self.max_output_bytes
                # No interrupt from here: it would reach the kernel late, in whatever cell runs by then.
                # The kernel stops a cell that prints on (coursekit.outputlimit, at twice this cap); one
                # whose code removed that cap runs to the cell's time limit, its output dropped here.
                outs.append(new_output("stream", name="stdout", text=(
                    f"\n[output cut by the grader: more than {limit:,} characters"
                    f"{' in this cell' if over_cell else ' in this notebook'}]\n")))
            return None
        content = msg.get("content", {})
        if msg.get("msg_type") in ("display_data", "execute_result") and isinstance(content.get("data"), dict):
            kept = {mime: value for mime, value in content["data"].items() if mime in SAFE_MIME_TYPES}
            if not kept:
                kept = {"text/plain": f"[{', '.join(sorted(content['data']))[:80]} output removed by the grader]"}
            msg = {**msg, "content": {**content, "data": kept}}
        return super().output(outs, msg, display_id, cell_index)

    async def async_start_new_kernel_client(self):
        """nbclient's, with a readiness check that does not sit idle: connect once the kernel's sockets exist
        (no reconnection back-off), and take the kernel as ready once a kernel_info request has its reply on
        the shell channel and its idle status on IOPub (jupyter_client's check also waits for 0.2 s of
        silence on IOPub, on every kernel: a fifth of a second per submission)."""
        from queue import Empty

        from nbclient.util import ensure_async, run_hook

        self.kc = self.km.client()
        deadline = time.monotonic() + (self.startup_timeout or 60)
        if self.km.transport == "ipc":
            sockets = [f"{self.km.ip}-{port}" for port in (self.km.shell_port, self.km.iopub_port, self.km.stdin_port,
                                                          self.km.control_port, self.km.hb_port)]
            while not all(os.path.exists(path) for path in sockets) and time.monotonic() < deadline:
                if not await ensure_async(self.km.is_alive()):
                    break
                await asyncio.sleep(0.002)
        await ensure_async(self.kc.start_channels())
        while True:
            msg_id = self.kc.kernel_info()
            answered = False
            try:
                while not answered:
                    reply = await ensure_async(self.kc.shell_channel.get_msg(timeout=1))
                    answered = reply["parent_header"].get("msg_id") == msg_id
            except Empty:
                pass
            if answered:
                until = time.monotonic() + 0.1
                try:
                    while time.monotonic() < until:
                        message = await ensure_async(self.kc.iopub_channel.get_msg(timeout=until - time.monotonic()))
                        if (message["parent_header"].get("msg_id") == msg_id and message["msg_type"] == "status"
                                and message["content"].get("execution_state") == "idle"):
                            self.kc.allow_stdin = False
                            await run_hook(self.on_notebook_start, notebook=self.nb)
                            return self.kc
                except Empty:
                    pass
            if not await ensure_async(self.km.is_alive()):
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {self.startup_timeout} seconds")

    start_new_kernel_client = run_sync(async_start_new_kernel_client)

    def _update_display_id(self, display_id, msg):
        return None  # a kernel may not rewrite outputs it already produced (least of all in other cells)

    def handle_comm_msg(self, outs, msg, cell_index):
        return None  # widgets play no part in grading

    # -------------------------------------------------------------------------
    # the run

    def refuse_unless_sandboxed(self) -> None:
        """At the start of a run: raise ``SandboxUnavailable`` if no sandbox can start here and the instructor
        has not opted out; log the opt-out loudly if they have."""
        try:
            check_available(self.bubblewrap)
        except SandboxUnavailable as error:
            if not self.unsafe_run_without_sandbox:
                raise
            self.log.warning("%s\n%s\nbubblewrap is unavailable: %s\n%s", "!" * 100, UNSAFE_BANNER, error, "!" * 100)

    def _unsandboxed_argv(self) -> list[str]:
        limits = self._limits()
        return ["prlimit", f"--as={limits.memory_bytes}", f"--fsize={limits.file_bytes}", "--core=0",
                *ipykernel_command(self._python(), self._kernel_output_limit)]

    @property
    def _kernel_output_limit(self) -> int:
        # twice the grader's cap: the grader sees the cell cross its own cap first and says so; the kernel's
        # cap stops a runaway cell even when the grader's interrupt comes late
        return 2 * self.max_cell_output_bytes

    def _kernel_environment(self) -> dict[str, str]:
        """What the kernel is told: where to hand results over, and the language of the student's edition
        (for the little it prints itself at grading)."""
        return {HANDOVER_DIR_VARIABLE: str(self._handover_dir), LANGUAGE_VARIABLE: getattr(self, "_language", "en")}

    def _python(self) -> str:
        import sys

        return sys.executable

    def _limits(self) -> Limits:
        return Limits(memory_bytes=self.memory_limit, processes=self.process_limit, file_bytes=self.file_size_limit,
                      disk_bytes=self.disk_limit)

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
            self._mark_not_run(nb.cells, 0, f"not run: {intake.summary()}")
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
        self._language = edition_language(nb)
        with tempfile.TemporaryDirectory(prefix="coursekit-run-") as run_folder:
            run_dir = Path(run_folder)
            self._handover_dir = run_dir / "handover"
            self._handover_dir.mkdir()
            self._sandbox = Sandbox(work_dir=work_dir, run_dir=run_dir, limits=self._limits(), uid=self.sandbox_uid,
                                    python=self._python(), protected=(self._course_root(),), bubblewrap=self.bubblewrap,
                                    environment=self._kernel_environment()) if sandboxed else None
            if self._sandbox is not None:
                self._sandbox.prepare()
            try:
                self._execute_notebook(nb, resources, work_dir, run_dir)
            finally:
                if self._sandbox is not None:
                    self._sandbox.release(discard_new_files=state.get("disk_full", False))
        return nb, resources

    def _execute_notebook(self, nb, resources, work_dir: Path, run_dir: Path) -> None:
        from nbclient import NotebookClient

        state = resources["coursekit"]
        NotebookClient.__init__(self, nb, None)
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        self._notebook_output = 0
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
                watchdog = Watchdog(pids, work_dir, self._limits()) if self._sandbox is not None else None
                if watchdog is not None:
                    watchdog.__enter__()
                info = self.wait_for_reply(self.kc.kernel_info())
                if info is not None:
                    self.nb.metadata["language_info"] = info["content"].get("language_info", {})
                self._deadline = time.monotonic() + self.notebook_timeout
                stopped = None
                for index, cell in enumerate(self.nb.cells):
                    if stopped is not None:
                        self._mark_not_run(self.nb.cells, index, f"not run: {stopped}")
                        break
                    if cell.cell_type != "code":
                        continue
                    if time.monotonic() >= self._deadline:
                        stopped = f"the notebook reached its time limit of {self.notebook_timeout} s before this cell"
                        self._mark_not_run(self.nb.cells, index, f"not run: {stopped}")
                        break
                    grade_id = cell.metadata.get("nbgrader", {}).get("grade_id") if nbgrader_utils.is_grade(cell) else None
                    if grade_id is not None:
                        empty_folder(self._handover_dir)
                    stopped = self._run_cell(cell, index, watchdog)
                    if grade_id is not None and handover.GRADE_ID.match(grade_id):
                        state["handovers"][grade_id] = take_handover(self._handover_dir, grade_id, handover_limits)
                        empty_folder(self._handover_dir)
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
        self._cell_output = 0
        self._cell_truncated = False
        try:
            self.execute_cell(cell, index, store_history=True)
        except DeadKernelError:
            cell.execution_count = None  # whether the kernel said it began the cell before dying is a race
            reason = watchdog.reason if watchdog is not None and watchdog.reason else None
            message = (f"the grader stopped the kernel in this cell: {reason}" if reason
                       else "the kernel died in this cell: the code exited the kernel, or crashed it")
            cell.outputs.append(new_output("error", ename="KernelStopped", evalue=message, traceback=[f"KernelStopped: {message}"]))
            return message.replace("in this cell", f"in cell {index + 1}")
        except CellTimeoutError:
            if time.monotonic() >= self._deadline:
                reason = f"the notebook reached its time limit of {self.notebook_timeout} s"
            else:
                reason = "the kernel did not stop after the time limit of this cell"
            cell.outputs.append(new_output("error", ename="KernelStopped", evalue=reason, traceback=[f"KernelStopped: {reason}"]))
            return f"{reason.replace('this cell', f'cell {index + 1}')}" if "this cell" in reason else f"{reason} in cell {index + 1}"
        except Exception as error:  # noqa: BLE001 — a kernel can send anything; it must not stop other students' grading
            self.log.warning("cell %d: the kernel's messages could not be processed: %s: %s", index + 1,
                             type(error).__name__, error)
            message = "the kernel sent messages the grader could not read"
            cell.outputs.append(new_output("error", ename="KernelStopped", evalue=message, traceback=[f"KernelStopped: {message}"]))
            return f"{message} in cell {index + 1}"
        timed_out = any(output.get("output_type") == "error" and output.get("ename") == "CellTimeoutError"
                        for output in cell.outputs)
        if timed_out:
            if time.monotonic() >= self._deadline:
                return f"the notebook reached its time limit of {self.notebook_timeout} s in cell {index + 1}"
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

    @staticmethod
    def _mark_not_run(cells, start: int, note: str) -> None:
        for cell in cells[start:]:
            if cell.cell_type == "code":
                cell.outputs = [new_output("stream", name="stdout", text=f"[{note}]\n")]
