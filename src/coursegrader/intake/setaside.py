"""What the intake moves out of nbgrader's way, kept in the course's private state folder, never deleted.

nbgrader walks a submission folder with ``os.walk`` (``find_all_files``, which copies its files into
the graded folder) and matches every file against every ignore pattern by listing its folder: a tree
deeper than Python's recursion limit stops it (``RecursionError``), a path past 4,096 bytes raises
``ENAMETOOLONG``, and matching grows with the square of a folder's files (2,000 take 10 s, 20,000 about
17 minutes). With ``--force``, or to resume, it removes
an earlier graded folder with ``shutil.rmtree``, which fails on the same trees, inside nbgrader's own
error handler, which stops the whole run. ``coursegrader.intake.submission`` finds what lies past the
folder limits and moves it here; ``remove_graded_folder`` removes an earlier graded folder first,
without recursion.

Each entry is moved with one ``rename`` by descriptor, whatever its depth or path length, under a
number (its name may be what was too long):

    <course>/.coursekit/set-aside/<assignment>/<student>/<YYYYmmddTHHMMSS>/0001, 0002, ...
                                                                          moved.txt   (number, where it was, why)

A rename cannot cross file systems: when that folder is on another one, entries go to a hidden folder
beside the submission (or graded) folder instead, ``submitted/<student>/.<assignment>.set-aside-<when>/``,
where no nbgrader command looks. A folder the grader may not write (a student's ``chmod 555``) is given
back its owner's rights first (``u+rwx``), as ``coursegrader.files.trees`` does to remove one.
"""

from __future__ import annotations

import datetime as dt
import errno
import os
import stat
from pathlib import Path

from coursegrader.files import trees
from coursegrader.intake.ledger import LEDGER_FOLDER


class SetAside:
    """Where one student's entries go; nothing is created until the first one is moved."""

    def __init__(self, course_root: Path, assignment: str, student: str):
        self.assignment = assignment
        self.stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
        self.base = Path(course_root) / LEDGER_FOLDER / "set-aside" / assignment / student
        self.folder: Path | None = None  # the folder of this run, once made
        self.moved = 0

    def _open(self) -> int:
        """A descriptor of this run's folder, made on first use (a second run in the same second gets ``-2``)."""
        if self.folder is None:
            self.base.mkdir(parents=True, exist_ok=True)
            for attempt in range(1, 1000):
                folder = self.base / (self.stamp if attempt == 1 else f"{self.stamp}-{attempt}")
                try:
                    folder.mkdir()
                except FileExistsError:
                    continue
                self.folder = folder
                break
            else:
                raise FileExistsError(errno.EEXIST, "no free set-aside folder", str(self.base))
        return trees.open_folder(self.folder)

    def move(self, folder_fd: int, name: str, *, was: str, why: str, beside: Path) -> Path:
        """Move the entry ``name`` of the folder ``folder_fd`` aside; return where it went.

        ``beside`` is the folder next to which it goes when the course's folder is on another file system
        (the submission folder's parent). ``was`` (its path, as shown) and ``why`` go to ``moved.txt``.
        Raises ``OSError`` when it cannot be moved at all.
        """
        self.moved += 1
        number = f"{self.moved:04d}"
        try:
            main = self._open()
        except OSError:
            main = None
        try:
            if main is not None:
                try:
                    _rename(folder_fd, name, main, number)
                except OSError as error:
                    if error.errno != errno.EXDEV:
                        raise
                else:
                    _record(main, number, was, why)
                    return self.folder / number
            fallback = beside / f".{self.assignment}.set-aside-{self.stamp}"
            fallback.mkdir(exist_ok=True)
            fd = trees.open_folder(fallback)
            try:
                _rename(folder_fd, name, fd, number)
                _record(fd, number, was, why)
            finally:
                os.close(fd)
            return fallback / number
        finally:
            if main is not None:
                os.close(main)


def _record(destination: int, number: str, was: str, why: str) -> None:
    line = f"{number}\t{was}\t{why}\n".encode("utf-8", "backslashreplace")
    fd = os.open("moved.txt", os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644,
                 dir_fd=destination)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def _rename(folder_fd: int, name: str, destination_fd: int, new_name: str) -> None:
    """Rename by descriptors; on a permission error, give the folders involved their owner's rights and retry."""
    try:
        os.rename(name, new_name, src_dir_fd=folder_fd, dst_dir_fd=destination_fd)
        return
    except PermissionError:
        pass
    _add_owner_rights(folder_fd)
    try:  # a folder moved to another parent must be writable itself (its "..")
        if stat.S_ISDIR(os.stat(name, dir_fd=folder_fd, follow_symlinks=False).st_mode):
            child = os.open(name, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=folder_fd)
            try:
                _add_owner_rights(child)
            finally:
                os.close(child)
    except OSError:
        pass
    os.rename(name, new_name, src_dir_fd=folder_fd, dst_dir_fd=destination_fd)


def _add_owner_rights(fd: int) -> None:
    try:
        mode = os.stat(f"/proc/self/fd/{fd}").st_mode
        os.chmod(f"/proc/self/fd/{fd}", stat.S_IMODE(mode) | stat.S_IRWXU)
    except OSError:
        pass


def move_whole(path: Path, set_aside: SetAside, why: str) -> Path:
    """Move ``path`` itself aside (a whole submission folder, or an earlier graded folder); return where."""
    parent = trees.open_folder(path.parent)
    try:
        return set_aside.move(parent, path.name, was=str(path), why=why, beside=path.parent)
    finally:
        os.close(parent)


def remove_graded_folder(path: Path, set_aside: SetAside) -> Path | None:
    """Remove a graded folder an earlier run left (a file or link there too), however deep, without recursion.

    What cannot be removed (an immutable file, a mount) is moved aside with the folder, so nbgrader finds
    nothing there either way; returns where it went, or None when all was removed. Raises ``OSError`` when
    it could be neither removed nor moved.
    """
    try:
        left = trees.remove_tree(path)
    except OSError as error:
        left = [str(error)]
    if not left and not os.path.lexists(path):
        return None
    return move_whole(path, set_aside, f"an earlier run's graded folder, not all removable: {', '.join(left[:3])}")
