"""``course …`` and ``nbgrader …`` as the tests run them: each command a child forked from a process that
imported nbgrader once.

Every ``course`` and ``nbgrader`` command starts by importing nbgrader (with nbconvert, SQLAlchemy and
jupyter_server: about 1 s of CPU); the suite runs some fifty of them. ``run`` hands each to a server
process of this test process's own, started on first use (``python -P -c SERVER``, with the environment
the commands get), which has imported nbgrader's command line and this project's command and grading modules
(none of them reads the environment or the working folder when imported), and forks one child per command.
The child becomes what ``python -m nbgrader ARGS`` or ``python -m coursegrader.commands.cli ARGS`` would be:
the command's working folder (also first on ``sys.path``, as ``-m`` puts it), environment, arguments and
``sys.argv[0]``, standard input from /dev/null, standard output and error to files; it then runs that
module's ``main`` and exits with its status. Several may run at once. ``start`` starts one for a test that
acts while it runs (reading its output line by line, killing a cluster's worker half-way).

What a forked child cannot take from the command's environment: whatever the interpreter reads at its
start (``PYTHON*`` variables: warning filters, ``PYTHONPATH``, hash seed). A command whose ``PYTHON*``
variables differ from the server's runs as a new process instead (``PYTHONDONTWRITEBYTECODE`` excepted:
the child sets ``sys.dont_write_bytecode`` from it); nor a package of the course folder named as one the
server imported (a new ``python -m`` would import the folder's). Tests whose point is the process itself (its
``/proc`` entry, its signals, its parent) start it with ``subprocess`` themselves.
"""

from __future__ import annotations

import itertools
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from coursegrader.commands.nbgrader import nbgrader_env
from tests.forking import ForkingServer

MODULES = {"nbgrader": "nbgrader", "course": "coursegrader.commands.cli", "alembic": "alembic"}

# Requests, a JSON line each on stdin: {"id", "module", "args", "cwd", "env", "stdout", "stderr"} to run a command,
# {"kill": id} to kill one. Replies, a JSON line each on stdout: {"id", "code"} once its child has ended.
SERVER = r"""
import importlib.util, json, os, selectors, signal, sys, traceback
import nbgrader.apps.nbgraderapp  # the costly part of every command, done once
import coursegrader.adapters.execute, coursegrader.adapters.exporter, coursegrader.adapters.feedback  # noqa: E401
import coursegrader.classrun.autograde, coursegrader.commands.cli  # noqa: E401
import alembic.command, alembic.config  # noqa: E401  (nbgrader runs `alembic heads` for each new gradebook)

def become(request):
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.dont_write_bytecode = bool(os.environ.get("PYTHONDONTWRITEBYTECODE"))
    stdin = os.open(os.devnull, os.O_RDONLY)
    stdout = os.open(request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    stderr = stdout if request["stderr"] == request["stdout"] else os.open(
        request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    for fd, to in ((stdin, 0), (stdout, 1), (stderr, 2)):
        os.dup2(fd, to)
    os.closerange(3, 65536)
    sys.path.insert(0, request["cwd"])
    module = request["module"]
    if module == "alembic":  # the console script `alembic`, this Python's, as PATH finds it
        main = os.path.join(os.path.dirname(sys.executable), "alembic")
    elif module == "nbgrader":
        main = importlib.util.find_spec("nbgrader.__main__").origin
    else:
        main = importlib.util.find_spec(module).origin
    sys.argv = [main, *request["args"]]

def run(request):
    code = 1
    try:
        become(request)
        if request["module"] == "nbgrader":
            from nbgrader.apps.nbgraderapp import main
            main()
            code = 0
        elif request["module"] == "alembic":
            from alembic.config import main
            raise SystemExit(main())  # as its console script ends
        else:
            from coursegrader.commands.cli import main
            raise SystemExit(main())  # as `python -m coursegrader.commands.cli` ends
    except SystemExit as stop:  # as the interpreter ends on it: a code that is not a number is printed
        code = stop.code if isinstance(stop.code, int) else 0 if stop.code is None else 1
        if stop.code is not None and not isinstance(stop.code, int):
            print(stop.code, file=sys.stderr)
    except BaseException:
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code & 0xFF if isinstance(code, int) else 1)  # as C's exit(): sys.exit(-1) is 255

selector, pending, running = selectors.DefaultSelector(), b"", {}
selector.register(0, selectors.EVENT_READ)
os.write(1, b'{"ready": true}\n')
while True:
    for _ in selector.select(timeout=0.05):
        data = os.read(0, 65536)
        if not data:
            for pid in running:
                os.kill(pid, signal.SIGKILL)
            os._exit(0)
        pending += data
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            request = json.loads(line)
            if "kill" in request:
                for pid, serial in running.items():
                    if serial == request["kill"]:
                        os.kill(pid, signal.SIGKILL)
                continue
            pid = os.fork()
            if pid == 0:
                run(request)
            running[pid] = request["id"]
    while running:
        pid, status = os.waitpid(-1, os.WNOHANG)
        if pid == 0:
            break
        serial = running.pop(pid, None)
        if serial is not None:
            os.write(1, json.dumps({"id": serial, "code": os.waitstatus_to_exitcode(status)}).encode() + b"\n")
"""


