"""``nbgrader`` commands of one account, each run in a child forked from a process that imported nbgrader.

A test that runs many nbgrader commands pays nbgrader's imports (about 2 s of CPU) once per account instead
of once per command: ``Nbgrader`` starts, as the account and with its interpreter, environment and working
folder, a process that imports nbgrader's command line and nothing else, then forks one child per command.
Each child runs nbgrader's ``main`` (what ``bin/nbgrader`` and ``python -m nbgrader`` run) with the
command's arguments, from a fresh copy of that process, as a new ``nbgrader`` process would; several may run
at once. nbgrader reads its configuration in the child, when the command starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tests.forking import ForkingServer

# The forking process. Requests: one JSON list of arguments a line on stdin; replies: {"id", "code", "output"}
# a line on stdout.
FORKER = """\
import json, os, selectors, sys, traceback
from nbgrader.apps.nbgraderapp import main

def run(args, write):
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    os.dup2(write, 1)
    os.dup2(write, 2)
    sys.argv = ["nbgrader", *args]
    code = 1
    try:
        main()
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 0 if stop.code is None else 1
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)

selector, pending, serial = selectors.DefaultSelector(), b"", 0
selector.register(0, selectors.EVENT_READ)
os.write(1, b'{"ready": true}\\n')
while True:
    for key, _ in selector.select():
        if key.data is None:
            data = os.read(0, 65536)
            if not data:
                os._exit(0)
            pending += data
            while b"\\n" in pending:
                line, pending = pending.split(b"\\n", 1)
                serial += 1
                read, write = os.pipe()
                pid = os.fork()
                if pid == 0:
                    os.close(read)
                    run(json.loads(line), write)
                os.close(write)
                selector.register(read, selectors.EVENT_READ, (serial, pid, []))
        else:
            serial_of, pid, chunks = key.data
            chunk = os.read(key.fd, 65536)
            if chunk:
                chunks.append(chunk)
                continue
            selector.unregister(key.fd)
            os.close(key.fd)
            code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
            output = b"".join(chunks).decode(errors="replace")
            os.write(1, json.dumps({"id": serial_of, "code": code, "output": output}).encode() + b"\\n")
"""


@dataclass
class Running:
    runner: Nbgrader
    serial: int
    what: str

    def result(self) -> str:
        return self.runner.result(self.serial, self.what)


class Nbgrader(ForkingServer):
    """``nbgrader`` commands of one account, each run in a child forked from a process that imported nbgrader."""

    def __init__(self, who: str, argv: list[str], cwd: Path, env: dict[str, str] | None = None):
        """``argv``: how to start the account's Python (``[sys.executable]``, or through ``runuser``)."""
        self.who, self.sent = who, 0
        super().__init__(argv, FORKER, cwd, env)

    def start(self, *args: str) -> Running:
        """Run ``nbgrader ARGS`` now; its ``result`` waits for it to succeed."""
        with self.lock:  # the server numbers requests as they come: number and write them in one step
            self.sent += 1
            serial = self.sent
            self.send(list(args))
        return Running(self, serial, f"{self.who}: nbgrader {' '.join(args)}")

    def result(self, serial: int, what: str, timeout: float = 180) -> str:
        reply = self.wait(serial, timeout)
        assert reply is not None, f"{what}: no answer from the process running it:\n{''.join(self.noise)}"
        assert reply["code"] == 0, f"{what} exited with {reply['code']}:\n{reply['output']}"
        return reply["output"]

    def run(self, *args: str) -> str:
        return self.start(*args).result()

    def __enter__(self) -> Nbgrader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
