"""``Watchdog``: polls a running sandbox and kills it when its processes together hold more memory than
allowed, or its working folder grows beyond its disk allowance (size or entries)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from coursegrader.run.processes import descendants, kill_tree
from coursegrader.run.sandbox import GiB, MiB, Limits


class Watchdog:
    """Polls a running sandbox; kills it when its processes' memory or its folder's size passes a limit."""

    def __init__(self, pids: list[int], work_dir: Path, limits: Limits, interval: float = 0.2):
        self.pids, self.work_dir, self.limits, self.interval = pids, work_dir, limits, interval
        self.reason: str | None = None
        self.disk_full = False  # the reason is the folder's size or entries
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name=f"watchdog-{pids[0]}", daemon=True)

    def __enter__(self) -> Watchdog:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _resident_bytes(self) -> int:
        import psutil

        processes = []
        for pid in self.pids:
            for member in (pid, *descendants(pid)):
                try:
                    processes.append(psutil.Process(member))
                except psutil.Error:
                    continue
        total = 0
        for process in processes:
            try:
                total += process.memory_info().rss
            except psutil.Error:
                pass
        return total

    def _disk_usage(self) -> tuple[int, int]:
        """(bytes, entries) under the working folder, stopping early once either limit is passed."""
        size = entries = 0
        stack = [str(self.work_dir)]
        while stack:
            try:
                with os.scandir(stack.pop()) as scan:
                    for entry in scan:
                        entries += 1
                        if entry.is_dir(follow_symlinks=False):
                            stack.append(entry.path)
                        elif entry.is_file(follow_symlinks=False):
                            size += entry.stat(follow_symlinks=False).st_size
                        if size > self.limits.disk_bytes or entries > self.limits.disk_entries:
                            return size, entries
            except OSError:
                continue
        return size, entries

    def _watch(self) -> None:
        while not self._stop.wait(self.interval):
            memory = self._resident_bytes()
            if memory > self.limits.memory_bytes:
                self.reason = (f"its processes together used more than {self.limits.memory_bytes / GiB:g} GiB of memory "
                               f"({memory / GiB:.2f} GiB)")
            else:
                size, entries = self._disk_usage()
                self.disk_full = size > self.limits.disk_bytes or entries > self.limits.disk_entries
                if size > self.limits.disk_bytes:
                    self.reason = f"it wrote more than {self.limits.disk_bytes / MiB:g} MiB into its folder"
                elif entries > self.limits.disk_entries:
                    self.reason = f"it created more than {self.limits.disk_entries:,} files and folders"
            if self.reason:
                for pid in self.pids:
                    kill_tree(pid)
                return

