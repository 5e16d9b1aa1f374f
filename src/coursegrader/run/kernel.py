"""A jupyter_client kernel manager whose kernel runs inside a ``Sandbox``.

The kernel talks over IPC sockets in the sandbox's run folder, and reads its connection file there
(bound read-only from the grader's run folder): the sandbox's private ``/tmp`` would hide the host's.
Interrupts travel as messages on the control channel, since a signal to bubblewrap does not reach the
kernel behind it.
"""

from __future__ import annotations

import os

from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager

from coursegrader.run.sandbox import Sandbox

SANDBOX_PROVISIONER = "coursekit-sandbox-provisioner"  # coursegrader.run.provisioner, by its entry point


def startup_argument(output_limit: int) -> str:
    """The kernel's first lines, run before any of the student's."""
    lines = [
        # cap each cell's printing inside the kernel too (coursekit.outputlimit)
        f"__import__('coursekit.outputlimit').outputlimit.install({int(output_limit)}, get_ipython())",
        # quit() and exit() would stop the kernel 0.1 s later, in whichever cell runs by then: a
        # grading kernel ignores them, and the notebook is graded to its end
        "get_ipython().ask_exit = lambda: None",
        # IPython formats every traceback twice: for the cell's output, and again to keep in its history
        # (read only by the %notebook magic), 15-30 ms per error; a grading kernel keeps the short form
        "get_ipython()._format_exception_for_storage = lambda exception, *args, **kwargs: "
        "{'ename': type(exception).__name__, 'evalue': '', 'traceback': []}",
        # the submission's folder back on sys.path, as a kernel normally has it
        "import sys",
        "sys.path.insert(0, '')",
    ]
    return "--IPKernelApp.exec_lines=" + "; ".join(lines)


def ipykernel_command(python: str, output_limit: int) -> list[str]:
    # -P: the submission's folder is not on sys.path while the kernel starts, so a file named like a
    # module the kernel imports (zmq.py, numpy.py) cannot replace it; exec_lines puts it back for the
    # student's own code, as a kernel normally has it.
    return [python, "-P", "-m", "ipykernel_launcher", "-f", "{connection_file}", startup_argument(output_limit)]


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel in ``sandbox``: started there by ``python -m ipykernel_launcher``, or, given a ``KernelFactory``,
    forked into it (``coursegrader.run.factory``). Either way the provisioner its kernel spec names launches it
    (``coursegrader.run.provisioner``). The IPC sockets' address (``Sandbox.socket_prefix``) is the same path
    inside and outside the sandbox: inside, a folder of the sandbox's run folder; outside, a link the
    provisioner makes to that folder through ``/proc/<pid>/root`` once the sandbox is up."""

    def __init__(self, sandbox: Sandbox, output_limit: int, factory=None, **kwargs):
        super().__init__(transport="ipc", ip=sandbox.socket_prefix, **kwargs)
        self.sandbox, self.factory, self.output_limit = sandbox, factory, output_limit
        self.connection_file = str(sandbox.connection_file)
        self._kernel_spec = KernelSpec(argv=ipykernel_command(sandbox.python, output_limit), env={},
                                       display_name="Python 3 (coursekit sandbox)", language="python",
                                       interrupt_mode="message",
                                       metadata={"kernel_provisioner": {"provisioner_name": SANDBOX_PROVISIONER}})

    @property
    def kernel_spec(self) -> KernelSpec:
        return self._kernel_spec

    def write_connection_file(self, **kwargs):
        result = super().write_connection_file(**kwargs)
        if self.sandbox.as_root:
            os.chown(self.connection_file, self.sandbox.uid, self.sandbox.uid)  # readable by the kernel only
        return result

    @property
    def kernel_pid(self) -> int | None:
        return getattr(self.provisioner, "kernel_pid", None)
