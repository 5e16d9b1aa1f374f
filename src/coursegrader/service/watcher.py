"""Waking ``course watch`` when something changes in the exchange's inbound folder.

A thread runs ``watchfiles.watch`` on ``inbound/`` (inotify on Linux, recursive: a new submission's
own files are seen too) and writes a byte to a pipe the service waits on. The events only wake the
service: it then looks at inbound itself and decides from what it finds, never from the kind of event
(a folder is reported while ``nbgrader submit`` is still copying into it). inotify sees nothing that
another machine writes on a network file system, so the service also looks every ``poll_seconds``;
``force_polling`` (``course watch --poll``) makes watchfiles itself poll. If the watcher cannot start
or stops (no inotify instance left, the folder replaced), that is logged and the periodic look goes on.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path


class Watcher:
    def __init__(self, folder: Path, log: Callable[[str], None], force_polling: bool = False):
        self.folder, self.log, self.force_polling = Path(folder), log, force_polling
        self.wake_read, self.wake_write = os.pipe()
        os.set_blocking(self.wake_read, False)
        os.set_blocking(self.wake_write, False)
        self.stop_event = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        self.thread = threading.Thread(target=self._watch, name="course-watch-inotify", daemon=True)
        self.thread.start()

    def wake(self) -> None:
        try:
            os.write(self.wake_write, b"x")
        except (BlockingIOError, OSError):
            pass  # the pipe is full: the service will wake anyway

    def drain(self) -> None:
        try:
            while os.read(self.wake_read, 4096):
                pass
        except (BlockingIOError, OSError):
            pass

    def _watch(self) -> None:
        try:
            from watchfiles import watch

            for _changes in watch(self.folder, stop_event=self.stop_event, force_polling=self.force_polling,
                                  poll_delay_ms=200, debounce=200, step=20, rust_timeout=1000,
                                  yield_on_timeout=False, raise_interrupt=False, ignore_permission_denied=True):
                self.wake()
        except Exception as error:  # noqa: BLE001 — the periodic look stands in for it
            if not self.stop_event.is_set():
                self.log(f"watcher: {type(error).__name__}: {error}; looking at the exchange every few seconds instead")

    def stop(self) -> None:
        self.stop_event.set()
        self.wake()
        if self.thread is not None:
            self.thread.join(timeout=5)
