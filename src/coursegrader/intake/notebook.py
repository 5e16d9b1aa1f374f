"""A notebook file taken in without trusting it: ``read_notebook`` reads it, or says why it is not one.

Missing, a link, empty, too large, not UTF-8, not JSON, not a notebook, of a format version nbformat
cannot upgrade, past a structure limit: each is a ``NotANotebook`` whose message is a sentence for
the student that names the limit and says how to fix it. The limits (``IntakeLimits``) are the
submission's as a whole: ``coursegrader.intake.submission`` uses them too.

The file is parsed as a stream (``coursegrader.intake.notebook_json``): saved outputs are counted and
dropped without being built (nbgrader's ``ClearOutput`` clears them before grading anyway), and what is
kept is bounded by the limits (code and text 4 MiB, attachments 16 MiB, metadata 4 MiB, 200,000 values,
1,000 cells), so reading one notebook adds at most about 50 MiB to the process whatever the file
holds: 48 MiB for a notebook just within every limit at once with 200 MiB of outputs besides, 16 MiB
for one output text of 250 MiB, 10 MiB for a normal notebook (``benchmarks/intake.py``). Reading
takes at most a couple of seconds: the parser meets every byte of a 256 MiB file once, and stops at
2,000,000 values in saved outputs.

An nbformat 3 notebook is read under the same limits and upgraded to nbformat 4.
"""

from __future__ import annotations

import dataclasses
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import nbformat

from coursegrader.intake.notebook_json import JsonLimits, NotUtf8, OverLimit, parse_notebook_json

MiB = 2**20


@dataclass(frozen=True)
class IntakeLimits:
    notebook_bytes: int = 256 * MiB  # a notebook larger than this is not read at all
    large_notebook_bytes: int = 16 * MiB  # a notebook larger than this is read, with a note about its outputs
    file_bytes: int = 16 * MiB  # an extra file larger than this is not copied
    total_file_bytes: int = 64 * MiB  # nor extra files past this total
    # a notebook's structure (read_notebook): past any of these it is not graded, with a message naming it
    cells: int = 1_000
    source_bytes: int = 4 * MiB  # the code and text of all cells (characters)
    attachments: int = 100  # images pasted into markdown cells
    attachment_bytes: int = 16 * MiB
    json_depth: int = 64  # nesting of JSON lists and maps (Jupyter writes 6 or so)
    values: int = 200_000  # JSON values outside saved outputs: lines of source, metadata entries
    metadata_bytes: int = 4 * MiB  # text of the notebook's and cells' metadata, keys included
    output_values: int = 2_000_000  # JSON values in saved outputs, which are dropped unbuilt but cost time
    text_bytes: int = 8 * MiB  # one JSON text: a longer one is cut short unread, and refused unless in saved outputs
    # a submission folder's tree (scan_submission): what lies past these is set aside, not graded
    folder_depth: int = 16  # levels of folders below the submission folder
    entries: int = 1_000  # files and folders
    path_bytes: int = 1_024  # of a path inside the submission folder

    def json_limits(self) -> JsonLimits:
        return JsonLimits(file_bytes=self.notebook_bytes, text_bytes=self.text_bytes, depth=self.json_depth,
                          values=self.values, output_values=self.output_values, cells=self.cells,
                          source_bytes=self.source_bytes, attachments=self.attachments,
                          attachment_bytes=self.attachment_bytes, metadata_bytes=self.metadata_bytes)

    def for_graded(self) -> "IntakeLimits":
        """Limits for a notebook the grader wrote from one within these, with its notes and the cells it put
        back from the release added (a release within these limits too)."""
        doubled = ("cells", "source_bytes", "attachments", "attachment_bytes", "values", "metadata_bytes", "text_bytes")
        return dataclasses.replace(self, **{name: 2 * getattr(self, name) + 1 for name in doubled})


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


