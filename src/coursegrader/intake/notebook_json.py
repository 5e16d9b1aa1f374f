"""A notebook file's JSON, parsed as a stream within limits: saved outputs are counted and dropped unbuilt.

``parse_notebook_json`` reads the file in chunks through ijson's C parser (yajl) and builds the
document one event at a time, with no recursion. What it keeps is bounded by the limits it is given;
what it drops (every code cell's saved ``outputs``, which nbgrader's ``ClearOutput`` clears before
grading anyway) is never built. Past any limit it stops at once with ``OverLimit``, naming the limit.

Two guards sit between the file and the parser (``_Chunks``):

- the bytes are checked as UTF-8 as they are read, and reading stops past the byte limit (a file
  that grows while read is caught too);
- a JSON text (the bytes between two unescaped quotes) longer than ``text_bytes`` is cut short, and
  the rest of it skipped unread. yajl rescans a text it has buffered each time a chunk arrives, so one
  text of 250 MiB took 430 s in 64 KiB chunks; and it holds the whole text, twice, before Python gets
  it, growing its buffer by doubling (a text of ``text_bytes`` costs about four times that at its peak).
  Saved outputs may hold texts that long (an image, an embedded video), and are dropped; a cut text
  anywhere else is refused (``OverLimit("text_bytes")``): the parser yields it as the very next text
  (``Dropped.cut_pending``). A cut never splits an escape or a UTF-8 character.

The parser gets the bytes in pieces of at most 64 KiB (ijson turns a whole piece into events before
it yields the first), except inside a long text, where a piece runs to the text's end or the chunk's.

Not covered: numbers are parsed as Python parses them (yajl refuses an overflowing float; an integer
of more than 4,300 digits is an error, as for ``json.loads``); duplicate keys keep the last value.
"""

from __future__ import annotations

import codecs
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass

import ijson

_ESCAPE = re.compile(rb"\\.", re.DOTALL)  # a backslash and the byte it escapes
_PAIR = b"\x01\x02"  # stands in for an escape while looking for quotes; JSON text never holds raw 0x01 or 0x02
_BOM = codecs.BOM_UTF8
PIECE = 2**16


class OverLimit(Exception):
    """The document passed a limit: ``limit`` names which, ``in_outputs`` says whether inside saved outputs."""

    def __init__(self, limit: str, in_outputs: bool = False):
        super().__init__(limit)
        self.limit, self.in_outputs = limit, in_outputs


class NotUtf8(Exception):
    def __init__(self, offset: int):
        super().__init__(offset)
        self.offset = offset


@dataclass(frozen=True)
class JsonLimits:
    """What ``parse_notebook_json`` keeps and reads at most (see ``coursegrader.intake.notebook.IntakeLimits``)."""

    file_bytes: int
    text_bytes: int
    depth: int
    values: int  # JSON values kept: everything outside saved outputs
    output_values: int
    cells: int
    source_bytes: int
    attachments: int
    attachment_bytes: int
    metadata_bytes: int


@dataclass
class Dropped:
    """What was read and not kept."""

    outputs: int = 0  # saved outputs
    output_values: int = 0
    texts_cut: int = 0
    # A text was cut short, and the parser has not yet yielded it: ijson parses a piece into events only once
    # read() has returned it, and the cut text is unfinished then, so the next text or key it yields is that one.
    cut_pending: bool = False


# -----------------------------------------------------------------------------
# bytes


