"""Connecting to a freshly started kernel without sitting idle: nbclient's start-up, with a quicker readiness check.

jupyter_client's own check reconnects with a back-off and waits for 0.2 s of silence on IOPub, on every
kernel: a fifth of a second per submission. Here the client connects once the kernel's IPC sockets exist,
and takes the kernel as ready once a ``kernel_info`` request has its reply on the shell channel and its
idle status on IOPub.
"""

from __future__ import annotations

import asyncio
import os
import time
from queue import Empty

from nbclient.util import ensure_async, run_hook


async def start_kernel_client(client):
    """nbclient's ``async_start_new_kernel_client`` for ``client`` (a ``NotebookClient`` whose ``km`` is started)."""
    client.kc = client.km.client()
    deadline = time.monotonic() + (client.startup_timeout or 60)
    km = client.km
    if km.transport == "ipc":
        sockets = [f"{km.ip}-{port}" for port in (km.shell_port, km.iopub_port, km.stdin_port, km.control_port,
                                                   km.hb_port)]
        while not all(os.path.exists(path) for path in sockets) and time.monotonic() < deadline:
            if not await ensure_async(km.is_alive()):
                break
            await asyncio.sleep(0.002)
    await ensure_async(client.kc.start_channels())
    while True:
        msg_id = client.kc.kernel_info()
        answered = False
        try:
            while not answered:
                reply = await ensure_async(client.kc.shell_channel.get_msg(timeout=1))
                answered = reply["parent_header"].get("msg_id") == msg_id
        except Empty:
            pass
        if answered:
            until = time.monotonic() + 0.1
            try:
                while time.monotonic() < until:
                    message = await ensure_async(client.kc.iopub_channel.get_msg(timeout=until - time.monotonic()))
                    if (message["parent_header"].get("msg_id") == msg_id and message["msg_type"] == "status"
                            and message["content"].get("execution_state") == "idle"):
                        client.kc.allow_stdin = False
                        await run_hook(client.on_notebook_start, notebook=client.nb)
                        return client.kc
            except Empty:
                pass
        if not await ensure_async(km.is_alive()):
            raise RuntimeError("Kernel died before replying to kernel_info")
        if time.monotonic() > deadline:
            raise RuntimeError(f"Kernel didn't respond in {client.startup_timeout} seconds")
