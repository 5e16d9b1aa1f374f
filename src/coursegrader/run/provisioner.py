"""``ForkedKernelProvisioner``: the jupyter_client kernel provisioner of forked, sandboxed kernels.

Registered under jupyter_client's ``jupyter_client.kernel_provisioners`` entry point as
``coursekit-forked-provisioner`` (``pyproject.toml``, ``coursegrader.run.kernel.FORKED_PROVISIONER``); a ``SandboxedKernelManager`` given a kernel
factory names it in its kernel spec. It starts the submission's sandbox with bubblewrap
(``Sandbox.holder_argv``), waits until bubblewrap has set it up, and has the factory
(``coursegrader.run.factory``) fork a kernel into it. Stopping the kernel kills the sandbox: its PID
namespace ends, and with it every process the submission started.
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

from coursegrader.run.kernel import startup_argument
from coursegrader.run.processes import descendants, process_name
from coursegrader.run.sandbox import Sandbox

class ForkedKernelProvisioner(LocalProvisioner):
    """Launches a kernel forked by the ``KernelFactory`` into the sandbox of ``self.parent.sandbox``."""

    kernel_pid: int | None = None
    kernel_arguments: list[str] = []

    async def pre_launch(self, **kwargs):
        self.kernel_arguments = list(kwargs.get("extra_arguments") or [])  # c.Execute.extra_arguments
        return await super().pre_launch(**kwargs)

    async def launch_kernel(self, cmd: list[str], **kwargs):
        km = self.parent
        sandbox: Sandbox = km.sandbox
        log = kwargs.get("stdout")
        self.process = subprocess.Popen(sandbox.holder_argv(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=log, start_new_session=True, cwd=str(sandbox.work_dir), text=True)
        self.pid, self.pgid = self.process.pid, os.getpgid(self.process.pid)
        if self.process.stdout.readline().strip() != "ready":
            await self.kill()
            raise RuntimeError(f"bubblewrap did not set the sandbox up (exit {self.process.returncode})")
        holder = self._holder_pid()
        self.kernel_pid = km.factory.spawn(
            holder=holder, work_dir=str(sandbox.work_dir), connection_file=km.connection_file,
            log=str(Path(log.name)) if log is not None and hasattr(log, "name") else os.devnull,
            uid=sandbox.uid, limits=sandbox.rlimits(), env=sandbox.environment_variables(),
            arguments=[*self.kernel_arguments, startup_argument(km.output_limit)])
        return self.connection_info

    def _holder_pid(self) -> int:
        """The sleeping process inside the sandbox: the deepest process below bubblewrap."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            sleeping = [pid for pid in descendants(self.process.pid) if process_name(pid) == "sleep"]
            if sleeping:
                return sleeping[0]
            time.sleep(0.002)
        raise RuntimeError("the sandbox's process did not appear")

    @property
    def has_process(self) -> bool:
        return self.process is not None

    async def poll(self) -> int | None:
        if self.process is None:
            return 0
        if self.process.poll() is not None:
            return self.process.returncode
        try:
            if psutil.Process(self.kernel_pid).status() == psutil.STATUS_ZOMBIE:
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
