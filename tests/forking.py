"""A process of the tests' own that forks a child for each request, and the caller's side of it.

``tests.commands`` (the ``course`` and ``nbgrader`` commands of the suite) and
``tests.service.forked_nbgrader`` (each student account's ``nbgrader``) each start one: ``argv -P -c
SCRIPT``, requests written as JSON lines on its standard input, replies read as JSON lines from its
standard output. A reply ``{"id": n, ...}`` is kept for whoever waits for ``n``; any other line it prints
(its own warnings) is kept to explain a server that ended.
"""

from __future__ import annotations

import json
import subprocess
import threading
from pathlib import Path


class ForkingServer:
    def __init__(self, argv: list[str], script: str, cwd: Path | str, env: dict[str, str] | None):
        self.replies: dict[int, dict] = {}
        self.noise: list[str] = []
        self.ended = False
        self.lock, self.done = threading.RLock(), threading.Condition()  # lock: held while a request is written
        self.process = subprocess.Popen([*argv, "-P", "-c", script], cwd=cwd, env=env, stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            reply = json.loads(line) if line.startswith('{"') else None
            with self.done:
                if reply is None:
                    self.noise.append(line)
                elif "id" in reply:
                    self.replies[reply["id"]] = reply
                self.done.notify_all()
        with self.done:
            self.ended = True
            self.done.notify_all()

    def send(self, request) -> None:
        """Write one request (any JSON value) as a line; any thread may."""
        with self.lock:
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()

    def wait(self, serial: int, timeout: float) -> dict | None:
        """The reply to request ``serial``, or None if none came within ``timeout`` s or the server ended."""
        with self.done:
            self.done.wait_for(lambda: serial in self.replies or self.ended, timeout=timeout)
            return self.replies.pop(serial, None)

    def close(self) -> None:
        """End the server (its standard input closed: it exits) and its reader."""
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.reader.join(timeout=10)
