"""``SandboxProvisioner``: the jupyter_client kernel provisioner of sandboxed kernels.

Registered under jupyter_client's ``jupyter_client.kernel_provisioners`` entry point as
``coursekit-sandbox-provisioner`` (``pyproject.toml``; ``coursegrader.run.kernel.SANDBOX_PROVISIONER``);
``SandboxedKernelManager`` names it in its kernel spec. It launches the kernel in two ways:

- started in the sandbox by bubblewrap (``Sandbox.kernel_argv``: a shell runs the kernel, then keeps the
  sandbox open after it ends, until the grader has copied out what it wrote);
- forked into the sandbox by the kernel factory (``coursegrader.run.factory``): bubblewrap starts a
  sandbox holding only a sleeping process (``Sandbox.holder_argv``), and the factory forks a kernel into it.

Once the sandbox is up it opens the sandbox's folders for the grader (``SandboxView``) and links the
host's socket address to the sandbox's sockets folder. The kernel counts as alive while its own process
is; stopping it kills the sandbox: its PID namespace ends, and with it every process the submission started.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from pathlib import Path

import psutil
from jupyter_client.provisioning import LocalProvisioner

from coursegrader.run.inside import SandboxView
from coursegrader.run.kernel import startup_argument
from coursegrader.run.processes import descendants, process_name
from coursegrader.run.sandbox import Sandbox

START_TIMEOUT = 30  # seconds for bubblewrap to set a sandbox up and start its first process


class SandboxStartFailed(RuntimeError):
    pass


class SandboxProvisioner(LocalProvisioner):
    """Launches the kernel of ``self.parent`` (a ``SandboxedKernelManager``) in its sandbox."""

    kernel_pid: int | None = None  # the kernel's process
    holder_pid: int | None = None  # the process that keeps the sandbox open
    view: SandboxView | None = None
    kernel_arguments: list[str] = []

    async def pre_launch(self, **kwargs):
        self.kernel_arguments = list(kwargs.get("extra_arguments") or [])  # c.Execute.extra_arguments
        return await super().pre_launch(**kwargs)

    async def launch_kernel(self, cmd: list[str], **kwargs):
        km = self.parent
        sandbox: Sandbox = km.sandbox
        self._bwrap_log = open(sandbox.run_dir / "bubblewrap.log", "wb")
        try:
            if km.factory is None:
                self.process = subprocess.Popen(sandbox.kernel_argv(cmd), stdin=subprocess.DEVNULL, stdout=self._bwrap_log,
                                                stderr=subprocess.STDOUT, start_new_session=True, cwd="/")
                self.pid, self.pgid = self.process.pid, self.process.pid
                self.holder_pid, self.kernel_pid = self._find_keeper_and_kernel()
                self._open_view(sandbox)
            else:
                self.process = subprocess.Popen(sandbox.holder_argv(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                                stderr=self._bwrap_log, start_new_session=True, cwd="/", text=True)
                self.pid, self.pgid = self.process.pid, self.process.pid
                if self.process.stdout.readline().strip() != "ready":
                    raise SandboxStartFailed(f"bubblewrap did not set the sandbox up (exit {self.process.wait()}): "
                                             f"{self._bwrap_messages()}")
                self.holder_pid = self._find(lambda pid: process_name(pid) == "sleep")
                self._open_view(sandbox)
                self.kernel_pid = km.factory.spawn(
                    holder=self.holder_pid, work_dir=str(sandbox.work_dir), connection_file=km.connection_file,
                    log=str(sandbox.kernel_log), uid=sandbox.uid, limits=sandbox.rlimits(),
                    env=sandbox.environment_variables(),
                    arguments=[*self.kernel_arguments, startup_argument(km.output_limit)])
        except BaseException:
            await self.kill()
            raise
        return self.connection_info

    def _open_view(self, sandbox: Sandbox) -> None:
        self.view = SandboxView.open(sandbox, self.holder_pid)
        # the host's socket address: a link, in the grader's own run folder, to the sandbox's sockets folder
        os.symlink(f"/proc/{self.holder_pid}/root{sandbox.run_dir}/{sandbox.SOCKETS}", sandbox.run_dir / sandbox.SOCKETS)

    def _bwrap_messages(self) -> str:
        self._bwrap_log.flush()
        try:
            return Path(self._bwrap_log.name).read_bytes()[-1000:].decode("utf-8", "replace").strip()
        except OSError:
            return ""

    def _find(self, matches) -> int:
        """The first process below bubblewrap that ``matches``, once it appears."""
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            for pid in descendants(self.process.pid):
                if matches(pid):
                    return pid
            if self.process.poll() is not None:
                break
            time.sleep(0.002)
        raise SandboxStartFailed(f"the sandbox's process did not appear (bubblewrap: {self.process.poll()}): "
                                 f"{self._bwrap_messages()}")

    def _find_keeper_and_kernel(self) -> tuple[int, int]:
        """The shell that keeps the sandbox open, and the kernel it runs."""
        keeper = self._find(lambda pid: process_name(pid) == "sh")
        kernel = self._find(lambda pid: pid != keeper and _parent(pid) == keeper)
        return keeper, kernel

    @property
    def has_process(self) -> bool:
        return self.process is not None

    async def poll(self) -> int | None:
        if self.process is None:
            return 0
        if self.process.poll() is not None:
            return self.process.returncode
        try:
            if self.kernel_pid is None or psutil.Process(self.kernel_pid).status() == psutil.STATUS_ZOMBIE:
                return 1
        except psutil.Error:
            return 1
        return None

    async def wait(self) -> int | None:
        while await self.poll() is None:
            await asyncio.sleep(0.05)
        return 0

    async def send_signal(self, signum: int) -> None:
        if signum in (signal.SIGKILL, signal.SIGTERM):
            await self.kill()
        elif self.kernel_pid is not None:
            try:
                os.kill(self.kernel_pid, signum)
            except ProcessLookupError:
                pass

    async def kill(self, restart: bool = False) -> None:
        """Kill the sandbox: bubblewrap's PID namespace ends, and every process in it with it."""
        if self.view is not None:
            self.view.close()
        if self.process is not None and self.process.poll() is None:
            try:
                os.killpg(self.pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait()

    async def terminate(self, restart: bool = False) -> None:
        await self.kill(restart)

    async def cleanup(self, restart: bool = False) -> None:
        if self.process is not None and self.process.stdout:
            self.process.stdout.close()
        log = getattr(self, "_bwrap_log", None)
        if log is not None:
            log.close()


def _parent(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            return int(handle.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None
