"""The grading server: each submission graded in a process of its own, forked from one that imported nbgrader once.

Grading changes what a whole process has: nbgrader's converter changes the working directory and sets
``NBGRADER_EXECUTION`` in ``os.environ``, and its log goes through a logger shared by every thread
(``coursegrader.classrun.grade``). Two submissions graded by two threads of one process (a ``dask
worker`` has a thread per core) meet there: with a real cluster, 17 of 26 submissions failed or were
graded in another's folder. So no two submissions ever share a process. This module gives a process
with many threads (a Dask worker) a way to have each submission graded in a fresh process, at little
cost (measured in ``benchmarks/isolation.py``):

- ``GradingServer.shared()``: this process's server, started on first use: ``python -m
  coursegrader.classrun.gradeserver SPOOL``, a new interpreter (a process with threads must not fork
  itself), which imports nbgrader, the grading pipeline and the speedups once, starts the kernel factory
  (``coursegrader.run.factory``, as root), then, with a single thread, serves calls;
- ``server.call(function, *args, deadline=seconds)``: ``function(*args)`` run in a child forked from the
  server for this call alone, its result returned (pickled through a file in SPOOL, a 0700 folder); any
  thread may call, and calls run side by side, one child each. The child's working directory,
  environment, loggers and imports are its own and end with it. ``work_folder()``, in the child, is a
  folder of its own that the server removes once the child is gone, however it ended;
- the child asks the server's kernel factory for its kernels (the server relays each request), so no
  submission pays for importing the kernel again;
- a child still running at its deadline, or whose caller went away, is killed, and the call raises
  ``GradingProcessDied`` saying why; so does a child that dies. A server whose caller dies (its standard
  input closes) kills its children and ends; each child also dies with the server (``PR_SET_PDEATHSIG``),
  and each sandbox with its child (bubblewrap's ``--die-with-parent``), so nothing of a lost worker
  goes on writing to the gradebook.

Protocol, on the server's Unix socket, one connection per call: the caller writes the pickled call to
``SPOOL/<id>.job`` and sends ``{"job": "<id>", "deadline": seconds}`` as a JSON line; the server answers
one JSON line once the child has ended: ``{"ok": true}`` (its result is in ``SPOOL/<id>.result``) or
``{"died": "why"}``.
"""

from __future__ import annotations

import atexit
import ctypes
import importlib
import json
import os
import pickle
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path

PR_SET_PDEATHSIG = 1
SOCKET_NAME = "server.sock"


class GradingProcessDied(RuntimeError):
    """The process forked for a call ended without a result: killed, past its deadline, or the server stopped."""


class CallFailed(RuntimeError):
    """The called function raised; the message is its exception, the traceback is kept in ``details``."""

    def __init__(self, message: str, details: str):
        super().__init__(message)
        self.details = details


# -----------------------------------------------------------------------------
# the caller's side


