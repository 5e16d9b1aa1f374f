"""Folder trees a submission made, walked, copied and removed without recursion and without following a link.

A submission controls the trees in its folders: any depth, any path length, any number of entries,
links, FIFOs, sockets, devices, names that are not UTF-8, folders without permissions. Python's
``os.walk``, ``Path.rglob`` and ``shutil.rmtree`` recurse (a tree 1,500 levels deep raises
``RecursionError``) and use whole paths (past 4,096 bytes, ``ENAMETOOLONG``). Everything here works on
one folder at a time, by file descriptor (``openat``): no path grows with depth, no link is followed,
and no Python recursion is involved.

- ``walk``: the entries of a tree down to a depth limit, each with its folder's descriptor; what lies
  deeper is reported, not entered;
- ``measure``: a tree's bytes (blocks on disk, not apparent sizes) and entries, stopping past limits;
- ``remove_tree``: remove a whole tree, however deep, with at most three descriptors open;
- ``copy_regular_files``: copy the regular files of a tree into a fresh folder, within limits, saying
  what was left behind and why.
"""

from __future__ import annotations

import errno
import os
import stat
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def open_folder(path: str | os.PathLike, dir_fd: int | None = None) -> int:
    """A descriptor of the folder ``path`` (relative to ``dir_fd``), refusing a link."""
    return os.open(path, DIRECTORY_FLAGS, dir_fd=dir_fd)


@dataclass(frozen=True)
class Entry:
    """One entry met by ``walk``: its path from the top (as name parts), its folder's descriptor, its lstat."""

    parts: tuple[str, ...]
    folder_fd: int  # valid only while ``walk`` is at this entry
    info: os.stat_result

    @property
    def name(self) -> str:
        return self.parts[-1]

    @property
    def depth(self) -> int:
        return len(self.parts)

    @property
    def is_dir(self) -> bool:
        return stat.S_ISDIR(self.info.st_mode)

    @property
    def is_file(self) -> bool:
        return stat.S_ISREG(self.info.st_mode)


def walk(top_fd: int, max_depth: int, too_deep: list | None = None) -> Iterator[Entry]:
    """Every entry below the folder ``top_fd``, parents before children, sorted by name within a folder.

    Folders at ``max_depth`` are yielded but not entered; their relative parts go to ``too_deep``. At
    most ``max_depth`` descriptors are open at once. An entry that vanishes or cannot be read is skipped.
    """
    stack: list[tuple[int, tuple[str, ...], Iterator[str]]] = []

    def enter(fd: int, parts: tuple[str, ...]) -> None:
        try:
            names = sorted(os.listdir(fd))
        except OSError:
            names = []
        stack.append((fd, parts, iter(names)))

    enter(os.dup(top_fd), ())
    try:
        while stack:
            fd, parts, names = stack[-1]
            name = next(names, None)
            if name is None:
                os.close(fd)
                stack.pop()
                continue
            try:
                info = os.stat(name, dir_fd=fd, follow_symlinks=False)
            except OSError:
                continue
            entry = Entry((*parts, name), fd, info)
            yield entry
            if entry.is_dir:
                if entry.depth >= max_depth:
                    if too_deep is not None:
                        too_deep.append(entry.parts)
                    continue
                try:
                    child = open_folder(name, dir_fd=fd)
                except OSError:
                    continue
                enter(child, entry.parts)
    finally:
        for fd, _parts, _names in stack:
            os.close(fd)


@dataclass
class Usage:
    bytes: int = 0  # blocks on disk (a sparse file counts what it holds, not its apparent size)
    entries: int = 0
    deepest: int = 0

    def over(self, max_bytes: int, max_entries: int, max_depth: int) -> str | None:
        """Why this usage is past a limit, in words, or None."""
        if self.bytes > max_bytes:
            return f"more than {max_bytes / 2**20:g} MiB"
        if self.entries > max_entries:
            return f"more than {max_entries:,} files and folders"
        if self.deepest > max_depth:
            return f"folders more than {max_depth} levels deep"
        return None


def measure(top_fd: int, max_bytes: int, max_entries: int, max_depth: int) -> Usage:
    """The tree below ``top_fd``: its bytes on disk, entries and depth, stopping once past any limit."""
    usage = Usage()
    too_deep: list = []
    for entry in walk(top_fd, max_depth, too_deep):
        usage.entries += 1
        usage.bytes += entry.info.st_blocks * 512
        usage.deepest = max(usage.deepest, entry.depth)
        if too_deep:
            usage.deepest = max_depth + 1
        if usage.over(max_bytes, max_entries, max_depth):
            break
    return usage


