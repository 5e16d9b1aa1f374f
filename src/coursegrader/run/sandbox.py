"""The sandbox a submission's kernel runs in: Debian's bubblewrap, bounded by prlimit, tmpfs sizes and a watchdog.

What it gives the code inside (one kernel, one submission):

- a working folder of its own, and a private ``/tmp`` and ``/dev/shm``, each a tmpfs of a fixed size
  (a write past it fails with "No space left on device"); the interpreter, the virtual environment and
  the packages on its ``sys.path`` read-only, with the grader's own package (``coursegrader``) and the
  course folder masked; nothing else of the machine: no course folder, gradebook, other submissions,
  home folder or ``/etc``. The working folder sits at the path of the submission's graded folder but is
  not it: the grader copies files in and out (``coursegrader.run.inside``);
- the grader's run folder (the kernel's connection file, read-only, its IPC sockets and own output)
  and handover folder, also tmpfs mounts of fixed sizes that exist only inside;
- no network (its own empty network namespace), no host environment variables (``--clearenv``),
  its own PID namespace and session, so nothing it starts outlives it (``--die-with-parent``);
- when the grader runs as root, an unprivileged user of its own (``setpriv``; one per running sandbox,
  ``coursegrader.run.uids``), so the kernel's limits on processes apply (Linux does not count processes
  against root);
- limits per process from ``prlimit``: address space (memory), processes, file size, open files;
  and a ``Watchdog`` in the grader that stops the sandbox when its processes together hold more memory
  than allowed, or its folders more files and folders than allowed.

What it does not give: CPU shares (two sandboxes compete for the cores like any processes), an exact
bound on memory and entries (the watchdog polls: a burst between two polls overshoots by what the
sandbox allocates or creates in that time), and protection against kernel exploits (bubblewrap uses
Linux namespaces, not a virtual machine). Without root, the kernel runs as the grader's own user in a
user namespace: the run folder's permissions then do not hold it back.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from coursekit.lab import lab_folders, lab_module_files  # labs kept outside the packages (COURSEKIT_LABS)

GiB, MiB = 2**30, 2**20


class SandboxUnavailable(RuntimeError):
    """bubblewrap (or a tool it needs) cannot start a sandbox on this machine."""


@dataclass(frozen=True)
class Limits:
    memory_bytes: int = 2 * GiB  # per process (address space), and the watchdog's cap on all of them together
    processes: int = 64  # tasks of the sandbox's user: processes and threads
    file_bytes: int = 64 * MiB  # the largest file it may write
    disk_bytes: int = 256 * MiB  # its working folder (a tmpfs of this size)
    disk_entries: int = 10_000  # files and folders in all the places it can write, as the watchdog counts them
    open_files: int = 256
    tmp_bytes: int = 64 * MiB  # its private /tmp
    shm_bytes: int = 16 * MiB  # its private /dev/shm
    run_bytes: int = 4 * MiB  # the run folder: sockets, and the kernel's own output
    handover_bytes: int = 24 * MiB  # the handover folder: one test cell's results at a time (coursekit.handover.Limits)
    kept_bytes: int = 16 * MiB  # what is copied back into the graded folder, of what it wrote
    kept_entries: int = 1_000


@cache
def kernel_sys_path(python: str) -> tuple[str, ...]:
    """The import path of ``python`` run with no working folder on it (``-P``) and no PYTHONPATH."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    output = subprocess.run([python, "-P", "-c", "import json, sys; print(json.dumps(sys.path))"],
                            capture_output=True, text=True, check=True, env=env, timeout=60).stdout
    return tuple(path for path in json.loads(output) if path and os.path.exists(path))


def package_folders(names: Iterable[str]) -> list[Path]:
    """Where the packages ``names`` live in this environment (those importable here)."""
    import importlib.util

    folders = []
    for name in names:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations:
            folders.extend(Path(location).resolve() for location in spec.submodule_search_locations)
    return folders


def _contains(outer: Path, inner: Path) -> bool:
    return inner == outer or outer in inner.parents


@cache
def _readable(python: str) -> tuple[Path, ...]:
    # the same for every submission of a run: worked out once per process
    paths = {Path(sys.base_prefix).resolve(), Path(sys.prefix), Path(python).parent}
    paths.update(Path(path) for path in kernel_sys_path(python))
    paths.update(lab_module_files())  # labs outside the packages: each lab's module file alone, not its folder
    return tuple(sorted(path for path in paths if path.exists()))


@cache
def _masked(readable: tuple[Path, ...], hidden_packages: tuple[str, ...], protected: tuple[Path, ...]) -> tuple[Path, ...]:
    masks = [*package_folders(hidden_packages), *(Path(path).resolve() for path in protected)]
    return tuple(sorted({mask for mask in masks if any(_contains(Path(r).resolve(), mask) for r in readable)}))


