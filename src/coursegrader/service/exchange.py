"""nbgrader's filesystem exchange, seen by ``course watch``: submissions found, trusted or not, collected, feedback released.

``nbgrader submit`` copies a student's folder to ``<root>/<course>/inbound/<student>+<assignment>+<timestamp>+<random>/``,
writes ``timestamp.txt`` and ``submission_secret.txt`` (128 hex digits), then makes the folder 0777:
that ``chmod`` is its last step. ``nbgrader fetch_feedback`` looks for ``<root>/<course>/feedback/<md5(secret +
notebook)>.html``. Everything in inbound is writable by every student, so nothing in it is trusted:

- ``Exchange.scan`` lists the folders named for this assignment, without following a link;
- ``Exchange.inspect`` decides whether one is *complete* (its secret written, the folder 0777, nothing
  under it changed for ``quiet`` seconds) and *trusted*: the folder is owned by the Unix account named in
  it (``nbgrader submit --student=bob`` by alice is refused, where nbgrader's collect only warns), its
  ``timestamp.txt`` says what its name says, and that time is neither in the future nor long before the
  folder was made (a hand-made folder dated before the deadline, or far in the future so that it stays
  "newest", is refused);
- ``Exchange.collect`` copies one record into ``submitted/<student>/<assignment>`` as ``nbgrader collect
  --update`` would, but by descriptor: links, FIFOs and devices are never followed or copied, nor files
  the student does not own, nor what ``CourseDirectory.ignore``/``include``/``max_file_size`` leave out;
  within ``CopyLimits``; into a fresh folder that then takes the old one's place in one rename;
- ``Exchange.release`` writes a feedback page where ``fetch_feedback`` looks for it, atomically.

What this does not do: it reads no notebook (the intake does, at grading), and it trusts the Unix
account table (``pwd``) to say who a student is. A course whose students share one Unix account (some
JupyterHub set-ups) must turn ``WatchPolicy.check_owner`` off, and then cannot tell them apart.
"""

from __future__ import annotations

import ctypes
import fnmatch
import os
import pwd
import re
import stat
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from coursegrader.files.trees import CopyLimits, Copied, copy_regular_files, open_folder, remove_tree, walk

SECRET = re.compile(r"[0-9a-f]{128}")
SMALL_FILE = 4096  # timestamp.txt and submission_secret.txt are read only up to this size
MAX_ENTRIES_INSPECTED = 10_000


class ExchangeUnsafe(RuntimeError):
    """The exchange's folders let one student tamper with another's submissions."""


@dataclass(frozen=True)
class Record:
    """One folder in inbound: a submission as its name describes it."""

    name: str
    student: str
    assignment: str
    stamp: str  # the timestamp as written in the name
    when: float  # that timestamp, in seconds since the epoch (UTC)


@dataclass(frozen=True)
class Inspection:
    """What ``Exchange.inspect`` found: ``state`` is "complete", "waiting" (not yet: look again later) or "rejected"."""

    state: str
    why: str = ""
    secret: str = ""
    owner: int = -1
    settles_at: float = 0.0  # when "waiting" on the quiet period: the time to look again


def parse_name(name: str) -> Record | None:
    """``student+assignment+timestamp+random`` (nbgrader's submit), or None for anything else."""
    from nbgrader.utils import parse_utc

    parts = name.rsplit("+", 3)
    if len(parts) != 4 or not all(parts[:3]):
        return None
    student, assignment, stamp, _random = parts
    if student.startswith(".") or not student.isprintable():  # "..": submitted/../<assignment>
        return None
    try:
        parsed = parse_utc(stamp)
    except (ValueError, OverflowError, TypeError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return Record(name, student, assignment, stamp, parsed.timestamp())


def _read_small(name: str, folder_fd: int) -> str | None:
    """A small regular file's text, never following a link; None when it is missing, odd or too large."""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=folder_fd)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > SMALL_FILE:
            return None
        return os.read(fd, SMALL_FILE + 1).decode("utf-8", "replace")
    finally:
        os.close(fd)


def account_uid(student: str) -> int | None:
    try:
        return pwd.getpwnam(student).pw_uid
    except (KeyError, UnicodeEncodeError, ValueError):
        return None


# -----------------------------------------------------------------------------


_RENAME_EXCHANGE = 2
_libc = ctypes.CDLL(None, use_errno=True)


