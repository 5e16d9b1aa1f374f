"""What a student submitted, taken in without trusting it: the notebook and the files beside it.

``scan_submission`` looks at one ``submitted/<student>/<assignment>`` entry without following a
link and says what is wrong with it: no folder, no notebook, a notebook under another name, files
that must not be copied (links, FIFOs and devices, files too large, names that are not UTF-8), a
``timestamp.txt`` nbgrader cannot read. ``read_notebook`` reads a notebook file and says why it is
not one (missing, a link, too large, not UTF-8, not JSON, not a notebook nbformat can upgrade).

Every problem becomes a sentence for the student (at the top of their graded notebook, hence their
feedback) and a line in the run's log. Nothing here deletes what a student submitted.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

MiB = 2**20


@dataclass
class Intake:
    """What grading found wrong with one student's submission, and what it did about it."""

    student: str
    problems: list[str] = field(default_factory=list)  # sentences for the student and the log
    ignored: list[Path] = field(default_factory=list)  # files not copied into the graded folder
    notebook_source: dict[str, Path] = field(default_factory=dict)  # expected notebook -> file it is read from
    run_notebook: bool = True  # False: there is nothing of the student's to run

    def summary(self) -> str:
        return " ".join(self.problems) if self.problems else "nothing to report"


@dataclass(frozen=True)
class IntakeLimits:
    notebook_bytes: int = 256 * MiB  # a notebook larger than this is not read at all
    large_notebook_bytes: int = 16 * MiB  # a notebook larger than this is read, with a note about its outputs
    file_bytes: int = 16 * MiB  # an extra file larger than this is not copied
    total_file_bytes: int = 64 * MiB  # nor extra files past this total


class NotANotebook(ValueError):
    """The file cannot be graded as a notebook; the message says why, for the student."""


def _is_utf8_name(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # os.fsdecode keeps undecodable bytes as lone surrogates
        return False
    return True


def shown(path: Path | str) -> str:
    """A path as a student or a log should see it: quoted, escapes for what is not printable UTF-8."""
    return repr(os.fsencode(str(path)).decode("utf-8", "backslashreplace"))


def _describe(path: Path) -> str:
    mode = os.lstat(path).st_mode
    if stat.S_ISLNK(mode):
        return f"a link to {shown(os.readlink(path))}"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISREG(mode):
        return "a file"
    return "a special file (FIFO, socket or device)"


def read_notebook(path: Path, limits: IntakeLimits = IntakeLimits()) -> nbformat.NotebookNode:
    """The notebook at ``path`` as nbformat 4, or ``NotANotebook`` saying why it cannot be one."""
    name = shown(path.name)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        raise NotANotebook(f"there is no {name}") from None
    if not stat.S_ISREG(info.st_mode):
        raise NotANotebook(f"{name} is {_describe(path)}, not a notebook file")
    if info.st_size == 0:
        raise NotANotebook(f"{name} is empty (0 bytes)")
    if info.st_size > limits.notebook_bytes:
        raise NotANotebook(f"{name} is {info.st_size / MiB:,.0f} MiB, more than the {limits.notebook_bytes / MiB:,.0f} MiB "
                           "a notebook may take; clear its outputs (Kernel → Restart Kernel and Clear Outputs) and save it")
    with open(path, "rb") as handle:
        data = handle.read(limits.notebook_bytes + 1)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise NotANotebook(f"{name} is not UTF-8 text (byte {error.start}): it is not a saved notebook") from None
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise NotANotebook(f"{name} is not JSON ({str(error)[:120]}): it is not a saved notebook") from None
    if not isinstance(document, dict) or "cells" not in document and "worksheets" not in document:
        raise NotANotebook(f"{name} is JSON but not a notebook (it has no cells)")
    try:
        notebook = nbformat.from_dict(nbformat.reads(text, as_version=4))  # an upgrade may return another node class
    except Exception as error:  # noqa: BLE001 — nbformat raises many kinds for unreadable versions
        version = document.get("nbformat")
        raise NotANotebook(f"{name} is a notebook nbformat cannot read (format version {version!r}: "
                           f"{type(error).__name__}: {str(error)[:120]})") from None
    try:
        nbformat.validate(notebook)
    except nbformat.ValidationError:
        _, repaired = nbformat.validator.normalize(notebook, strip_invalid_metadata=True)
        notebook = nbformat.from_dict(repaired)
        try:
            nbformat.validate(notebook)
        except nbformat.ValidationError as error:
            raise NotANotebook(f"{name} does not follow the notebook format ({str(error.message)[:160]})") from None
    return notebook


def _valid_timestamp(path: Path) -> str | None:
    """Why nbgrader could not read this ``timestamp.txt`` (it would stop the whole run), or None."""
    from nbgrader.utils import parse_utc

    if not stat.S_ISREG(os.lstat(path).st_mode):
        return f"timestamp.txt is {_describe(path)}"
    if os.path.getsize(path) > 1000:
        return "timestamp.txt is not a timestamp (too long)"
    try:
        text = path.read_text(encoding="utf-8").strip()
        if text:
            parse_utc(text)
    except (UnicodeDecodeError, ValueError, OverflowError):
        return "timestamp.txt does not hold a readable time"
    return None


def scan_submission(path: Path, student: str, notebooks: list[str], limits: IntakeLimits = IntakeLimits()) -> Intake:
    """Look at ``submitted/<student>/<assignment>`` (``path``); ``notebooks`` are the names it should hold."""
    intake = Intake(student)
    if path.is_symlink() or path.parent.is_symlink() or not path.is_dir():
        what = _describe(path) if os.path.lexists(path) else "missing"
        intake.problems.append(f"Your submission is {what}, not a folder: nothing in it could be graded.")
        intake.ignored.append(path)
        intake.run_notebook = False
        return intake

    present = {entry.name: entry for entry in os.scandir(path)}
    expected = {f"{name}.ipynb" for name in notebooks}
    others = sorted(name for name, entry in present.items()
                    if name.endswith(".ipynb") and name not in expected and entry.is_file(follow_symlinks=False))
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

    total = 0
    for folder, dirs, files in os.walk(path):  # does not follow links
        for name in sorted(dirs + files):
            full = Path(folder) / name
            relative = full.relative_to(path)
            if not _is_utf8_name(name):
                reason = "its name is not UTF-8 text"
            else:
                mode = os.lstat(full).st_mode
                if stat.S_ISDIR(mode):
                    continue
                if not stat.S_ISREG(mode):
                    reason = f"it is {_describe(full)}"
                elif name.endswith(".ipynb"):
                    continue
                elif name == "timestamp.txt" and folder == str(path):
                    reason = _valid_timestamp(full)
                    if reason is None:
                        continue
                else:
                    size = os.lstat(full).st_size
                    if size > limits.file_bytes:
                        reason = f"it is larger than {limits.file_bytes / MiB:g} MiB"
                    elif total + size > limits.total_file_bytes:
                        reason = f"the files before it already take {limits.total_file_bytes / MiB:g} MiB"
                    else:
                        total += size
                        continue
            intake.ignored.append(full)
            intake.problems.append(f"{shown(relative)} was not graded: {reason}.")
    return intake
