"""A notebook file taken in without trusting it: ``read_notebook`` reads it, or says why it is not one.

Missing, a link, empty, too large, not UTF-8, not JSON, not a notebook, of a format version nbformat
cannot upgrade: each is a ``NotANotebook`` whose message is a sentence for the student. The limits
(``IntakeLimits``) are the submission's as a whole: ``coursegrader.intake.submission`` uses them too.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import nbformat

MiB = 2**20


@dataclass(frozen=True)
class IntakeLimits:
    notebook_bytes: int = 256 * MiB  # a notebook larger than this is not read at all
    large_notebook_bytes: int = 16 * MiB  # a notebook larger than this is read, with a note about its outputs
    file_bytes: int = 16 * MiB  # an extra file larger than this is not copied
    total_file_bytes: int = 64 * MiB  # nor extra files past this total


class NotANotebook(ValueError):
    """The file cannot be graded as a notebook; the message says why, for the student."""



def is_utf8_name(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # os.fsdecode keeps undecodable bytes as lone surrogates
        return False
    return True


def shown(path: Path | str) -> str:
    """A path as a student or a log should see it: quoted, escapes for what is not printable UTF-8."""
    return repr(os.fsencode(str(path)).decode("utf-8", "backslashreplace"))


def describe(path: Path) -> str:
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
        raise NotANotebook(f"{name} is {describe(path)}, not a notebook file")
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