# -----------------------------------------------------------------------------
# removing


def _make_traversable(name: str, parent_fd: int) -> None:
    """A folder without permissions (chmod 000) that the grader does not own as root: give it back rwx."""
    try:
        fd = os.open(name, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent_fd)
    except OSError:
        return
    try:
        os.chmod(f"/proc/self/fd/{fd}", 0o700)
    except OSError:
        pass
    finally:
        os.close(fd)


def _open_child(name: str, parent_fd: int) -> int | None:
    try:
        return open_folder(name, dir_fd=parent_fd)
    except PermissionError:
        _make_traversable(name, parent_fd)
        try:
            return open_folder(name, dir_fd=parent_fd)
        except OSError:
            return None
    except OSError:
        return None


def empty_folder(top_fd: int) -> list[str]:
    """Remove everything inside the folder ``top_fd``, however deep; return the names it could not remove.

    Folders are not descended into: each folder's subfolders are moved up to the top folder (a rename
    within one file system), its other entries removed, then the folder itself, until the top folder
    holds no folder. So depth and path length never matter, and at most three descriptors are open.
    """
    left: list[str] = []
    failed: set[str] = set()
    while True:
        try:
            names = sorted(os.listdir(top_fd))
        except OSError:
            return [".(unreadable)"]
        progressed = False
        for name in names:
            if name in failed:
                continue
            try:
                info = os.stat(name, dir_fd=top_fd, follow_symlinks=False)
            except FileNotFoundError:
                continue
            except OSError:
                failed.add(name)
                continue
            if not stat.S_ISDIR(info.st_mode):
                try:
                    os.unlink(name, dir_fd=top_fd)
                    progressed = True
                except FileNotFoundError:
                    pass
                except OSError:
                    failed.add(name)
                continue
            child = _open_child(name, top_fd)
            if child is None:
                failed.add(name)
                continue
            try:
                for inner in os.listdir(child):
                    try:
                        inner_info = os.stat(inner, dir_fd=child, follow_symlinks=False)
                        if stat.S_ISDIR(inner_info.st_mode):
                            os.rename(inner, f".coursekit-removing-{uuid.uuid4().hex}", src_dir_fd=child,
                                      dst_dir_fd=top_fd)
                        else:
                            os.unlink(inner, dir_fd=child)
                    except FileNotFoundError:
                        continue
            except OSError:
                pass
            finally:
                os.close(child)
            try:
                os.rmdir(name, dir_fd=top_fd)
                progressed = True
            except FileNotFoundError:
                progressed = True
            except OSError as error:
                if error.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                    failed.add(name)
                else:
                    progressed = True  # it still holds what the pass above moved up or removed: again
        if not progressed:
            left = sorted(failed)
            return left


def remove_tree(path: str | os.PathLike) -> list[str]:
    """Remove ``path`` and everything below it, without following links and without recursion; a file or
    link at ``path`` is removed itself. Return what could not be removed (empty when all went)."""
    path = os.fspath(path)
    parent, name = os.path.split(os.path.abspath(path))
    parent_fd = open_folder(parent)
    try:
        try:
            info = os.stat(name, dir_fd=parent_fd, follow_symlinks=False)
        except FileNotFoundError:
            return []
        if not stat.S_ISDIR(info.st_mode):
            os.unlink(name, dir_fd=parent_fd)
            return []
        fd = _open_child(name, parent_fd)
        if fd is None:
            return [name]
        try:
            left = empty_folder(fd)
        finally:
            os.close(fd)
        if left:
            return left
        os.rmdir(name, dir_fd=parent_fd)
        return []
    finally:
        os.close(parent_fd)


# -----------------------------------------------------------------------------
# copying


@dataclass(frozen=True)
class CopyLimits:
    max_depth: int = 16  # folders below the top
    max_entries: int = 10_000
    max_bytes: int = 256 * 2**20
    max_name_bytes: int = 255
    max_path_bytes: int = 1024  # of a path relative to the top


@dataclass
class Copied:
    files: list[str] = field(default_factory=list)  # relative paths copied
    left: list[tuple[str, str]] = field(default_factory=list)  # (relative path, why it was not copied)

    def note(self, limit: int = 5) -> str | None:
        """The files left behind, a few of them by name (each shortened), or None."""
        if not self.left:
            return None
        shown = ", ".join(f"{shorten(path)} ({why})" for path, why in self.left[:limit])
        more = f" and {len(self.left) - limit} more" if len(self.left) > limit else ""
        return shown + more


