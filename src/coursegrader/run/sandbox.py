"""The sandbox a submission's kernel runs in: Debian's bubblewrap, bounded by prlimit and a watchdog.

What it gives the code inside (one kernel, one submission):

- its own working folder, read-write, and a private ``/tmp`` of a fixed size; the interpreter,
  the virtual environment and the packages on its ``sys.path`` read-only, with the grader's own
  package (``coursegrader``) and the course folder masked; nothing else of the machine: no
  course folder, gradebook, other submissions, home folder or ``/etc``;
- no network (its own empty network namespace), no host environment variables (``--clearenv``),
  its own PID namespace and session, so nothing it starts outlives it (``--die-with-parent``);
- when the grader runs as root, an unprivileged user of its own (``setpriv``), so the kernel's
  limits on processes apply (Linux does not count processes against root);
- limits per process from ``prlimit``: address space (memory), processes, file size, open files;
  and a ``Watchdog`` in the grader that kills the whole sandbox when its processes together hold
  more memory than allowed, or its working folder grows beyond its disk allowance.

What it does not give: CPU shares (two sandboxes compete for the cores like any processes), an
exact disk quota (the watchdog polls; a burst between two polls can overshoot by what the
sandbox writes in that time, bounded per file by ``file_bytes``), and protection against kernel
exploits (bubblewrap uses Linux namespaces, not a virtual machine).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from coursekit.lab import lab_folders, lab_module_files  # labs kept outside the packages (COURSEKIT_LABS)

GiB, MiB = 2**30, 2**20
KEPT_AS_THEY_WERE = ("timestamp.txt",)  # nbgrader reads it from the graded folder: the kernel may not change it


class SandboxUnavailable(RuntimeError):
    """bubblewrap (or a tool it needs) cannot start a sandbox on this machine."""


@dataclass(frozen=True)
class Limits:
    memory_bytes: int = 2 * GiB  # per process (address space), and the watchdog's cap on all of them together
    processes: int = 64  # tasks of the sandbox's user: processes and threads
    file_bytes: int = 64 * MiB  # the largest file it may write
    disk_bytes: int = 256 * MiB  # its working folder, as the watchdog measures it
    disk_entries: int = 10_000  # files and folders in its working folder
    open_files: int = 256
    tmp_bytes: int = 64 * MiB  # its private /tmp


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
    """The bubblewrap command line for one kernel of one submission."""

    work_dir: Path  # the submission's working folder: read-write, the kernel's cwd
    run_dir: Path  # grader-made: the kernel's connection file, IPC sockets and handover folder
    limits: Limits = field(default_factory=Limits)
    uid: int = 64_000  # the unprivileged user the kernel runs as, when the grader is root (coursegrader.run.uids)
    python: str = sys.executable
    hidden_packages: tuple[str, ...] = ("coursegrader",)  # never readable inside
    protected: tuple[Path, ...] = ()  # folders never readable inside (the course folder)
    bubblewrap: str = "bwrap"  # the bwrap executable
    environment: dict[str, str] = field(default_factory=dict)  # extra variables for the kernel

    @property
    def as_root(self) -> bool:
        return os.geteuid() == 0

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

    def argv(self, command: list[str]) -> list[str]:
        """``command`` (absolute paths) wrapped in bubblewrap and prlimit."""
        args = self._bubblewrap(capabilities=self.as_root)
        if self.as_root:
            args += ["/usr/bin/setpriv", f"--reuid={self.uid}", f"--regid={self.uid}", "--clear-groups",
                     "--inh-caps=-all", "--bounding-set=-all"]
        limits = self.limits
        args += ["/usr/bin/prlimit", f"--as={limits.memory_bytes}", f"--nproc={limits.processes}",
                 f"--fsize={limits.file_bytes}", f"--nofile={limits.open_files}", "--core=0"]
        return args + command

    def holder_argv(self) -> list[str]:
        """A sandbox holding nothing but a sleeping process, for a forked kernel to join (``coursegrader.run.zygote``).

        It prints ``ready`` once bubblewrap has set the sandbox up, then sleeps until it is killed.
        """
        return [*self._bubblewrap(capabilities=False), "/bin/sh", "-c", "echo ready && exec /usr/bin/sleep infinity"]

    def _bubblewrap(self, capabilities: bool) -> list[str]:
        readable = self.readable()
        binds = [*readable, self.run_dir, self.work_dir]
        args = [self.bubblewrap, "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
                "--die-with-parent", "--new-session", "--clearenv",
                "--ro-bind", "/usr", "/usr", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
                "--symlink", "usr/bin", "/bin", "--symlink", "usr/sbin", "/sbin",
                "--proc", "/proc", "--dev", "/dev", "--size", str(self.limits.tmp_bytes), "--perms", "1777",
                "--tmpfs", "/tmp"]
        if capabilities:
            args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]  # for setpriv only; it drops them all
        if not self.as_root:
            args += ["--unshare-user"]
        args += self._directories(binds)
        for path in readable:
            args += ["--ro-bind", str(path), str(path)]
        for path in self.masked(readable):
            args += ["--tmpfs", str(path), "--remount-ro", str(path)]
        args += ["--bind", str(self.run_dir), str(self.run_dir), "--bind", str(self.work_dir), str(self.work_dir),
                 "--chdir", str(self.work_dir)]
        for name, value in self.environment_variables().items():
            args += ["--setenv", name, value]
        return [*args, "--"]

    # -------------------------------------------------------------------------
    # the folders the kernel writes in

    def prepare(self) -> None:
        """Give the sandbox's user the working folder and the run folder; remember what the folder holds."""
        for path in (self.run_dir, self.work_dir):
            path.mkdir(parents=True, exist_ok=True)
        self._before = {path: path.read_bytes() if path.name in KEPT_AS_THEY_WERE else None
                        for path in self.work_dir.rglob("*") if path.is_file() and not path.is_symlink()}
        if self.as_root:
            for path in (self.run_dir, self.work_dir):
                _chown_tree(path, self.uid)

    def release(self, discard_new_files: bool = False) -> None:
        """Take the working folder back: owned by the grader, only regular files and folders in it, the files
        nbgrader reads as it left them, and (``discard_new_files``, after a sandbox filled its disk) none of the
        files the run made."""
        remove_unsafe_entries(self.work_dir)
        before = getattr(self, "_before", {})
        for path, content in before.items():
            if content is not None:
                path.unlink(missing_ok=True)
                path.write_bytes(content)
        for name in KEPT_AS_THEY_WERE:
            path = self.work_dir / name
            if path not in before and os.path.lexists(path):
                path.unlink()
        if discard_new_files:
            for path in sorted(self.work_dir.rglob("*"), reverse=True):
                if path.is_file() and path not in before:
                    path.unlink()
        if self.as_root:
            _chown_tree(self.work_dir, os.geteuid(), os.getegid())


