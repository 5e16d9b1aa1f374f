"""What a student submitted, taken in without trusting it: the notebook and the files beside it.

``scan_submission`` looks at one ``submitted/<student>/<assignment>`` entry without following a
link and says what is wrong with it: no folder, no notebook, a notebook under another name, files
that must not be copied (links, FIFOs and devices, files too large, names that are not UTF-8, files a
browser would run, such as HTML or SVG: ``coursegrader.files.inert``), a ``timestamp.txt`` nbgrader
cannot read, folders it cannot read. The notebook itself is read by ``coursegrader.intake.notebook``.

It walks the folder by descriptor (``coursegrader.files.trees``): no recursion, no path longer than one
name, whatever the tree. nbgrader then walks the same folder with ``os.walk``, so what lies past the
folder limits (``IntakeLimits``: 16 levels of folders, 1,000 files and folders, paths of 1,024 bytes)
is moved out of its way first (``coursegrader.intake.setaside``): the notebooks at the top and
``timestamp.txt`` are never moved for the count. After it, nbgrader's walk of the folder meets at most
those limits, however deep, long, large or locked the tree was.

Every problem becomes a sentence for the student (at the top of their graded notebook, hence their
feedback) and a line in the run's log. Nothing here deletes what a student submitted.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from coursegrader.files import trees
from coursegrader.files.inert import served_inert, why_not_inert
from coursegrader.intake.notebook import MiB, IntakeLimits, describe, is_utf8_name, shown
from coursegrader.intake.setaside import SetAside


@dataclass
class Intake:
    """What grading found wrong with one student's submission, and what it did about it."""

    student: str
    problems: list[str] = field(default_factory=list)  # sentences for the student and the log
    ignored: list[Path] = field(default_factory=list)  # files not copied into the graded folder
    notebook_source: dict[str, Path] = field(default_factory=dict)  # expected notebook -> file it is read from
    run_notebook: bool = True  # False: there is nothing of the student's to run
    set_aside: list[Path] = field(default_factory=list)  # where what was moved out of the folder went
    unsafe: str | None = None  # why part of the folder is still past the limits (it could not be moved)

    def summary(self) -> str:
        return " ".join(self.problems) if self.problems else "nothing to report"


def _valid_timestamp(path: Path) -> str | None:
    """Why nbgrader could not read this ``timestamp.txt`` (it would stop the whole run), or None."""
    from nbgrader.utils import parse_utc

    if not stat.S_ISREG(os.lstat(path).st_mode):
        return f"timestamp.txt is {describe(path)}"
    if os.path.getsize(path) > 1000:
        return "timestamp.txt is not a timestamp (too long)"
    try:
        text = path.read_text(encoding="utf-8").strip()
        if text:
            parse_utc(text)
    except (UnicodeDecodeError, ValueError, OverflowError):
        return "timestamp.txt does not hold a readable time"
    return None


def _describe(entry: trees.Entry) -> str:
    if stat.S_ISLNK(entry.info.st_mode):
        try:
            return f"a link to {shown(os.readlink(entry.name, dir_fd=entry.folder_fd))}"
        except OSError:
            return "a link"
    return "a special file (FIFO, socket or device)"


def _readable(entry: trees.Entry) -> bool:
    try:
        os.close(trees.open_folder(entry.name, dir_fd=entry.folder_fd))
    except PermissionError:
        return False
    except OSError:
        pass
    return True


def _holds_anything(entry: trees.Entry) -> bool:
    try:
        fd = trees.open_folder(entry.name, dir_fd=entry.folder_fd)
    except OSError:
        return True  # cannot tell: assume it does
    try:
        with os.scandir(fd) as entries:
            return next(entries, None) is not None
    except OSError:
        return True
    finally:
        os.close(fd)


def _below(entry: trees.Entry, folders: set[tuple[str, ...]]) -> bool:
    return any(entry.parts[:depth] in folders for depth in range(1, entry.depth))


def _listed(paths: list[str], limit: int = 3) -> str:
    named = ", ".join(shown(trees.shorten(path)) for path in paths[:limit])
    return named + (f" and {len(paths) - limit:,} more" if len(paths) > limit else "")


def _set_aside_sentences(past: dict[str, list[str]], limits: IntakeLimits) -> list[str]:
    kept = "set aside, not graded (your instructor keeps them)"
    sentences = []
    if past["depth"]:
        sentences.append(f"{_listed(past['depth'])} held files or folders more than {limits.folder_depth} levels "
                         f"deep, more than a submission may: {kept}.")
    if past["path"]:
        sentences.append(f"{_listed(past['path'])}: paths longer than {limits.path_bytes:,} bytes, more than a "
                         f"submission may hold: {kept}.")
    if past["entries"]:
        count = len(past["entries"])
        sentences.append(f"Your submission holds more than {limits.entries:,} files and folders, more than a submission "
                         f"may: the {count:,} files and folders past the first {limits.entries:,} "
                         f"({_listed(past['entries'])}) were {kept}.")
    return sentences


