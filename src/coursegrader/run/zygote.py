"""The kernel factory's process: imports the kernel and the labs' libraries once, then forks one fresh
kernel per submission, each joined to a sandbox that bubblewrap made for that submission.

Starting an IPython kernel costs about 0.6 s of CPU, nearly all of it imports (IPython, ipykernel,
zmq, debugpy, numpy, the lab's library); a class of 200 pays it 200 times. This process pays it
once. ``python -m coursegrader.run.zygote`` reads one JSON request per line on stdin and answers one
JSON line on stdout::

    {"holder": 4242, "work_dir": "...", "connection_file": "...", "log": "...", "uid": 64001,
     "limits": {"RLIMIT_AS": ..., ...}, "env": {...}, "arguments": ["--HistoryManager.hist_file=:memory:"]}
    -> {"pid": 4250}

For each request it forks a child that joins the namespaces of ``holder`` — a process that
bubblewrap started inside the submission's sandbox, so the sandbox (its filesystem view, empty
network, PID namespace) is bubblewrap's, not ours — and forks the kernel there. Before it runs
anything of the student's, the kernel does what bubblewrap does for the command it starts: a new
session, no inherited file descriptors, a cleared environment, an unprivileged user with no
capabilities and ``no_new_privs``, the sandbox's resource limits, death with its parent. Each
kernel serves one submission and is a fresh fork of this process, which never runs student code:
nothing of another student can reach it.

This process must be started with a clean environment (``KernelFactory`` does) and must import
nothing the grader keeps secret: a kernel is a copy of its memory.
"""

from __future__ import annotations

import ctypes
import gc
import json
import os
import resource
import sys
import threading

NAMESPACES = {"ipc": 0x08000000, "uts": 0x04000000, "net": 0x40000000, "pid": 0x20000000, "cgroup": 0x02000000,
              "mnt": 0x00020000}  # joined in this order: the mount namespace last, once the /proc paths are open
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 1, 4, 24, 38
LAST_CAPABILITY = 40

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"{what}: {os.strerror(error)}")


# -----------------------------------------------------------------------------
# preloading


def _modules_a_kernel_loads() -> list[str]:
    """The modules an IPython kernel imports while it initialises, found by initialising one in a child."""
    import shutil
    import tempfile

    folder = tempfile.mkdtemp(prefix="coursekit-zygote-probe-")  # the probe's sockets; removed once it ended
    read, write = os.pipe()
    child = os.fork()
    if child == 0:
        try:
            os.close(read)
            from ipykernel.kernelapp import IPKernelApp
            from jupyter_client.connect import write_connection_file

            connection_file = os.path.join(folder, "kernel.json")
            write_connection_file(connection_file, transport="ipc", ip=os.path.join(folder, "kernel"))
            before = set(sys.modules)
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 1)
            os.dup2(null, 2)
            IPKernelApp.instance().initialize(["-f", connection_file, "--HistoryManager.hist_file=:memory:"])
            os.write(write, json.dumps(sorted(set(sys.modules) - before)).encode())
        finally:
            os._exit(0)
    os.close(write)
    chunks = []
    while chunk := os.read(read, 65536):
        chunks.append(chunk)
    os.close(read)
    os.waitpid(child, 0)
    shutil.rmtree(folder, ignore_errors=True)
    return json.loads(b"".join(chunks) or b"[]")


def warm_up(cell: str) -> None:
    """Pay once, here, the first-use costs every kernel would otherwise pay again after its fork.

    A student's first error costs a fresh kernel 0.1-0.2 s: IPython formats the traceback with
    stack_data and pygments, which compile their lexer's patterns and parse each library file the
    traceback passes through on first use, and keep both; and the first cell compiles tokenize's
    patterns (12 ms). Reading a typical cell as IPython does, running it to its typical error and
    formatting that as a kernel does leaves those caches (and whatever the cell's libraries load on
    first use) in this process, so every kernel forked from it starts with them. ``cell`` is a lab's
    own (``Lab.warm_up``), never any student's.
    """
    import linecache

    from IPython.core import ultratb
    from IPython.core.inputtransformer2 import TransformerManager

    TransformerManager().transform_cell(cell)  # IPython reads every cell with tokenize: its patterns
    name = "<coursekit-warm-up>"
    linecache.cache[name] = (len(cell), None, cell.splitlines(True), name)
    null = open(os.devnull, "w")
    saved = sys.stdout
    try:
        sys.stdout = null
        exec(compile(cell, name, "exec"), {"__name__": "__main__"})
    except Exception:  # noqa: BLE001 — the error is the point
        etype, value, trace = sys.exc_info()
        for theme in ("neutral", "nocolor"):
            ultratb.AutoFormattedTB(mode="Context", theme_name=theme).structured_traceback(etype, value, trace)
    finally:
        sys.stdout = saved
        null.close()
        linecache.cache.pop(name, None)


