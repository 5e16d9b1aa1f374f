"""A kernel for running a notebook on this machine, talking over IPC sockets in a private folder.

jupyter_client's default transport is TCP on localhost, which its kernels now warn about on every
start (anyone on the machine can connect to an unencrypted TCP port). Sockets in a folder only the
caller can enter need no network at all.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator


@contextlib.contextmanager
def ipc_kernel_manager(kernel_name: str = "python3") -> Iterator:
    """An ``AsyncKernelManager`` whose kernel's sockets and connection file live in a private temporary folder;
    its kernel (which nbclient leaves to whoever made the manager) is shut down on leaving."""
    from jupyter_client.manager import AsyncKernelManager
    from jupyter_core.utils import run_sync

    with tempfile.TemporaryDirectory(prefix="coursekit-kernel-") as sockets:
        km = AsyncKernelManager(kernel_name=kernel_name, transport="ipc", ip=os.path.join(sockets, "kernel"))
        km.connection_file = os.path.join(sockets, "kernel.json")
        try:
            yield km
        finally:
            if km.has_kernel:
                run_sync(km.shutdown_kernel)(now=True)