@dataclass
class Sandbox:
    """The bubblewrap command line for one kernel of one submission.

    Inside, the kernel can write in four places only, each a tmpfs of a fixed size that vanishes with the
    sandbox: its working folder (at ``work_dir``, the path of the submission's graded folder, which it
    never sees: the grader copies files in and out, ``coursegrader.run.inside``), the run folder (at
    ``run_dir``, the path of a grader-private folder on the host: the kernel's IPC sockets and log), the
    handover folder in it, and ``/tmp`` (and a small ``/dev/shm``). Nothing it writes reaches the host's
    disk while it runs.
    """

    work_dir: Path  # the submission's graded folder on the host; inside, a tmpfs at the same path, the kernel's cwd
    run_dir: Path  # a grader-private folder on the host (the connection file); inside, a tmpfs at the same path
    limits: Limits = field(default_factory=Limits)
    uid: int = 64_000  # the unprivileged user the kernel runs as, when the grader is root (coursegrader.run.uids)
    python: str = sys.executable
    hidden_packages: tuple[str, ...] = ("coursegrader",)  # never readable inside
    protected: tuple[Path, ...] = ()  # folders never readable inside (the course folder)
    bubblewrap: str = "bwrap"  # the bwrap executable
    environment: dict[str, str] = field(default_factory=dict)  # extra variables for the kernel

    # inside the run folder
    CONNECTION_FILE = "kernel.json"  # bound read-only from the host's run folder
    SOCKETS = "sockets"  # the kernel's IPC sockets; the grader reaches them through /proc/<pid>/root
    LOGS = "logs"  # the kernel's own stdout and stderr (not what its cells print: that goes to the grader)
    HANDOVER = "handover"  # what test cells hand over: a tmpfs of its own

    @property
    def as_root(self) -> bool:
        return os.geteuid() == 0

    @property
    def connection_file(self) -> Path:
        return self.run_dir / self.CONNECTION_FILE

    @property
    def socket_prefix(self) -> str:
        """The IPC address prefix of the kernel's sockets (``<prefix>-<port>``), the same path inside and outside."""
        return str(self.run_dir / self.SOCKETS / "kernel")

    @property
    def handover_dir(self) -> Path:
        return self.run_dir / self.HANDOVER

    @property
    def kernel_log(self) -> Path:
        return self.run_dir / self.LOGS / "kernel-output.log"

    def readable(self) -> list[Path]:
        """What the kernel reads: the interpreter's installation, the venv, its import path."""
        return list(_readable(self.python))

    def masked(self, readable: list[Path]) -> list[Path]:
        """Folders inside what is readable that must look empty: the grader's package, the course."""
        return list(_masked(tuple(readable), self.hidden_packages, tuple(self.protected)))

    def environment_variables(self) -> dict[str, str]:
        return {
            "PATH": f"{Path(self.python).parent}:/usr/bin:/bin",
            "HOME": "/tmp", "USER": "student", "LOGNAME": "student", "LANG": "C.UTF-8",
            "IPYTHONDIR": "/tmp/.ipython", "MPLCONFIGDIR": "/tmp/.matplotlib", "MPLBACKEND": "Agg",
            "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "MALLOC_ARENA_MAX": "2",
            "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1",
            # labs outside the packages (COURSEKIT_LABS): their folders on the kernel's import path
            **({"PYTHONPATH": os.pathsep.join(map(str, lab_folders()))} if lab_folders() else {}),
            **self.environment,
        }

    def _directories(self, destinations: Iterable[Path]) -> list[str]:
        """``--dir`` for every ancestor of a mount point, world-readable (bwrap makes them 0700)."""
        made, args = set(), []
        for destination in destinations:
            for ancestor in reversed(Path(destination).parents):
                if ancestor == Path("/") or ancestor in made or str(ancestor) in ("/usr", "/tmp", "/proc", "/dev"):
                    continue
                made.add(ancestor)
                args += ["--perms", "0755", "--dir", str(ancestor)]
        return args

    def rlimits(self) -> dict[str, int]:
        """The per-process limits, by ``resource`` name."""
        limits = self.limits
        return {"RLIMIT_AS": limits.memory_bytes, "RLIMIT_NPROC": limits.processes, "RLIMIT_FSIZE": limits.file_bytes,
                "RLIMIT_NOFILE": limits.open_files, "RLIMIT_CORE": 0}

    def _unprivileged(self) -> list[str]:
        """What drops to the sandbox's user (when the grader is root) and sets its limits, before a command."""
        args = []
        if self.as_root:
            args += ["/usr/bin/setpriv", f"--reuid={self.uid}", f"--regid={self.uid}", "--clear-groups",
                     "--inh-caps=-all", "--bounding-set=-all"]
        limits = self.limits
        return args + ["/usr/bin/prlimit", f"--as={limits.memory_bytes}", f"--nproc={limits.processes}",
                       f"--fsize={limits.file_bytes}", f"--nofile={limits.open_files}", "--core=0"]

    def argv(self, command: list[str]) -> list[str]:
        """``command`` (absolute paths) run in the sandbox as its user, with its limits; the sandbox ends with it."""
        return [*self._bubblewrap(capabilities=self.as_root), *self._unprivileged(), *command]

    def kernel_argv(self, command: list[str]) -> list[str]:
        """A kernel's ``command`` run in the sandbox as its user, with its limits, its output in the run folder's
        log, and a process that keeps the sandbox (and the files the kernel wrote) after the kernel ends, until
        the grader has copied them out and kills the sandbox."""
        keeper = f'"$@" >>{self.kernel_log} 2>&1 </dev/null; exec /usr/bin/sleep infinity'
        return [*self._bubblewrap(capabilities=self.as_root), *self._unprivileged(), "/bin/sh", "-c", keeper,
                "coursekit-sandbox", *command]

    def holder_argv(self) -> list[str]:
        """A sandbox holding nothing but a sleeping process, for a forked kernel to join (``coursegrader.run.zygote``).

        It prints ``ready`` once bubblewrap has set the sandbox up, then sleeps until it is killed.
        """
        return [*self._bubblewrap(capabilities=False), "/bin/sh", "-c", "echo ready && exec /usr/bin/sleep infinity"]

    def _bubblewrap(self, capabilities: bool) -> list[str]:
        limits = self.limits
        readable = self.readable()
        args = [self.bubblewrap, "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
                "--die-with-parent", "--new-session", "--clearenv",
                "--ro-bind", "/usr", "/usr", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
                "--symlink", "usr/bin", "/bin", "--symlink", "usr/sbin", "/sbin",
                "--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--size", str(limits.shm_bytes), "--tmpfs", "/dev/shm",
                "--perms", "1777", "--size", str(limits.tmp_bytes), "--tmpfs", "/tmp"]
        if capabilities:
            args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]  # for setpriv only; it drops them all
        if not self.as_root:
            args += ["--unshare-user"]
        args += self._directories([*readable, self.run_dir, self.work_dir])
        for path in readable:
            args += ["--ro-bind", str(path), str(path)]
        for path in self.masked(readable):
            args += ["--tmpfs", str(path), "--remount-ro", str(path)]
        run = str(self.run_dir)
        # the run folder: the grader's, read-only to the kernel but for its sockets' and log's folders (which the
        # grader makes read-only too once the kernel has bound its sockets, coursegrader.run.inside)
        args += ["--perms", "0755", "--size", str(limits.run_bytes), "--tmpfs", run,
                 "--perms", "0777", "--dir", f"{run}/{self.SOCKETS}", "--perms", "0777", "--dir", f"{run}/{self.LOGS}",
                 "--perms", "0777", "--size", str(limits.handover_bytes), "--tmpfs", f"{run}/{self.HANDOVER}"]
        if self.connection_file.exists():
            args += ["--ro-bind", str(self.connection_file), str(self.connection_file)]
        args += ["--perms", "0777", "--size", str(limits.disk_bytes), "--tmpfs", str(self.work_dir),
                 "--chdir", str(self.work_dir)]
        for name, value in self.environment_variables().items():
            args += ["--setenv", name, value]
        return [*args, "--"]