def command_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """What the commands get: nbgrader_env() (this Python's bin/ first on PATH) without a gradebook URL (a
    throwaway course keeps its own gradebook), and ``extra``."""
    environment = {key: value for key, value in nbgrader_env().items() if key != "NBGRADER_DB_URL"}
    environment.update(extra or {})
    return environment


def starts_alike(env: dict[str, str], other: dict[str, str]) -> bool:
    """Whether an interpreter started with ``env`` starts as one started with ``other``."""
    read_at_start = lambda environment: {key: value for key, value in environment.items()  # noqa: E731
                                         if key.startswith("PYTHON") and key != "PYTHONDONTWRITEBYTECODE"}
    return read_at_start(env) == read_at_start(other)


class CommandServer(ForkingServer):
    """One process that forks a child for each command; any thread may call ``run``."""

    def __init__(self):
        self.env = command_env()
        self.serials = itertools.count(1)
        super().__init__([sys.executable], SERVER, "/", self.env)

    def submit(self, module: str, args: list[str], cwd: Path, env: dict[str, str], stdout: Path, stderr: Path) -> int:
        """Start a command; its request number, for ``result``, ``finished`` and ``kill``."""
        serial = next(self.serials)
        self.send({"id": serial, "module": module, "args": list(args), "cwd": str(cwd), "env": env,
                   "stdout": str(stdout), "stderr": str(stderr)})
        return serial

    def finished(self, serial: int) -> bool:
        with self.done:
            return serial in self.replies or self.ended

    def kill(self, serial: int) -> None:
        self.send({"kill": serial})

    def result(self, serial: int, timeout: float, command: list[str]) -> int:
        """The exit status of command ``serial``, once it ended (killed, and TimeoutExpired, after ``timeout`` s)."""
        reply = self.wait(serial, timeout)
        if reply is None and not self.ended:
            self.kill(serial)
            self.wait(serial, 30)
            raise subprocess.TimeoutExpired(command, timeout)
        if reply is None:
            raise RuntimeError("the command server ended:\n" + "".join(self.noise))
        return reply["code"]

    def run(self, module: str, args: list[str], cwd: Path, env: dict[str, str], stdout: Path, stderr: Path,
            timeout: float) -> int:
        return self.result(self.submit(module, args, cwd, env, stdout, stderr), timeout, [module, *args])


_server: CommandServer | None = None
_server_lock = threading.Lock()


def server() -> CommandServer:
    """This test process's command server, started on first use."""
    global _server
    with _server_lock:
        if _server is None or _server.ended:
            _server = CommandServer()
        return _server


