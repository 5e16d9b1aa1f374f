"""``Watchdog``: polls a running sandbox and stops its processes when they together hold more memory than
allowed, or when the places it can write hold more entries than allowed.

Bytes written are bounded by the sizes of the sandbox's tmpfs mounts themselves (a write past them fails
with "No space left on device"); files and folders are not (a tmpfs counts them only against memory), so
the watchdog reads each mount's own count of entries (``statvfs``, no walking) five times a second.
What the sandbox holds in its tmpfs mounts is not resident memory of its processes: the memory bound is
``memory_bytes`` for the processes, plus the sizes of the mounts.

Its processes are those below the sandbox's bubblewrap process and, for a kernel forked by the kernel
factory (which is not bubblewrap's child), those below the kernel. Stopping kills every one of them
but the process that holds the sandbox open, so the grader can still
copy out what the kernel wrote (``coursegrader.run.inside``) before it ends the sandbox.
"""

from __future__ import annotations

import threading

from coursegrader.run.inside import SandboxView
from coursegrader.run.processes import descendants, kill_tree
from coursegrader.run.sandbox import GiB, Limits


class Watchdog:
    def __init__(self, root_pid: int, spare: frozenset[int], view: SandboxView | None, limits: Limits,
                 interval: float = 0.2, kernel_pid: int | None = None):
        self.root_pid, self.spare, self.view, self.limits, self.interval = root_pid, spare, view, limits, interval
        self.roots = tuple(dict.fromkeys(pid for pid in (root_pid, kernel_pid) if pid))
        self.reason: str | None = None
        self.too_many_entries = False  # the reason is the entries its folders hold: what it wrote is not kept
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name=f"watchdog-{root_pid}", daemon=True)

    def __enter__(self) -> Watchdog:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _resident_bytes(self) -> int:
        import psutil

        total = 0
        members = dict.fromkeys(member for root in self.roots for member in (root, *descendants(root)))
        for member in members:
            try:
                total += psutil.Process(member).memory_info().rss
            except psutil.Error:
                continue
        return total

    def check(self) -> str | None:
        """Why the sandbox must stop now, or None."""
        memory = self._resident_bytes()
        if memory > self.limits.memory_bytes:
            return (f"its processes together used more than {self.limits.memory_bytes / GiB:g} GiB of memory "
                    f"({memory / GiB:.2f} GiB)")
        if self.view is not None:
            entries = self.view.usage().entries
            if entries > self.limits.disk_entries:
                self.too_many_entries = True
                return f"it created more than {self.limits.disk_entries:,} files and folders"
        return None

    def _watch(self) -> None:
        while not self._stop.wait(self.interval):
            reason = self.check()
            if reason:
                self.reason = reason
                for root in self.roots:
                    kill_tree(root, spare=self.spare | {self.root_pid})
                return
