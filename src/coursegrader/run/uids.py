"""Sandbox user ids: one of its own for every sandbox running on this machine at a time.

When the grader runs as root, each kernel runs as an unprivileged user, and the limit on processes
(``RLIMIT_NPROC``) counts every process of that user on the machine. Two sandboxes sharing a user id
would share that limit: one submission's fork bomb would stop another's kernel from starting a thread.
So each sandbox takes a user id no other sandbox holds, whichever grading process started it (``nbgrader
autograde``, the workers of ``course autograde``, a Dask worker, ``course watch``): an exclusive ``flock``
on a file named after the id, taken without waiting, held while the sandbox lives. The kernel releases
a lock whose holder died, so an id is never lost.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
import threading
from pathlib import Path

FIRST_UID, UID_COUNT = 64_000, 1_000


class NoFreeUid(RuntimeError):
    """Every user id of the range is held by a running sandbox."""


def lock_folder() -> Path:
    folder = Path(tempfile.gettempdir()) / "coursekit-sandbox-uids"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


class SandboxUid:
    """A user id held for one sandbox: ``with SandboxUid() as uid: ...``, or ``take()`` and ``release()``."""

    _lock = threading.Lock()  # the threads of one process try ids one at a time
    _next = 0  # where this process starts looking, so successive sandboxes spread over the range

    def __init__(self, first: int = FIRST_UID, count: int = UID_COUNT):
        self.first, self.count = first, count
        self.uid: int | None = None
        self._descriptor: int | None = None

    def take(self) -> int:
        folder = lock_folder()
        with SandboxUid._lock:
            for step in range(self.count):
                offset = (SandboxUid._next + step) % self.count
                uid = self.first + offset
                descriptor = os.open(folder / f"{uid}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
                try:
                    fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    os.close(descriptor)
                    continue
                SandboxUid._next = offset + 1
                self.uid, self._descriptor = uid, descriptor
                return uid
        raise NoFreeUid(f"all {self.count} sandbox user ids from {self.first} are in use on this machine "
                        f"(locks in {folder}): wait for running gradings to end, or widen the range "
                        "(c.SandboxedExecute.sandbox_uid_count)")

    def release(self) -> None:
        if self._descriptor is not None:
            os.close(self._descriptor)  # closing the descriptor releases the flock
            self._descriptor, self.uid = None, None

    def __enter__(self) -> int:
        return self.take()

    def __exit__(self, *exc) -> None:
        self.release()
