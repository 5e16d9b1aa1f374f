"""What a test cell handed over, taken out of the sandbox's reach right after the cell ran.

The kernel writes the two files of a test cell (``coursekit.handover``: a JSON document and an
``.npz``) into the handover folder; the grader reads them here, through a descriptor of that folder,
without following a link and with size limits, and empties the folder before and after each test cell.
``coursegrader.verdicts`` decides on what was read.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass

from coursegrader.files import trees
from coursekit import handover


@dataclass(frozen=True)
class HandedOver:
    """The two files a test cell handed over, read by the grader right after the cell ran."""

    document: bytes
    arrays: bytes


@dataclass(frozen=True)
class NotHandedOver:
    reason: str  # why nothing usable came from this test cell, in words for the student


def read_regular_file(name: str, folder_fd: int, max_bytes: int) -> bytes | str:
    """The bytes of the file ``name`` in the folder ``folder_fd``, if it is a regular file (not a link) of at most
    ``max_bytes``; else why not."""
    try:
        descriptor = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=folder_fd)
    except FileNotFoundError:
        return "missing"
    except OSError as error:
        return f"unreadable ({error.strerror})"
    with os.fdopen(descriptor, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            return "not a regular file"
        if info.st_size > max_bytes:
            return f"larger than {max_bytes:,} bytes"
        return handle.read(max_bytes + 1)[:max_bytes]


def empty_folder(folder_fd: int) -> None:
    """Remove everything in the handover folder, however deep, without following links."""
    trees.empty_folder(folder_fd)


def take_handover(folder_fd: int, grade_id: str, limits: handover.Limits) -> HandedOver | NotHandedOver:
    document_name, arrays_name = handover.file_names(grade_id)
    document = read_regular_file(document_name, folder_fd, limits.json_bytes)
    arrays = read_regular_file(arrays_name, folder_fd, limits.npz_bytes)
    if isinstance(document, bytes) and isinstance(arrays, bytes):
        return HandedOver(document, arrays)
    problem = document if isinstance(document, str) else arrays
    if problem == "missing":
        return NotHandedOver("this test cell handed no results to the grader (did something in the notebook replace "
                             "or stop `run_check`?)")
    return NotHandedOver(f"the results this test cell handed over were {problem}")