def scan_submission(path: Path, student: str, notebooks: list[str], limits: IntakeLimits = IntakeLimits(),
                    set_aside: SetAside | None = None) -> Intake:
    """Look at ``submitted/<student>/<assignment>`` (``path``); ``notebooks`` are the names it should hold.

    What lies past the folder limits is moved to ``set_aside``; without one, it is only reported (and
    ``intake.unsafe`` says so). Raises ``OSError`` only if the folder itself cannot be opened.
    """
    intake = Intake(student)
    if path.is_symlink() or path.parent.is_symlink() or not path.is_dir():
        what = describe(path) if os.path.lexists(path) else "missing"
        intake.problems.append(f"Your submission is {what}, not a folder: nothing in it could be graded.")
        intake.ignored.append(path)
        intake.run_notebook = False
        return intake

    top_fd = trees.open_folder(path)
    try:
        present = {name: os.stat(name, dir_fd=top_fd, follow_symlinks=False) for name in os.listdir(top_fd)}
        expected = {f"{name}.ipynb" for name in notebooks}
        others = sorted(name for name, info in present.items()
                        if name.endswith(".ipynb") and name not in expected and stat.S_ISREG(info.st_mode))
        missing = sorted(name for name in expected if name not in present)
        for name in sorted(expected - set(missing)):
            intake.notebook_source[name] = path / name
        if missing:
            if len(missing) == 1 and len(others) == 1:
                intake.notebook_source[missing[0]] = path / others[0]
                intake.problems.append(f"There was no {missing[0]} in your submission; {shown(others[0])} was graded in its place.")
            else:
                found = ", ".join(map(shown, others)) if others else "no notebook at all"
                intake.problems.append(f"There was no {', '.join(missing)} in your submission (found: {found}).")
                if len(missing) == len(expected):
                    intake.run_notebook = False
        never_counted = {*expected, *others, "timestamp.txt"}
        _walk(path, top_fd, intake, limits, set_aside, never_counted)
    finally:
        os.close(top_fd)
    return intake


def _walk(path: Path, top_fd: int, intake: Intake, limits: IntakeLimits, set_aside: SetAside | None,
          never_counted: set[str]) -> None:
    past: dict[str, list[str]] = {"depth": [], "path": [], "entries": []}
    # folders past the limits (moved, or reported when nothing may be moved): what is below them is theirs;
    # folders nbgrader does not copy from (but still walks with os.walk: the limits hold below them too)
    past_folders: set[tuple[str, ...]] = set()
    not_copied: set[tuple[str, ...]] = set()
    entries = total = 0
    for entry in trees.walk(top_fd, limits.folder_depth):
        if past_folders and _below(entry, past_folders):
            continue
        encoded = os.fsencode("/".join(entry.parts))
        relative = encoded.decode("utf-8", "backslashreplace")
        entries += 1
        limit = None
        if len(encoded) > limits.path_bytes:
            limit = "path"
        elif entries > limits.entries and not (entry.depth == 1 and entry.name in never_counted):
            limit = "entries"
        elif entry.is_dir and entry.depth >= limits.folder_depth and _holds_anything(entry):
            limit = "depth"
        if limit is not None:
            past[limit].append(relative)
            if set_aside is None:
                intake.unsafe = intake.unsafe or f"{relative} is past the limits and was not moved"
                intake.ignored.append(path / os.path.join(*entry.parts))
            else:
                why = {"depth": f"more than {limits.folder_depth} levels deep", "entries":
                       f"past the first {limits.entries:,} files and folders", "path":
                       f"a path longer than {limits.path_bytes:,} bytes"}[limit]
                try:
                    intake.set_aside.append(set_aside.move(entry.folder_fd, entry.name, was=relative, why=why,
                                                           beside=path.parent))
                except OSError as error:
                    intake.unsafe = f"{shown(trees.shorten(relative))} could not be set aside ({error.strerror or error})"
                    break  # the rest is not walked: the exporter sets the whole submission aside
            past_folders.add(entry.parts)
            continue
        if not_copied and _below(entry, not_copied):
            continue

        reason = None
        if not is_utf8_name(entry.name):
            reason = "its name is not UTF-8 text"
            not_copied.add(entry.parts)
        elif entry.is_dir:
            if not _readable(entry):
                intake.problems.append(f"{shown(relative)} could not be read (its folder has no permissions for the "
                                       "grader): the files in it were not graded.")
                not_copied.add(entry.parts)
            continue
        elif not entry.is_file:
            reason = f"it is {_describe(entry)}"
        elif entry.name.endswith(".ipynb"):
            continue
        elif entry.name == "timestamp.txt" and entry.depth == 1:
            reason = _valid_timestamp(path / "timestamp.txt")
            if reason is None:
                continue
        else:
            size = entry.info.st_size
            if not served_inert(entry.name):
                reason = why_not_inert(entry.name)
            elif size > limits.file_bytes:
                reason = f"it is larger than {limits.file_bytes / MiB:g} MiB"
            elif total + size > limits.total_file_bytes:
                reason = f"the files before it already take {limits.total_file_bytes / MiB:g} MiB"
            else:
                total += size
                continue
        intake.ignored.append(path / os.path.join(*entry.parts))
        intake.problems.append(f"{shown(relative)} was not graded: {reason}.")
    intake.problems.extend(_set_aside_sentences(past, limits))
