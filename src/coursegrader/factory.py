"""Forked kernels, seen from the grader: the factory process, and a kernel provisioner that uses it.

``KernelFactory`` starts ``python -m coursegrader.zygote`` once per grading process, with a clean
environment, and asks it for one kernel per submission. ``ForkedKernelProvisioner`` is the
jupyter_client provisioner that launches such a kernel: it starts the submission's sandbox with
bubblewrap (``Sandbox.holder_argv``), waits until bubblewrap has set it up, and has the factory
fork a kernel into it. Stopping the kernel kills the sandbox: its PID namespace ends, and with it
every process the submission started.

``course autograde`` grades with forked kernels; ``nbgrader autograde`` starts each kernel with
bubblewrap from scratch. Both run the same sandbox, limits and checks.
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
from jupyter_client.provisioning import LocalProvisioner

from coursegrader.kernel import startup_argument
from coursegrader.sandbox import Sandbox, descendants, process_name

FACTORY_ENVIRONMENT = ("PATH", "LANG", "LC_ALL")  # all the factory inherits: kernels are copies of it


class KernelFactory:
    """The zygote process of this grading process (``shared()``), started on first use."""

    _shared: KernelFactory | None = None
    _shared_pid: int | None = None

    def __init__(self, python: str = sys.executable):
        env = {name: os.environ[name] for name in FACTORY_ENVIRONMENT if name in os.environ}
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        self.process = subprocess.Popen([python, "-m", "coursegrader.zygote"], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True,
                                        cwd="/", start_new_session=True)
        self._lock = threading.Lock()
        hello = self.process.stdout.readline()
        if not hello:
            raise RuntimeError(f"the kernel factory did not start (exit {self.process.wait()})")
        atexit.register(self.close)

    @classmethod
    def shared(cls) -> KernelFactory:
        """The factory of the current process (a forked worker gets its own, never its parent's)."""
        if cls._shared is None or cls._shared_pid != os.getpid() or cls._shared.process.poll() is not None:
            cls._shared, cls._shared_pid = cls(), os.getpid()
        return cls._shared

    def spawn(self, **request) -> int:
        with self._lock:
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
            answer = json.loads(self.process.stdout.readline() or '{"error": "the kernel factory stopped"}')
        if "error" in answer:
            raise RuntimeError(f"the kernel factory could not start a kernel: {answer['error']}")
        return answer["pid"]

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


class ForkedKernelProvisioner(LocalProvisioner):
    """Launches a kernel forked by the ``KernelFactory`` into the sandbox of ``self.parent.sandbox``."""

    kernel_pid: int | None = None

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
            arguments=[*km.kernel_arguments, startup_argument(km.output_limit)])
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
            await __import__("asyncio").sleep(0.05)
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
