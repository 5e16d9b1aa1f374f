"""The kernel factory, seen from the grader: one zygote process per grading process, asked for one kernel per submission.

``KernelFactory`` starts ``python -m coursegrader.run.zygote`` once per grading process, with a clean
environment, and asks it to fork a kernel into a submission's sandbox
(``coursegrader.run.provisioner`` does, for jupyter_client).

``course autograde`` grades with forked kernels; ``nbgrader autograde`` starts each kernel with
bubblewrap from scratch. Both run the same sandbox, limits and checks.
"""

from __future__ import annotations

import atexit
import json
import os
import subprocess
import sys
import threading

from coursekit.lab import LABS_VARIABLE

# All the factory inherits: kernels are copies of it. LABS_VARIABLE: the labs kept outside the packages,
# whose modules it imports for its kernels.
FACTORY_ENVIRONMENT = ("PATH", "LANG", "LC_ALL", LABS_VARIABLE)


class KernelFactory:
    """The zygote process of this grading process (``shared()``), started on first use."""

    _shared: KernelFactory | None = None
    _shared_pid: int | None = None

    def __init__(self, python: str = sys.executable):
        env = {name: os.environ[name] for name in FACTORY_ENVIRONMENT if name in os.environ}
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        # a forked kernel's /proc/self/environ is the zygote's: the kernel's PATH, not the grader's
        env["PATH"] = os.pathsep.join([os.path.dirname(python), "/usr/bin", "/bin"])
        self.process = subprocess.Popen([python, "-m", "coursegrader.run.zygote"], stdin=subprocess.PIPE,
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
        if cls._shared is None or cls._shared_pid != os.getpid() or not cls._shared.alive():
            cls._shared, cls._shared_pid = cls(), os.getpid()
        return cls._shared

    @classmethod
    def use(cls, factory) -> None:
        """Make ``factory`` (anything with ``spawn(**request)`` and ``alive()``) this process's shared one: a
        process forked to grade one submission asks the factory of the process it was forked from
        (``coursegrader.classrun.gradeserver`` relays its requests) instead of starting its own."""
        cls._shared, cls._shared_pid = factory, os.getpid()

    def alive(self) -> bool:
        return self.process.poll() is None

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