def run(program: str, args: list[str], cwd: Path, env: dict[str, str] | None = None, *, merge_stderr: bool = False,
        timeout: float = 900) -> subprocess.CompletedProcess:
    """``program ARGS`` (``course``, ``nbgrader`` or ``alembic``) in ``cwd`` with ``command_env(env)``, as
    ``subprocess.run(..., capture_output=True, text=True)`` would return it (``merge_stderr``: its standard
    error into its standard output, as one stream)."""
    module = MODULES[program]
    environment = command_env(env)
    forker = server()
    if not starts_alike(environment, forker.env):
        return subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, env=environment, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE,
                              stdin=subprocess.DEVNULL, timeout=timeout)
    with tempfile.TemporaryDirectory(prefix="coursekit-command-") as folder:
        stdout, stderr = Path(folder) / "stdout", Path(folder) / "stderr"
        code = forker.run(module, args, cwd, environment, stdout, stdout if merge_stderr else stderr, timeout)
        read = lambda path: path.read_text(errors="replace") if path.exists() else ""  # noqa: E731
        return subprocess.CompletedProcess([program, *args], code, read(stdout), None if merge_stderr else read(stderr))


class Started:
    """A command started by ``start``, running while the test watches it: its output (standard output and
    error, one stream) line by line as it comes (``lines``), and its end (``wait``)."""

    def __init__(self, program: str, args: list[str], cwd: Path, env: dict[str, str] | None):
        self.command = [program, *args]
        self.folder = Path(tempfile.mkdtemp(prefix="coursekit-command-"))
        self.output = self.folder / "output"
        self.output.touch()
        module, environment = MODULES[program], command_env(env)
        self.forker, self.process = server(), None
        if starts_alike(environment, self.forker.env):
            self.serial = self.forker.submit(module, args, cwd, environment, self.output, self.output)
        else:
            with self.output.open("w") as output:
                self.process = subprocess.Popen([sys.executable, "-m", module, *args], cwd=cwd, env=environment,
                                                stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def running(self) -> bool:
        return self.process.poll() is None if self.process else not self.forker.finished(self.serial)

    def lines(self):
        """Each line of its output as it is written, until it ends (then the rest, a last line unended)."""
        with self.output.open(errors="replace") as output:
            line = ""
            while True:
                ended = not self.running()
                line += output.readline()
                if line.endswith("\n"):
                    yield line
                    line = ""
                elif ended:
                    if line:
                        yield line
                    return
                else:
                    time.sleep(0.05)

    def kill(self) -> None:
        if self.process:
            self.process.kill()
        else:
            self.forker.kill(self.serial)

    def wait(self, timeout: float) -> subprocess.CompletedProcess:
        """Its end, as ``subprocess.run(..., stdout=PIPE, stderr=STDOUT, text=True)`` would return it; killed,
        and TimeoutExpired, after ``timeout`` s."""
        try:
            if self.process:
                try:
                    code = self.process.wait(timeout)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
                    raise
            else:
                code = self.forker.result(self.serial, timeout, self.command)
            return subprocess.CompletedProcess(self.command, code, self.output.read_text(errors="replace"), None)
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def start(program: str, args: list[str], cwd: Path, env: dict[str, str] | None = None) -> Started:
    """``program ARGS`` as ``run`` runs it, but started: the test goes on while it runs (``Started``)."""
    return Started(program, args, cwd, env)


def nbgrader(args: list[str], course: Path, env: dict[str, str] | None = None, *,
             check: bool = True) -> subprocess.CompletedProcess:
    """``nbgrader ARGS`` in ``course``, its output and errors as one stream (``stdout``); ``check``: fail the
    test, showing the end of that stream, unless it exits with 0."""
    done = run("nbgrader", args, course, env, merge_stderr=True)
    assert not check or done.returncode == 0, f"`nbgrader {' '.join(args)}` exited with {done.returncode}:\n" \
                                              f"{done.stdout[-3000:]}"
    return done


def course(args: list[str], folder: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``course ARGS`` in the course ``folder``."""
    return run("course", args, folder, env)