def _over_message(name: str, over: OverLimit, limits: IntakeLimits) -> str:
    """The sentence for the student: which limit, and how to fix it."""
    clear = "clear its outputs (Kernel → Restart Kernel and Clear Outputs) and save it"
    fresh = "copy your answers into a fresh copy of the released notebook and submit that"
    mib = lambda size: f"{size / MiB:,.4g} MiB" if size >= MiB else f"{size / 2**10:,.4g} KiB"  # noqa: E731
    if over.limit == "text_bytes":
        return (f"{name} holds a single text of more than {mib(limits.text_bytes)} outside its outputs (a pasted image, "
                "a cell, or metadata), more than a notebook may; paste smaller images, and keep data in a file beside "
                "the notebook")
    if over.limit == "file_bytes":
        return f"{name} grew past the {mib(limits.notebook_bytes)} a notebook may take while it was read; {clear}"
    if over.limit == "depth":
        where = "in its saved outputs" if over.in_outputs else "outside its outputs (in metadata)"
        return (f"{name} is nested more than {limits.json_depth} levels deep {where}, deeper than a notebook may be; "
                + (clear if over.in_outputs else fresh))
    if over.limit == "output_values":
        return (f"{name} holds more than {limits.output_values:,} lines and values of saved outputs, more than a "
                f"notebook may; {clear}")
    if over.limit == "cells":
        return (f"{name} has more than {limits.cells:,} cells, more than a notebook may have; merge or delete the "
                "cells you added and save it")
    if over.limit == "source_bytes":
        return (f"{name} holds more than {mib(limits.source_bytes)} of code and text in its cells, more than a "
                "notebook may; keep data in a file beside the notebook and read it from there")
    if over.limit == "values":
        return (f"{name} holds more than {limits.values:,} lines and values outside its outputs (code, text, "
                f"metadata), more than a notebook may; keep data in a file beside the notebook, or {fresh}")
    if over.limit == "attachments":
        return (f"{name} has more than {limits.attachments:,} attachments (images pasted into markdown cells), more "
                "than a notebook may; delete some, or submit the images as files beside the notebook")
    if over.limit == "attachment_bytes":
        return (f"{name} has more than {mib(limits.attachment_bytes)} of attachments (images pasted into markdown "
                "cells), more than a notebook may; paste fewer or smaller images")
    return f"{name} has more than {mib(limits.metadata_bytes)} of metadata, more than a notebook may; {fresh}"


def read_notebook(path: Path, limits: IntakeLimits = IntakeLimits()) -> nbformat.NotebookNode:
    """The notebook at ``path`` as nbformat 4, saved outputs cleared, or ``NotANotebook`` saying why it cannot be one.

    Never follows a link, never blocks on a FIFO; any limit of ``limits`` passed is named in the message.
    """
    name = shown(path.name)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        raise NotANotebook(f"there is no {name}") from None
    except OSError as error:
        raise NotANotebook(f"{name} could not be read ({error.strerror})") from None
    if not stat.S_ISREG(info.st_mode):
        raise NotANotebook(f"{name} is {describe(path)}, not a notebook file")
    if info.st_size == 0:
        raise NotANotebook(f"{name} is empty (0 bytes)")
    if info.st_size > limits.notebook_bytes:
        raise NotANotebook(f"{name} is {info.st_size / MiB:,.0f} MiB, more than the {limits.notebook_bytes / MiB:,.0f} MiB "
                           "a notebook may take; clear its outputs (Kernel → Restart Kernel and Clear Outputs) and save it")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as error:
        raise NotANotebook(f"{name} could not be read ({error.strerror})") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # replaced since lstat
            raise NotANotebook(f"{name} is not a notebook file")
        document, _dropped = parse_notebook_json(fd, limits.json_limits())
    except OverLimit as over:
        raise NotANotebook(_over_message(name, over, limits)) from None
    except NotUtf8 as error:
        raise NotANotebook(f"{name} is not UTF-8 text (byte {error.offset}): it is not a saved notebook") from None
    except ValueError as error:
        raise NotANotebook(f"{name} is not JSON ({str(error)[:120]}): it is not a saved notebook") from None
    except OSError as error:
        raise NotANotebook(f"{name} could not be read ({error.strerror})") from None
    finally:
        os.close(fd)
    if not isinstance(document, dict) or "cells" not in document and "worksheets" not in document:
        raise NotANotebook(f"{name} is JSON but not a notebook (it has no cells)")
    try:  # as nbformat.reads does after its json.loads
        major, minor = nbformat.reader.get_version(document)
        if major not in nbformat.versions:
            raise nbformat.NBFormatError(f"Unsupported nbformat version {major}")
        try:
            notebook = nbformat.versions[major].to_notebook_json(document, minor=minor)
        except AttributeError as error:
            raise nbformat.ValidationError(f"The notebook is invalid and is missing an expected key: {error}") from None
        notebook = nbformat.from_dict(nbformat.convert(notebook, 4))  # an upgrade may return another node class
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