def shorten(text: str, width: int = 80) -> str:
    """``text`` cut in its middle to at most ``width`` characters."""
    if len(text) <= width:
        return text
    half = (width - 1) // 2
    return f"{text[:half]}…{text[-half:]}"


def _utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def copy_regular_files(source_fd: int, destination_fd: int, limits: CopyLimits = CopyLimits(), skip=None,
                       uid: int | None = None, gid: int | None = None) -> Copied:
    """Copy the regular files below ``source_fd`` into the folder ``destination_fd``, making the folders they
    sit in; never follow a link on either side. ``skip(parts, info)`` may return a reason to leave an entry
    out. Files are written anew (an existing destination file is replaced by a new one); ``uid``/``gid``
    own what is written, when given."""
    copied = Copied()
    total = 0
    too_deep: list = []
    entries = 0
    folders: dict[tuple[str, ...], int] = {(): os.dup(destination_fd)}
    try:
        for entry in walk(source_fd, limits.max_depth, too_deep):
            relative = "/".join(entry.parts)
            shown = os.fsencode(relative).decode("utf-8", "backslashreplace")
            entries += 1
            if entries > limits.max_entries:
                copied.left.append((shown, f"more than {limits.max_entries:,} files and folders"))
                break
            reason = None
            if not _utf8(entry.name):
                reason = "its name is not UTF-8 text"
            elif len(os.fsencode(entry.name)) > limits.max_name_bytes or len(os.fsencode(relative)) > limits.max_path_bytes:
                reason = "its name is too long"
            elif skip is not None:
                reason = skip(entry.parts, entry.info)
            parent = folders.get(entry.parts[:-1])
            if parent is None:
                continue  # inside a folder that was left out
            if reason is None and entry.is_dir:
                if entry.depth >= limits.max_depth:
                    reason = f"it is more than {limits.max_depth} folders deep"
                else:
                    try:
                        os.mkdir(entry.name, 0o755, dir_fd=parent)
                    except FileExistsError:
                        pass
                    try:
                        fd = open_folder(entry.name, dir_fd=parent)
                    except OSError as error:
                        copied.left.append((shown, f"its folder could not be made ({error.strerror})"))
                        continue
                    if uid is not None:
                        os.fchown(fd, uid, gid if gid is not None else uid)
                    folders[entry.parts] = fd
                    continue
            if reason is None and not entry.is_file:
                reason = "it is a link" if stat.S_ISLNK(entry.info.st_mode) else "it is not a regular file"
            if reason is None and entry.info.st_size > limits.max_bytes:
                reason = f"it is larger than {limits.max_bytes / 2**20:g} MiB"
            elif reason is None and total + entry.info.st_size > limits.max_bytes:
                reason = f"the files before it already take {limits.max_bytes / 2**20:g} MiB"
            if reason is not None:
                copied.left.append((shown, reason))
                continue
            try:
                size = _copy_file(entry.name, entry.folder_fd, parent, uid, gid, limits.max_bytes - total)
            except OSError as error:
                copied.left.append((shown, f"it could not be copied ({error.strerror or error})"))
                continue
            total += size
            copied.files.append(shown)
    finally:
        for fd in folders.values():
            os.close(fd)
    return copied


def _copy_file(name: str, source_folder: int, destination_folder: int, uid, gid, budget: int) -> int:
    source = os.open(name, FILE_FLAGS, dir_fd=source_folder)
    try:
        if not stat.S_ISREG(os.fstat(source).st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        try:
            os.unlink(name, dir_fd=destination_folder)
        except FileNotFoundError:
            pass
        target = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644,
                         dir_fd=destination_folder)
        try:
            written = 0
            while chunk := os.read(source, 1 << 20):
                written += len(chunk)
                if written > budget:
                    raise OSError(errno.EFBIG, "larger than what is left of the allowance")
                view = memoryview(chunk)
                while view:
                    view = view[os.write(target, view):]
            if uid is not None:
                os.fchown(target, uid, gid if gid is not None else uid)
            return written
        except BaseException:
            os.close(target)
            target = -1
            os.unlink(name, dir_fd=destination_folder)
            raise
        finally:
            if target >= 0:
                os.close(target)
    finally:
        os.close(source)
