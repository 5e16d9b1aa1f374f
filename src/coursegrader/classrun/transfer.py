"""What travels between the instructor's machine and a grading worker that shares no folder with it.

- ``CourseFiles``: what a worker needs of the course to grade an assignment (``nbgrader_config.py``, the
  assignment's files from ``source/`` and its release notebook);
- ``pack``: a folder (or whatever stands at its path) as a tar archive, read one folder at a time by
  descriptor (``coursegrader.files.trees``): no link followed, no recursion, within ``PackLimits``;
- ``unpack_submission``: on the worker, a submission recreated as the student left it, links, FIFOs and
  odd names included, so the worker's intake reports them exactly as a local run does. The archive is
  the instructor's own ``pack`` of a real folder, extracted with tarfile's ``tar`` filter (nothing
  outside the destination);
- ``install_graded``: on the instructor's machine, the autograded folder a worker sent back. It holds
  what the student's code wrote, so it is treated as hostile: extracted with tarfile's ``data`` filter
  (no absolute paths, nothing outside the destination, no devices), keeping only folders and regular
  files (no link of any kind), within ``PackLimits``, into a fresh folder beside the destination, which
  then takes the place of the old one (removed without following a link). What was left out is named.
"""

from __future__ import annotations

import io
import os
import stat
import tarfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from coursegrader.files import trees


@dataclass(frozen=True)
class CourseFiles:
    """What a worker needs of the course to grade one assignment."""

    config: bytes  # nbgrader_config.py
    files: dict[str, bytes]  # relative path (source/..., release/...) -> content


def course_files(app, course_root: Path, assignment: str) -> CourseFiles:
    coursedir = app.coursedir
    files = {}
    for step in (coursedir.source_directory, coursedir.release_directory):
        folder = Path(coursedir.format_path(step, ".", assignment))
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not path.is_symlink() and (step != coursedir.source_directory or path.suffix != ".ipynb"):
                files[str(path.relative_to(course_root))] = path.read_bytes()
    return CourseFiles((Path(course_root) / "nbgrader_config.py").read_bytes(), files)


@dataclass(frozen=True)
class PackLimits:
    """Beyond what the intake and the sandbox allow a submission (16 folders deep, 10,000 entries, 256 MiB),
    so the other side sees everything they would judge."""

    max_depth: int = 128
    max_entries: int = 20_000
    max_bytes: int = 1024 * 2**20
    max_path_bytes: int = 2048  # of a path inside the archive


class TooLarge(ValueError):
    """A folder past ``PackLimits.max_bytes``."""


# -----------------------------------------------------------------------------
# packing


def _member(name: str, info: os.stat_result, kind: bytes) -> tarfile.TarInfo:
    member = tarfile.TarInfo(name)
    member.type, member.mode, member.mtime = kind, stat.S_IMODE(info.st_mode), int(info.st_mtime)
    member.uid = member.gid = 0
    member.uname = member.gname = ""  # whose files they were on one machine means nothing on the other
    return member


def _add(archive: tarfile.TarFile, arcname: str, name: str, folder_fd: int, info: os.stat_result, *,
         links: bool, left: list[str]) -> int:
    """Add one entry (``name`` in the folder ``folder_fd``); return the bytes it added."""
    mode = info.st_mode
    if stat.S_ISDIR(mode):
        archive.addfile(_member(arcname, info, tarfile.DIRTYPE))
    elif stat.S_ISREG(mode):
        try:
            descriptor = os.open(name, trees.FILE_FLAGS, dir_fd=folder_fd)
        except OSError as error:
            left.append(f"{arcname} (unreadable: {error.strerror})")
            return 0
        with os.fdopen(descriptor, "rb") as handle:
            current = os.fstat(descriptor)
            if not stat.S_ISREG(current.st_mode):
                left.append(f"{arcname} (changed while it was read)")
                return 0
            member = _member(arcname, current, tarfile.REGTYPE)
            member.size = current.st_size
            archive.addfile(member, handle)
            return current.st_size
    elif links and stat.S_ISLNK(mode):
        member = _member(arcname, info, tarfile.SYMTYPE)
        member.linkname = os.readlink(name, dir_fd=folder_fd)
        archive.addfile(member)
    elif links and stat.S_ISFIFO(mode):
        archive.addfile(_member(arcname, info, tarfile.FIFOTYPE))
    else:
        left.append(f"{arcname} (a link or a special file)")
    return 0