class _Chunks:
    """The file's bytes as ijson reads them (``read``): UTF-8 checked, bounded, over-long texts cut short."""

    def __init__(self, fd: int, limits: JsonLimits, dropped: Dropped):
        self.fd, self.limits, self.dropped = fd, limits, dropped
        self.chunk = max(1, min(2**20, limits.text_bytes // 4))  # so one chunk never holds a whole over-long text
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.read_bytes = 0
        self.carry = b""  # the start of an escape or a UTF-8 character, finished in the next chunk
        self.run = 0  # bytes passed on since the last unescaped quote
        self.skipping = False  # inside a text past ``text_bytes``
        self.done = False
        # checked bytes not yet handed to the parser, the same with escapes blanked, and where the next piece starts
        self.data, self.cleaned, self.offset = b"", b"", 0
        self.in_text = False  # whether the next piece starts inside a JSON text

    def read(self, size: int = -1) -> bytes:
        """The next piece for the parser: ``PIECE`` bytes at most, since ijson turns a whole piece into events
        before it yields one (64 KiB of ``0,`` are 32,768 events); inside a text, the rest of the text in the
        chunk, since yajl rescans a text it buffers each time a piece arrives."""
        if size == 0:
            return b""
        while self.offset == len(self.data):
            if self.done:
                return b""
            self.data, self.cleaned = self._next()
            self.offset = 0
        start = self.offset
        quote = self.cleaned.find(b'"', start) if self.in_text else start
        if quote < 0 or quote - start > PIECE:  # a long text: to its end, or the chunk's
            end = len(self.data) if quote < 0 else quote + 1
            self.in_text = quote < 0
        else:
            end = min(len(self.data), start + PIECE)
            self.in_text ^= self.cleaned.count(b'"', start, end) & 1
        self.offset = end
        return self.data[start:end]

    def _raw(self) -> bytes:
        raw = os.read(self.fd, self.chunk)
        pending = len(self.decoder.getstate()[0])
        try:
            self.decoder.decode(raw, final=not raw)
        except UnicodeDecodeError as error:
            raise NotUtf8(self.read_bytes - pending + error.start) from None
        if raw and self.read_bytes == 0 and raw.startswith(_BOM):
            raw = raw[len(_BOM):]
            self.read_bytes += len(_BOM)
        self.read_bytes += len(raw)
        if self.read_bytes > self.limits.file_bytes:
            raise OverLimit("file_bytes")
        return raw

    def _next(self) -> tuple[bytes, bytes]:
        """The next chunk's bytes to pass on, and the same with escapes blanked (for finding quotes)."""
        raw = self._raw()
        if not raw:
            self.done = True
            return (b"", b"") if self.skipping else (self.carry, self.carry)
        data, self.carry = self.carry + raw, b""
        cleaned = _ESCAPE.sub(_PAIR, data)
        keep = _unfinished(data, cleaned)
        if keep:
            self.carry, data, cleaned = data[-keep:], data[:-keep], cleaned[:-keep]
        first = cleaned.find(b'"')
        if self.skipping:
            if first < 0:
                return b"", b""
            self.skipping, self.run = False, 0
            data, cleaned, first = data[first:], cleaned[first:], 0
        lead = first if first >= 0 else len(data)
        if self.run + lead <= self.limits.text_bytes:
            last = cleaned.rfind(b'"')
            self.run = self.run + len(data) if last < 0 else len(data) - last - 1
            return data, cleaned
        # the text that runs on from before passes the limit here: keep its start, and skip to its end
        cut = _safe_cut(data, cleaned, self.limits.text_bytes - self.run)
        self.dropped.texts_cut += 1
        self.dropped.cut_pending = True
        if first < 0:
            self.skipping = True
            return data[:cut], cleaned[:cut]
        data, cleaned = data[:cut] + data[first:], cleaned[:cut] + cleaned[first:]
        self.run = len(data) - cleaned.rfind(b'"') - 1
        return data, cleaned


def _unfinished(data: bytes, cleaned: bytes) -> int:
    """How many bytes at the end of ``data`` begin an escape or a UTF-8 character that the next chunk finishes:
    they wait for it, so that neither ever spans two chunks."""
    if cleaned.endswith(b"\\"):
        return 1
    tail = cleaned[-5:]
    pair = tail.rfind(_PAIR)
    if pair >= 0 and data[len(data) - len(tail) + pair + 1] == ord("u"):  # \\u and fewer than four hex digits
        return len(tail) - pair
    for back in range(1, min(3, len(data)) + 1):
        byte = data[-back]
        if byte < 0x80:
            return 0
        if byte >= 0xC0:  # the first byte of a character of 2, 3 or 4 bytes
            return back if (2 if byte < 0xE0 else 3 if byte < 0xF0 else 4) > back else 0
    return 0


def _safe_cut(data: bytes, cleaned: bytes, cut: int) -> int:
    """``cut``, moved back so that it splits neither an escape (``\\n``, ``\\u00e9``) nor a UTF-8 character."""
    while cut > 0 and (cleaned[cut] == _PAIR[1] or 0x80 <= data[cut] < 0xC0):
        cut -= 1
    for back in range(2, 6):  # inside the four hex digits of a \\uXXXX
        start = cut - back
        if start >= 0 and cleaned[start:start + 2] == _PAIR and data[start + 1:start + 2] == b"u":
            return start
    return cut


# -----------------------------------------------------------------------------
# events

# What a container is, from its parent and key: only these matter to the limits.
ROOT, CELLS, CELL, SOURCE, ATTACHMENTS, ATTACHMENT, OTHER, WORKSHEETS, WORKSHEET = range(9)


def _role(parent: int, key: str | None, is_map: bool) -> int | None:
    """The role of a new container; None for saved outputs (dropped)."""
    if parent == ROOT:
        if not is_map and key == "cells":
            return CELLS
        if not is_map and key == "worksheets":  # nbformat 3
            return WORKSHEETS
    elif parent == CELLS or parent == WORKSHEETS:
        if is_map:
            return CELL if parent == CELLS else WORKSHEET
    elif parent == WORKSHEET:
        if not is_map and key == "cells":
            return CELLS
    elif parent == CELL:
        if not is_map and key == "outputs":
            return None
        if not is_map and key in ("source", "input"):
            return SOURCE
        if is_map and key == "attachments":
            return ATTACHMENTS
    elif parent in (SOURCE, ATTACHMENTS, ATTACHMENT):
        return SOURCE if parent == SOURCE else ATTACHMENT
    return OTHER


def _skip_outputs(events: Iterator[tuple[str, object]], limits: JsonLimits, dropped: Dropped, depth: int) -> int:
    """Count, and drop, the events of a saved ``outputs`` array up to its end; return the depth after it."""
    nested, count = 1, dropped.output_values
    for event, _value in events:
        if event == "end_map" or event == "end_array":
            nested -= 1
            depth -= 1
            if not nested:
                dropped.cut_pending = False  # a text cut short in here is dropped with the rest
                break
            continue
        count += 1
        if count > limits.output_values:
            raise OverLimit("output_values", in_outputs=True)
        if event == "start_map" or event == "start_array":
            nested += 1
            depth += 1
            if depth > limits.depth:
                raise OverLimit("depth", in_outputs=True)
            if nested == 2:
                dropped.outputs += 1
    dropped.output_values = count
    return depth


def _build(events: Iterator[tuple[str, object]], limits: JsonLimits, dropped: Dropped):
    """The document the events describe, saved outputs left empty; ``OverLimit`` past any limit."""
    root = None
    stack: list[tuple[object, int]] = []  # (container, role), innermost last
    key = None  # the key of the value to come, in a map
    depth = values = cells = source = attachments = attachment_bytes = metadata = 0
    for event, value in events:
        if event == "end_map" or event == "end_array":
            depth -= 1
            stack.pop()
            continue
        values += 1
        if values > limits.values:
            raise OverLimit("values")
        parent, role = stack[-1] if stack else (None, ROOT)
        if event == "map_key":
            key = value
            if dropped.cut_pending:  # this key was cut short: refused wherever it is kept
                raise OverLimit("text_bytes")
            if role == ATTACHMENTS:
                attachments += 1
                if attachments > limits.attachments:
                    raise OverLimit("attachments")
            elif role != ATTACHMENT:
                metadata += len(value)
                if metadata > limits.metadata_bytes:
                    raise OverLimit("metadata_bytes")
            continue
        new_role = None
        if event == "start_map" or event == "start_array":
            depth += 1
            if depth > limits.depth:
                raise OverLimit("depth")
            is_map = event == "start_map"
            if not stack:
                new_role = ROOT if is_map else OTHER
            else:
                new_role = _role(role, key if type(parent) is dict else None, is_map)
            if new_role is None:  # a cell's saved outputs: kept empty, their events dropped
                depth = _skip_outputs(events, limits, dropped, depth)
                new = []
            else:
                new = {} if is_map else []
                if new_role == CELL:
                    cells += 1
                    if cells > limits.cells:
                        raise OverLimit("cells")
        else:  # a scalar
            new = value
            if type(value) is str:
                if role == SOURCE or role == CELL and key in ("source", "input"):
                    source += len(value)
                    over = "source_bytes" if source > limits.source_bytes else None
                elif role == ATTACHMENT:
                    attachment_bytes += len(value)
                    over = "attachment_bytes" if attachment_bytes > limits.attachment_bytes else None
                else:
                    metadata += len(value)
                    over = "metadata_bytes" if metadata > limits.metadata_bytes else None
                if dropped.cut_pending:  # this text was cut short: refused wherever it is kept
                    over = "text_bytes"
                if over is not None:
                    raise OverLimit(over)
        if not stack:
            root = new
        elif type(parent) is dict:
            parent[key] = new
        else:
            parent.append(new)
        if new_role is not None:
            stack.append((new, new_role))
    return root


def parse_notebook_json(fd: int, limits: JsonLimits) -> tuple[object, Dropped]:
    """The JSON document in the open file ``fd``, saved outputs dropped, and what was dropped.

    Raises ``OverLimit``, ``NotUtf8``, or ``ValueError`` (the bytes are not JSON, with yajl's reason).
    """
    dropped = Dropped()
    chunks = _Chunks(fd, limits, dropped)
    events = ijson.basic_parse(chunks, buf_size=chunks.chunk, use_float=True)
    try:
        return _build(events, limits, dropped), dropped
    except (OverLimit, NotUtf8):
        raise
    except ijson.JSONError as error:
        raise ValueError(str(error).splitlines()[0] if str(error) else type(error).__name__) from None
    except Exception as error:  # noqa: BLE001 — yajl's number conversions fail in several ways
        raise ValueError(f"{type(error).__name__}: {str(error)[:120]}") from None
