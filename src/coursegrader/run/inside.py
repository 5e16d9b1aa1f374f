"""A running sandbox seen from the grader: its folders, reached through ``/proc/<pid>/root``, held by descriptor.

The kernel's working folder, run folder and handover folder are tmpfs mounts that exist only inside
the sandbox's mount namespace (``coursegrader.run.sandbox``). The grader reaches them through a process
of the sandbox (``/proc/<pid>/root/<path>``) and opens each once, right after the sandbox started and
before any of the student's code ran; every later access goes through those descriptors, one name at a
time, never following a link (a submission may replace anything it can write with a link to the host).

- ``copy_in``: the submission's files (never its notebooks: they hold the graders' marking scheme and
  the hidden tests, restored by nbgrader) into the kernel's folder, owned by the sandbox's user;
- ``copy_out``: what the kernel left in its folder back into the graded folder: regular files of inert
  types only (``coursegrader.files.inert``), within the disk allowance, no deeper than a few folders;
  what stays behind is listed for the student's note;
- ``seal_sockets``: once the kernel has bound its sockets, their folder becomes read-only to it, so it
  cannot swap a socket for a link to one of the host's while the grader connects;
- ``usage``: bytes and entries of every place the sandbox can write, from the file systems' own counts.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from coursegrader.files import trees
from coursegrader.files.inert import why_not_inert
from coursegrader.run.sandbox import Sandbox

KEPT_BY_NBGRADER = ("timestamp.txt",)  # files of the graded folder that only nbgrader writes


@dataclass
class Usage:
    bytes: int = 0
    entries: int = 0


@dataclass
class SandboxView:
    """Descriptors of a running sandbox's writable folders, opened through one of its processes."""

    sandbox: Sandbox
    pid: int  # a process inside the sandbox that lives as long as it does
    work_fd: int = -1
    run_fd: int = -1
    handover_fd: int = -1
    tmp_fd: int = -1
    copied_in: dict[tuple[str, ...], tuple[int, int]] = field(default_factory=dict)  # parts -> (size, mtime_ns)

    @classmethod
    def open(cls, sandbox: Sandbox, pid: int) -> SandboxView:
        view = cls(sandbox, pid)
        root = f"/proc/{pid}/root"
        try:
            view.work_fd = trees.open_folder(f"{root}{sandbox.work_dir}")
            view.run_fd = trees.open_folder(f"{root}{sandbox.run_dir}")
            view.handover_fd = trees.open_folder(sandbox.HANDOVER, dir_fd=view.run_fd)
            view.tmp_fd = trees.open_folder(f"{root}/tmp")
        except OSError:
            view.close()
            raise
        return view

    def close(self) -> None:
        for name in ("work_fd", "run_fd", "handover_fd", "tmp_fd"):
            descriptor = getattr(self, name)
            if descriptor >= 0:
                os.close(descriptor)
                setattr(self, name, -1)

    # -------------------------------------------------------------------------

    def copy_in(self, graded_folder: Path) -> trees.Copied:
        """The graded folder's files (notebooks excepted) into the kernel's folder, owned by the sandbox's user."""
        uid = self.sandbox.uid if self.sandbox.as_root else None

        def skip(parts, info):
            if parts[-1].endswith(".ipynb"):
                return "a notebook"  # nbgrader's: the graded notebook holds what only graders may read
            return None

        source = trees.open_folder(graded_folder)
        try:
            copied = trees.copy_regular_files(source, self.work_fd, self._copy_limits(), skip=skip, uid=uid)
        finally:
            os.close(source)
        for relative in copied.files:
            parts = tuple(relative.split("/"))
            try:
                info = _stat_inside(self.work_fd, parts)
            except OSError:
                continue
            self.copied_in[parts] = (info.st_size, info.st_mtime_ns)
        return copied

    def copy_out(self, graded_folder: Path) -> trees.Copied:
        """What the kernel wrote or changed in its folder, back into the graded folder (see the module's docstring)."""

        def skip(parts, info):
            if len(parts) == 1 and (parts[0] in KEPT_BY_NBGRADER or parts[0].endswith(".ipynb")):
                return "nbgrader writes it"
            if stat.S_ISREG(info.st_mode):
                if self.copied_in.get(parts) == (info.st_size, info.st_mtime_ns):
                    return "unchanged"
                return why_not_inert(parts[-1])
            return None

        destination = trees.open_folder(graded_folder)
        try:
            copied = trees.copy_regular_files(self.work_fd, destination, self._copy_limits(kept=True), skip=skip)
        finally:
            os.close(destination)
        copied.left = [(path, why) for path, why in copied.left if why not in ("unchanged", "nbgrader writes it")]
        return copied

    def _copy_limits(self, kept: bool = False) -> trees.CopyLimits:
        limits = self.sandbox.limits
        if kept:  # what comes back to the host's disk: the files a notebook writes are small
            return trees.CopyLimits(max_depth=16, max_entries=limits.kept_entries, max_bytes=limits.kept_bytes)
        return trees.CopyLimits(max_depth=16, max_entries=limits.disk_entries, max_bytes=limits.disk_bytes)

    def seal_sockets(self) -> None:
        """Make the sockets' folder read-only to the kernel (it is the grader's, when the grader is root)."""
        try:
            os.chmod(self.sandbox.SOCKETS, 0o755, dir_fd=self.run_fd, follow_symlinks=True)
        except OSError:
            pass

    def usage(self) -> Usage:
        """Bytes and entries in use in every place the sandbox can write (each a tmpfs: its own counts)."""
        usage = Usage()
        for descriptor in (self.work_fd, self.run_fd, self.handover_fd, self.tmp_fd):
            if descriptor < 0:
                continue
            try:
                info = os.fstatvfs(descriptor)
            except OSError:
                continue
            usage.bytes += (info.f_blocks - info.f_bfree) * info.f_frsize
            usage.entries += max(0, info.f_files - info.f_ffree - 1)  # the folder itself
        return usage


def _stat_inside(top_fd: int, parts: tuple[str, ...]) -> os.stat_result:
    descriptor = os.dup(top_fd)
    try:
        for name in parts[:-1]:
            child = trees.open_folder(name, dir_fd=descriptor)
            os.close(descriptor)
            descriptor = child
        return os.stat(parts[-1], dir_fd=descriptor, follow_symlinks=False)
    finally:
        os.close(descriptor)