def pack(path: str | os.PathLike, *, links: bool, limits: PackLimits = PackLimits()) -> tuple[bytes, list[str]]:
    """``path`` and what lies below it as a tar archive ('.' stands for ``path`` itself; nothing at all when
    nothing is there), and what was left out. ``links``: keep symbolic links (their target as text) and FIFOs
    as they are, as a submission is sent; otherwise only folders and regular files, as a graded folder is.
    Raises ``TooLarge`` past ``limits.max_bytes``; entries past the other limits are left out."""
    left: list[str] = []
    buffer = io.BytesIO()
    parent, name = os.path.split(os.path.abspath(path))
    parent_fd = trees.open_folder(parent)
    try:
        try:
            info = os.stat(name, dir_fd=parent_fd, follow_symlinks=False)
        except FileNotFoundError:
            return b"", left
        with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
            total = _add(archive, ".", name, parent_fd, info, links=links, left=left)
            if stat.S_ISDIR(info.st_mode):
                top = trees.open_folder(name, dir_fd=parent_fd)
                too_deep: list = []
                try:
                    for count, entry in enumerate(trees.walk(top, limits.max_depth, too_deep), start=1):
                        arcname = "/".join(entry.parts)
                        if count > limits.max_entries:
                            left.append(f"everything after its first {limits.max_entries:,} files and folders")
                            break
                        if len(os.fsencode(arcname)) > limits.max_path_bytes:
                            left.append(f"{trees.shorten(arcname)} (its path is too long)")
                            continue
                        if entry.is_file and total + entry.info.st_size > limits.max_bytes:
                            raise TooLarge(f"{path} holds more than {limits.max_bytes / 2**20:g} MiB")
                        total += _add(archive, arcname, entry.name, entry.folder_fd, entry.info, links=links, left=left)
                finally:
                    os.close(top)
                left.extend(f"{trees.shorten('/'.join(parts))}/… (more than {limits.max_depth} folders deep)"
                            for parts in too_deep[:5])
    finally:
        os.close(parent_fd)
    return buffer.getvalue(), left


# -----------------------------------------------------------------------------
# unpacking


def _top(archive: tarfile.TarFile) -> tuple[tarfile.TarInfo | None, list[tarfile.TarInfo]]:
    members = archive.getmembers()
    return next((member for member in members if member.name == "."), None), [m for m in members if m.name != "."]


def unpack_submission(data: bytes, destination: Path) -> None:
    """On a worker: recreate at ``destination`` what ``pack(..., links=True)`` archived (nothing, if nothing)."""
    if not data:
        return
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        top, members = _top(archive)
        if top is None:
            return
        destination.parent.mkdir(parents=True, exist_ok=True)
        if top.isdir():
            destination.mkdir(exist_ok=True)
            archive.extractall(destination, members=members, filter="tar")  # links stay links, for the intake
        elif top.issym():
            os.symlink(top.linkname, destination)
        elif top.isfifo():
            os.mkfifo(destination)
        else:
            destination.write_bytes(archive.extractfile(top).read())


def install_graded(data: bytes, destination: Path, limits: PackLimits = PackLimits()) -> list[str]:
    """On the instructor's machine: put the autograded folder a worker sent (``pack(..., links=False)``) at
    ``destination``, in place of what was there; return what was left out, and why (see the module's docstring)."""
    left: list[str] = []
    parent = destination.parent
    parent.mkdir(parents=True, exist_ok=True)
    parent_fd = trees.open_folder(parent)  # refuses a link in its place
    incoming_name = f".{destination.name}.incoming-{uuid.uuid4().hex[:12]}"
    os.mkdir(incoming_name, 0o700, dir_fd=parent_fd)
    incoming = parent / incoming_name
    try:
        with tarfile.open(fileobj=io.BytesIO(data)) as archive:
            entries, total = 0, 0

            def accept(member: tarfile.TarInfo, path: str) -> tarfile.TarInfo | None:
                nonlocal entries, total
                shown = trees.shorten(member.name)
                try:
                    member = tarfile.data_filter(member, path)
                except tarfile.FilterError as error:
                    left.append(f"{shown} ({type(error).__name__})")
                    return None
                if not (member.isdir() or member.isreg()):
                    left.append(f"{shown} (a link or a special file)")
                    return None
                entries += 1
                depth = member.name.count("/") + 1
                if entries > limits.max_entries or depth > limits.max_depth or \
                        len(os.fsencode(member.name)) > limits.max_path_bytes:
                    left.append(f"{shown} (past the limits of a graded folder)")
                    return None
                if member.isreg():
                    total += member.size
                    if total > limits.max_bytes:
                        left.append(f"{shown} (past {limits.max_bytes / 2**20:g} MiB)")
                        return None
                return member.replace(mode=0o444 if member.isreg() else 0o755, deep=False)  # as nbgrader leaves them

            top, members = _top(archive)
            if top is None or not top.isdir():
                raise ValueError("the worker sent no autograded folder")
            archive.extractall(incoming, members=members, filter=accept)
        os.chmod(incoming_name, 0o755, dir_fd=parent_fd)
        remains = trees.remove_tree(destination)
        if remains:
            raise OSError(f"{destination} could not be replaced: {', '.join(remains[:3])} could not be removed")
        os.rename(incoming_name, destination.name, src_dir_fd=parent_fd, dst_dir_fd=parent_fd)
    except BaseException:
        trees.remove_tree(incoming)
        raise
    finally:
        os.close(parent_fd)
    return left