class GradingServer:
    """A grading server and its spool folder; ``call`` from any thread."""

    _shared: GradingServer | None = None
    _shared_lock = threading.Lock()

    def __init__(self, python: str = sys.executable, start_timeout: float = 300):
        self.spool = Path(tempfile.mkdtemp(prefix="coursekit-gradeserver-"))
        self.process = subprocess.Popen([python, "-m", "coursegrader.classrun.gradeserver", str(self.spool)],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        ready = self._read_ready(start_timeout)
        self.process.stdout.close()
        if ready.get("ready") is not True:
            self.close()
            raise RuntimeError(f"the grading server did not start: {ready.get('error', 'it ended at once')}")
        atexit.register(self.close)

    def _read_ready(self, timeout: float) -> dict:
        selector = selectors.DefaultSelector()
        selector.register(self.process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            return {"error": f"no answer in {timeout:.0f} s"}
        line = self.process.stdout.readline()
        try:
            return json.loads(line) if line else {}
        except json.JSONDecodeError:
            return {"error": line.strip()}

    @classmethod
    def shared(cls) -> GradingServer:
        """This process's server, started on first use (again, if it stopped)."""
        with cls._shared_lock:
            if cls._shared is None or not cls._shared.alive():
                cls._shared = cls()
            return cls._shared

    def alive(self) -> bool:
        return self.process.poll() is None

    def call(self, function, *args, deadline: float | None = None):
        """``function(*args)`` in a process forked for this call alone; its result, or ``CallFailed`` (it
        raised) or ``GradingProcessDied`` (it ended without a result, or ran past ``deadline`` seconds)."""
        call_id = uuid.uuid4().hex
        job, result = self.spool / f"{call_id}.job", self.spool / f"{call_id}.result"
        with open(job, "wb") as handle:
            pickle.dump((function, args), handle, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
                try:
                    connection.connect(str(self.spool / SOCKET_NAME))
                    connection.sendall(json.dumps({"job": call_id, "deadline": deadline}).encode() + b"\n")
                    answer = connection.makefile("rb").readline()
                except OSError as error:
                    raise GradingProcessDied(f"the grading server could not be reached ({error})") from None
            if not answer:
                raise GradingProcessDied(f"the grading server stopped (exit {self.process.poll()})")
            answer = json.loads(answer)
            if "died" in answer:
                raise GradingProcessDied(answer["died"])
            with open(result, "rb") as handle:
                kind, value = pickle.load(handle)
            if kind == "raised":
                raise CallFailed(*value)
            return value
        finally:
            job.unlink(missing_ok=True)
            result.unlink(missing_ok=True)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()  # the server kills its children and ends
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        from coursegrader.files.trees import remove_tree

        remove_tree(self.spool)


# -----------------------------------------------------------------------------
# the child's side


_work_folder: Path | None = None


def work_folder() -> Path:
    """In a child of the server: a folder of this call's own (0700), removed by the server after the child ends."""
    if _work_folder is None:
        raise RuntimeError("work_folder() is for functions called through GradingServer.call")
    return _work_folder


class _RelayedFactory:
    """The kernel factory of a child: asks the server's factory, through the server (``KernelFactory.use``)."""

    def __init__(self, control: socket.socket):
        self.control, self.reader = control, control.makefile("rb")

    def alive(self) -> bool:
        return True

    def spawn(self, **request) -> int:
        self.control.sendall(json.dumps({"spawn": request}).encode() + b"\n")
        answer = json.loads(self.reader.readline() or b'{"error": "the grading server stopped"}')
        if "error" in answer:
            raise RuntimeError(f"the kernel factory could not start a kernel: {answer['error']}")
        return answer["pid"]


def _child(job: Path, result: Path, folder: Path, control: socket.socket) -> None:
    """In the forked child: run the call, write its result, end."""
    global _work_folder
    status = 1
    try:
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() == 1:
            os._exit(1)  # the server ended between the fork and the line above
        signal.set_wakeup_fd(-1)
        for signum in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, signal.SIG_DFL)
        _work_folder = folder
        from coursegrader import speedups
        from coursegrader.run.factory import KernelFactory

        speedups.forget_engines()  # never share a database connection with the server
        KernelFactory.use(_RelayedFactory(control))
        try:
            with open(job, "rb") as handle:
                function, args = pickle.load(handle)
            outcome = ("returned", function(*args))
        except BaseException as exception:  # noqa: BLE001 — handed to the caller, who decides
            outcome = ("raised", (f"{type(exception).__name__}: {exception}", traceback.format_exc()))
        partial = result.with_suffix(".partial")
        with open(partial, "wb") as handle:
            pickle.dump(outcome, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(partial, result)
        status = 0
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(status)


# -----------------------------------------------------------------------------
# the server


@dataclass
class _Call:
    call_id: str
    connection: socket.socket
    control: socket.socket
    folder: Path
    deadline: float | None
    started: float = field(default_factory=time.monotonic)
    control_buffer: bytes = b""
    killed_because: str | None = None


def _import_the_pipeline() -> None:
    """nbgrader, the grading pipeline that nbgrader_config.py names, the gradebook's drivers, the labs' checks."""
    import nbgrader.apps  # noqa: F401
    import nbgrader.converters  # noqa: F401
    import nbgrader.preprocessors  # noqa: F401

    import coursegrader.adapters.editions  # noqa: F401
    import coursegrader.adapters.execute  # noqa: F401
    import coursegrader.adapters.exporter  # noqa: F401
    import coursegrader.adapters.feedback  # noqa: F401
    import coursegrader.adapters.hooks  # noqa: F401
    import coursegrader.adapters.restore  # noqa: F401
    import coursegrader.adapters.verdicts  # noqa: F401
    import coursegrader.classrun.app  # noqa: F401
    import coursegrader.classrun.grade  # noqa: F401
    import coursegrader.run.provisioner  # noqa: F401
    import numpy.random  # noqa: F401
    from coursegrader.labs import grading_checks
    from coursekit.lab import all_labs

    for module in ("sqlalchemy.dialects.sqlite.pysqlite", "sqlalchemy.dialects.postgresql.psycopg",
                   "sqlalchemy.dialects.postgresql.psycopg2", "psycopg", "psycopg2"):
        try:
            importlib.import_module(module)  # the gradebook's driver, whichever the URL names
        except ImportError:
            pass
    for lab in all_labs():
        grading_checks(lab)  # each lab's hidden checks


def _preload() -> object | None:
    """What every call would otherwise import or compile again; and the kernel factory, which this process
    starts from its main thread (the factory dies with the thread that started it: PR_SET_PDEATHSIG) while
    another imports the pipeline, so the two take one start's time on two cores."""
    import gc
    import warnings

    warnings.simplefilter("ignore")  # nbgrader's SQLAlchemy warnings
    failed: list[BaseException] = []

    def import_the_pipeline():
        try:
            _import_the_pipeline()
        except BaseException as error:  # noqa: BLE001 — raised again below, in the main thread
            failed.append(error)

    importer = threading.Thread(target=import_the_pipeline)
    importer.start()
    factory = None
    try:
        if os.geteuid() == 0:  # forked kernels need root (coursegrader.run.executor)
            from coursegrader.run.factory import KernelFactory

            factory = KernelFactory()
    finally:
        importer.join()  # a single thread again before any fork
    if failed:
        raise failed[0]
    from coursegrader import speedups

    speedups.apply()  # on by default for the warm-up below; each child reads nbgrader_config.py, which decides
    # What every child would otherwise compile again (~0.1 s each): the schema of each kind of output,
    # which speedups compiles on first use, and nbformat's own validator of whole notebooks.
    import nbformat
    from nbformat.v4 import new_notebook, new_output

    for kind, fields in (("stream", {"name": "stdout", "text": ""}), ("display_data", {}),
                         ("execute_result", {"execution_count": 1}), ("error", {"ename": "", "evalue": "", "traceback": []})):
        new_output(kind, **fields)
    nbformat.validate(new_notebook())
    try:
        from coursegrader.run.sandbox import check_available

        check_available()  # cached for the process: each child would start a sandbox to check it (0.2 s of CPU)
    except Exception:  # noqa: BLE001 — each call then says why, through the intake's own check
        pass
    gc.collect()
    gc.freeze()  # what was imported lives as long as the server: children need not copy it for the collector
    return factory


def _died_because(status: int) -> str:
    if os.WIFSIGNALED(status):
        name = signal.Signals(os.WTERMSIG(status)).name
        return f"its grading process was killed ({name})"
    return f"its grading process ended without a result (exit {os.WEXITSTATUS(status)})"


def serve(spool: Path) -> None:
    try:
        factory = _preload()
    except Exception as error:  # noqa: BLE001 — said to the caller, who reports it
        print(json.dumps({"error": f"{type(error).__name__}: {error}"}), flush=True)
        return
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(spool / SOCKET_NAME))
    listener.listen(64)
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_read, False)
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, "listener")
    selector.register(sys.stdin, selectors.EVENT_READ, "stdin")
    selector.register(wake_read, selectors.EVENT_READ, "wake")
    calls: dict[int, _Call] = {}  # child pid -> its call
    print(json.dumps({"ready": True, "pid": os.getpid()}), flush=True)
    os.dup2(2, 1)  # nobody reads our standard output after this line: whatever a child prints goes to the log

    def start(connection: socket.socket) -> None:
        connection.settimeout(10)
        try:
            request = json.loads(connection.makefile("rb").readline() or b"{}")
            call_id = str(request["job"])
        except (OSError, ValueError, KeyError):
            connection.close()
            return
        connection.setblocking(False)
        folder = spool / f"{call_id}.work"
        folder.mkdir(mode=0o700)
        ours, theirs = socket.socketpair()
        pid = os.fork()
        if pid == 0:
            listener.close()
            ours.close()
            connection.close()
            os.close(wake_read)
            os.close(wake_write)
            for call in calls.values():
                call.connection.close()
                call.control.close()
            selector.close()
            _child(spool / f"{call_id}.job", spool / f"{call_id}.result", folder, theirs)
        theirs.close()
        ours.setblocking(False)
        deadline = request.get("deadline")
        calls[pid] = _Call(call_id, connection, ours, folder, float(deadline) if deadline else None)
        selector.register(connection, selectors.EVENT_READ, ("caller", pid))
        selector.register(ours, selectors.EVENT_READ, ("control", pid))

    def relay(pid: int) -> None:
        call = calls[pid]
        try:
            chunk = call.control.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            selector.unregister(call.control)
            return
        call.control_buffer += chunk
        while b"\n" in call.control_buffer:
            line, call.control_buffer = call.control_buffer.split(b"\n", 1)
            try:
                request = json.loads(line)["spawn"]
                if factory is None:
                    raise RuntimeError("this server has no kernel factory (it does not run as root)")
                answer = {"pid": factory.spawn(**request)}
            except Exception as error:  # noqa: BLE001 — the child reports it as its kernel's failure to start
                answer = {"error": f"{type(error).__name__}: {error}"}
            try:
                call.control.setblocking(True)
                call.control.sendall(json.dumps(answer).encode() + b"\n")
                call.control.setblocking(False)
            except OSError:
                pass

    def kill(pid: int, because: str) -> None:
        call = calls[pid]
        if call.killed_because is None:
            call.killed_because = because
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def finish(pid: int, status: int) -> None:
        from coursegrader.files.trees import remove_tree

        call = calls.pop(pid)
        for sock in (call.connection, call.control):
            try:
                selector.unregister(sock)
            except (KeyError, ValueError):
                pass
        call.control.close()
        remove_tree(call.folder)  # before answering: the caller may look
        if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 and (spool / f"{call.call_id}.result").exists():
            answer = {"ok": True}
        else:
            answer = {"died": call.killed_because or _died_because(status)}
        try:
            call.connection.setblocking(True)
            call.connection.sendall(json.dumps(answer).encode() + b"\n")
        except OSError:
            (spool / f"{call.call_id}.result").unlink(missing_ok=True)  # nobody waits for it
        call.connection.close()

    try:
        while not stopping:
            now = time.monotonic()
            waits = [call.started + call.deadline - now for call in calls.values()
                     if call.deadline and call.killed_because is None]
            for key, _ in selector.select(max(0.0, min(waits, default=5.0))):
                what = key.data
                if what == "listener":
                    try:
                        connection, _ = listener.accept()
                    except OSError:
                        continue
                    start(connection)
                elif what == "stdin":
                    if not os.read(sys.stdin.fileno(), 4096):
                        stopping.append(True)  # the process that started us is gone
                elif what == "wake":
                    try:
                        while os.read(wake_read, 4096):
                            pass
                    except BlockingIOError:
                        pass
                elif what[0] == "control" and what[1] in calls:
                    relay(what[1])
                elif what[0] == "caller" and what[1] in calls:
                    try:
                        gone = not key.fileobj.recv(1)
                    except BlockingIOError:
                        gone = False
                    except OSError:
                        gone = True
                    if gone:
                        selector.unregister(key.fileobj)
                        kill(what[1], "its caller went away")
            for pid in list(calls):
                try:
                    ended, status = os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    ended, status = pid, 1 << 8
                if ended:
                    finish(pid, status)
            now = time.monotonic()
            for pid, call in list(calls.items()):
                if call.deadline and now - call.started > call.deadline:
                    kill(pid, f"it took longer than {call.deadline:.0f} s, and its grading process was stopped")
    finally:
        for pid in list(calls):
            kill(pid, "the grading server stopped")
        for pid in list(calls):
            try:
                _, status = os.waitpid(pid, 0)
            except ChildProcessError:
                status = 1 << 8
            finish(pid, status)
        if factory is not None:
            factory.close()
        from coursegrader.files.trees import remove_tree

        remove_tree(spool)  # its caller may have died without removing it


if __name__ == "__main__":
    from coursegrader.classrun import gradeserver  # this file's module by its name, as the children's calls import it

    gradeserver.serve(Path(sys.argv[1]))