# -----------------------------------------------------------------------------
# availability


@cache
def check_available(bubblewrap: str = "bwrap") -> None:
    """Start one trivial sandbox; raise ``SandboxUnavailable`` saying why it cannot."""
    tools = (bubblewrap, "/usr/bin/prlimit", *(["/usr/bin/setpriv"] if os.geteuid() == 0 else []))
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        raise SandboxUnavailable(f"{', '.join(missing)} not found: install Debian's bubblewrap and util-linux "
                                 "(`make system-deps` does, as root)")
    import tempfile

    from coursegrader.run.uids import SandboxUid

    with tempfile.TemporaryDirectory(prefix="coursekit-sandbox-check-") as folder, SandboxUid() as uid:
        sandbox = Sandbox(work_dir=Path(folder) / "work", run_dir=Path(folder) / "run", bubblewrap=bubblewrap, uid=uid)
        try:
            result = subprocess.run(sandbox.argv([sandbox.python, "-c", "import numpy"]), capture_output=True, text=True,
                                    timeout=60)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise SandboxUnavailable(f"bubblewrap did not run: {error}") from None
        if result.returncode != 0:
            raise SandboxUnavailable(f"bubblewrap could not start a sandbox (exit {result.returncode}): "
                                     f"{result.stderr.strip()[-500:]}")