def preload() -> None:
    """Import what every kernel needs: the kernel machinery, numpy, the library and the labs' self-checks;
    then run each lab's warm-up cell."""
    import importlib

    import ipykernel.kernelapp  # noqa: F401
    import numpy  # noqa: F401

    import coursekit.outputlimit  # noqa: F401
    import minimodel  # noqa: F401
    from coursekit.lab import all_labs

    labs = all_labs()  # each lab's module: its run_check and self-checks
    for name in _modules_a_kernel_loads():
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 — a module only some platforms have; the kernel imports it itself if needed
            pass
    for lab in labs:
        try:
            if lab.warm_up:
                warm_up(lab.warm_up)
        except Exception:  # noqa: BLE001 — a warm-up that fails only leaves the kernels to pay their first use
            pass
    # What this process has now lives as long as it does: out of reach of the garbage collector, whose
    # passes in each kernel would otherwise write to (and so copy) every page of it (gc.freeze's docs); the
    # warm-up's leftovers are collected first, so no kernel carries them.
    gc.collect()
    gc.freeze()


# -----------------------------------------------------------------------------
# one kernel


def _join_sandbox(holder: int) -> None:
    """Join the namespaces of ``holder``, a process bubblewrap started in the submission's sandbox."""
    descriptors = {}
    for name in NAMESPACES:
        try:
            descriptors[name] = os.open(f"/proc/{holder}/ns/{name}", os.O_RDONLY)
        except FileNotFoundError:
            continue  # a namespace this kernel does not have (cgroup)
    try:
        for name, descriptor in descriptors.items():
            _check(_libc.setns(descriptor, NAMESPACES[name]), f"joining the sandbox's {name} namespace")
    finally:
        for descriptor in descriptors.values():
            os.close(descriptor)


def _become_kernel(request: dict) -> None:
    """In the forked kernel, inside the sandbox: shed everything bubblewrap sheds, then run IPython's kernel."""
    os.setsid()
    _check(_libc.prctl(PR_SET_PDEATHSIG, 9, 0, 0, 0), "prctl(PR_SET_PDEATHSIG)")
    log = os.open(request["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.closerange(3, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
    os.chdir(request["work_dir"])
    if os.geteuid() == 0:
        for capability in range(LAST_CAPABILITY + 1):
            _libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0)
        uid = request["uid"]
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)  # from root to a user: every capability is gone
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)")
    _libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)  # its own /proc files stay its own
    for name, value in request["limits"].items():
        resource.setrlimit(getattr(resource, name), (value, value))
    os.umask(0o077)
    os.environ.clear()
    os.environ.update(request["env"])
    sys.path[:] = [path for path in sys.path if path]  # like `python -P`; the kernel adds '' back for the student
    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance()
    app.initialize(["-f", request["connection_file"], *request["arguments"]])
    app.start()


def spawn(request: dict) -> int:
    """Fork a kernel into the sandbox of ``request["holder"]``; return its process id."""
    if threading.active_count() != 1:
        raise RuntimeError("the kernel factory has threads: it cannot fork safely")
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # joins the sandbox, forks the kernel into its PID namespace, waits for it
        status = 1
        try:
            os.close(read)
            _join_sandbox(request["holder"])
            kernel = os.fork()
            if kernel == 0:
                os.close(write)
                try:
                    _become_kernel(request)
                finally:
                    os._exit(1)
            os.write(write, str(kernel).encode())
            os.close(write)
            os.closerange(0, 3)
            os.waitpid(kernel, 0)
            status = 0
        except BaseException as error:  # noqa: BLE001 — report, never return into the factory's loop
            try:
                os.write(write, f"error: {error}".encode())
            except OSError:
                pass
        finally:
            os._exit(status)
    os.close(write)
    answer = os.read(read, 1000).decode()
    os.close(read)
    if not answer.isdigit():
        os.waitpid(child, 0)
        raise RuntimeError(answer or "the kernel could not be started in its sandbox")
    return int(answer)


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def main() -> None:
    _libc.prctl(PR_SET_PDEATHSIG, 9, 0, 0, 0)  # the grading process that started it is gone: so is it
    preload()
    out = sys.stdout
    out.write(json.dumps({"ready": True, "pid": os.getpid()}) + "\n")
    out.flush()
    for line in sys.stdin:
        _reap()
        try:
            answer = {"pid": spawn(json.loads(line))}
        except Exception as error:  # noqa: BLE001 — one bad request must not end the factory
            answer = {"error": f"{type(error).__name__}: {error}"}
        out.write(json.dumps(answer) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