def _chown_tree(root: Path, uid: int, gid: int | None = None) -> None:
    gid = uid if gid is None else gid
    os.lchown(root, uid, gid)
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            os.lchown(os.path.join(folder, name), uid, gid)


def remove_unsafe_entries(root: Path) -> list[str]:
    """Remove what is not a regular file or folder under ``root`` (symlinks, FIFOs, sockets, devices).

    Nothing after grading may follow a link a submission made: nbgrader's feedback step copies
    every file of the autograded folder, and a link to the course folder would copy it out.
    """
    removed = []
    for folder, dirs, files in os.walk(root):  # os.walk does not descend into symlinked folders
        for name in dirs + files:
            path = os.path.join(folder, name)
            mode = os.lstat(path).st_mode
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                os.unlink(path)
                removed.append(os.path.relpath(path, root))
    return removed


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
        sandbox.prepare()
        try:
            result = subprocess.run(sandbox.argv([sandbox.python, "-c", "import numpy"]), capture_output=True, text=True,
                                    timeout=60)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise SandboxUnavailable(f"bubblewrap did not run: {error}") from None
        finally:
            sandbox.release()
        if result.returncode != 0:
            raise SandboxUnavailable(f"bubblewrap could not start a sandbox (exit {result.returncode}): "
                                     f"{result.stderr.strip()[-500:]}")