def _swap(first: str, second: str) -> bool:
    """Exchange two paths of one file system in one step (``renameat2(RENAME_EXCHANGE)``); False if unsupported."""
    renameat2 = getattr(_libc, "renameat2", None)
    if renameat2 is None:
        return False
    AT_FDCWD = -100
    result = renameat2(AT_FDCWD, os.fsencode(first), AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE)
    if result != 0:
        error = ctypes.get_errno()
        if error in (22, 38, 95):  # EINVAL, ENOSYS, EOPNOTSUPP: the file system cannot
            return False
        raise OSError(error, os.strerror(error), first)
    return True


@dataclass
class Exchange:
    """One course's part of the exchange: ``<root>/<course_id>/``, for one assignment."""

    root: Path
    course_id: str
    assignment: str
    quiet: float = 0.25  # seconds nothing under a submission may change before it is taken
    future_slack: float = 60.0  # a name's time may be this far past the folder's making (clocks differ)
    past_slack: float = 600.0  # and this far before it (a large submission takes a while to copy)
    check_owner: bool = True

    @property
    def course(self) -> Path:
        return Path(self.root) / self.course_id

    @property
    def inbound(self) -> Path:
        return self.course / "inbound"

    @property
    def feedback(self) -> Path:
        return self.course / "feedback"

    # ------------------------------------------------------------------ set-up

    def secure(self, log) -> None:
        """Give the exchange root and inbound their sticky bit (nbgrader leaves it off, so a student can rename
        the course or another's submission away), where this process may; refuse to run where it is off and
        cannot be set. Make the feedback folder as ``release_feedback`` does (0711: not listable)."""
        if not self.course_id:
            raise ExchangeUnsafe("no course id: set c.CourseDirectory.course_id in nbgrader_config.py")
        for folder in (Path(self.root), self.inbound):
            info = os.lstat(folder)  # FileNotFoundError: no release yet, reported by the caller
            if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
                raise ExchangeUnsafe(f"{folder} is not a folder")
            writable_by_others = info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
            if writable_by_others and not info.st_mode & stat.S_ISVTX:
                try:
                    os.chmod(folder, stat.S_IMODE(info.st_mode) | stat.S_ISVTX)
                    log(f"exchange: added the sticky bit to {folder} (students could rename others' entries away)")
                except PermissionError:
                    raise ExchangeUnsafe(f"{folder} is writable by students and has no sticky bit, so one student "
                                         f"can rename another's submission away; run `chmod +t {folder}` as its owner")
        if not self.feedback.is_dir():
            self.feedback.mkdir(mode=0o711)
            os.chmod(self.feedback, 0o711)

    # ------------------------------------------------------------------ finding

    def scan(self) -> list[Record]:
        """This assignment's folders in inbound, oldest first (by their names' time)."""
        found = []
        with os.scandir(self.inbound) as entries:
            for entry in entries:
                record = parse_name(entry.name)
                if record is not None and record.assignment == self.assignment:
                    found.append(record)
        return sorted(found, key=lambda record: (record.when, record.name))

    def inspect(self, record: Record, now: float | None = None) -> Inspection:
        """Whether ``record`` is complete and may be trusted (see the module's docstring)."""
        now = time.time() if now is None else now
        try:
            fd = open_folder(record.name, dir_fd=self._inbound_fd())
        except OSError as error:
            return Inspection("rejected", f"it is not a folder ({error.strerror})")
        try:
            info = os.fstat(fd)
            if self.check_owner:
                expected = account_uid(record.student)
                if expected is None:
                    return Inspection("rejected", f"no Unix account is called {record.student!r}")
                if info.st_uid != expected:
                    return Inspection("rejected", f"it is named for {record.student} but made by "
                                                  f"{_account_name(info.st_uid)}")
            secret = _read_small("submission_secret.txt", fd)
            if stat.S_IMODE(info.st_mode) != 0o777 or secret is None or not SECRET.fullmatch(secret):
                if now - info.st_ctime > self.past_slack:
                    return Inspection("rejected", "it never became a whole submission (no submission secret, "
                                                  "or not made by nbgrader submit)")
                return Inspection("waiting", "still being written", settles_at=now + self.quiet)
            stamp = _read_small("timestamp.txt", fd)
            if stamp is None or stamp.strip() != record.stamp:
                return Inspection("rejected", "its timestamp.txt does not say what its name says")
            made = info.st_ctime
            if record.when > max(made, now) + self.future_slack:
                return Inspection("rejected", f"its time ({record.stamp}) is in the future")
            if record.when < made - self.past_slack:
                return Inspection("rejected", f"its time ({record.stamp}) is long before the folder was made")
            latest, entries = info.st_ctime, 0
            for entry in walk(fd, max_depth=CopyLimits().max_depth):
                latest = max(latest, entry.info.st_ctime)
                entries += 1
                if entries > MAX_ENTRIES_INSPECTED:
                    break
            if now - latest < self.quiet:
                return Inspection("waiting", "still changing", settles_at=latest + self.quiet)
            return Inspection("complete", secret=secret, owner=info.st_uid)
        finally:
            os.close(fd)

    def _inbound_fd(self) -> int:
        fd = getattr(self, "_inbound_descriptor", None)
        if fd is None:
            fd = open_folder(self.inbound)
            self._inbound_descriptor = fd
        return fd

    def reopen(self) -> None:
        """Forget the inbound descriptor (after an error: the exchange may have been remounted)."""
        fd = getattr(self, "_inbound_descriptor", None)
        self._inbound_descriptor = None
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass

    # ------------------------------------------------------------------ collecting

    def collect(self, record: Record, owner: int, destination: Path, coursedir) -> Copied:
        """Copy ``record`` to ``destination`` (``submitted/<student>/<assignment>``), replacing what is there in
        one rename. ``coursedir`` gives nbgrader's ignore, include and max_file_size."""
        destination = Path(destination)
        destination.parent.mkdir(parents=True, exist_ok=True)
        fresh = destination.parent / f".{destination.name}.collecting-{uuid.uuid4().hex[:8]}"
        os.mkdir(fresh, 0o755)
        ignore, include = list(coursedir.ignore), list(coursedir.include)
        max_file = coursedir.max_file_size * 1000

        def skip(parts, info):
            name = parts[-1]
            if any(fnmatch.fnmatch(name, pattern) for pattern in ignore):
                return "CourseDirectory.ignore leaves it out"
            if self.check_owner and info.st_uid != owner:
                return "it was not made by the student"
            if stat.S_ISREG(info.st_mode):
                if include and not any(fnmatch.fnmatch(name, pattern) for pattern in include):
                    return "CourseDirectory.include leaves it out"
                if max_file and info.st_size > max_file:
                    return "it is larger than CourseDirectory.max_file_size"
            return None

        try:
            source = open_folder(record.name, dir_fd=self._inbound_fd())
            try:
                if self.check_owner and os.fstat(source).st_uid != owner:
                    raise PermissionError(f"{record.name} changed owner while it was collected")
                target = open_folder(fresh)
                try:
                    copied = copy_regular_files(source, target, CopyLimits(max_bytes=coursedir.max_dir_size * 1000),
                                                skip=skip)
                finally:
                    os.close(target)
            finally:
                os.close(source)
            if os.path.lexists(destination):
                if not _swap(str(fresh), str(destination)):
                    old = destination.parent / f".{destination.name}.old-{uuid.uuid4().hex[:8]}"
                    os.rename(destination, old)
                    os.rename(fresh, destination)
                    fresh = old
            else:
                os.rename(fresh, destination)
        finally:
            remove_tree(fresh)
        return copied

    # ------------------------------------------------------------------ releasing

    def release(self, page: bytes, secret: str, notebook_id: str) -> Path:
        """Put ``page`` where ``nbgrader fetch_feedback`` of the submission with ``secret`` looks for it."""
        from nbgrader.utils import notebook_hash

        name = notebook_hash(secret=secret, notebook_id=notebook_id) + ".html"
        partial = self.feedback / f".{name}.{uuid.uuid4().hex[:8]}.partial"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        try:
            view = memoryview(page)
            while view:
                view = view[os.write(fd, view):]
            os.fchmod(fd, 0o644)
        finally:
            os.close(fd)
        os.replace(partial, self.feedback / name)
        return self.feedback / name


def _account_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def submitted_timestamp(folder: Path) -> float | None:
    """The time in ``submitted/<student>/<assignment>/timestamp.txt``, as collect --update compares it."""
    from nbgrader.utils import parse_utc

    try:
        fd = open_folder(folder)
    except OSError:
        return None
    try:
        text = _read_small("timestamp.txt", fd)
    finally:
        os.close(fd)
    if not text:
        return None
    try:
        parsed = parse_utc(text.strip())
    except (ValueError, OverflowError, TypeError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()


def utc_text(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
