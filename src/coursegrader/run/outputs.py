"""What a kernel's messages may leave in a graded notebook: inert output types only, within a budget.

Only text, LaTeX and raster images are kept (``SAFE_MIME_TYPES``): no HTML, SVG or JavaScript from a
submission reaches a browser. ``OutputBudget`` counts what a cell and the whole notebook print and
says when to stop keeping it: a stream is cut at the cap's very character, so what is kept of a cell that
prints on does not depend on how the kernel happened to split its printing into messages (which varies
with the machine's load).
"""

from __future__ import annotations

from nbformat.v4 import new_output

SAFE_MIME_TYPES = ("text/plain", "text/latex", "image/png", "image/jpeg", "image/gif")


def text_size(value) -> int:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict):
        return sum(text_size(item) for item in value.values())
    if isinstance(value, (list, tuple)):
        return sum(text_size(item) for item in value)
    return 8


def inert(msg: dict) -> dict:
    """``msg`` with only the safe MIME types of a display or result message (a note where none is left)."""
    content = msg.get("content", {})
    if msg.get("msg_type") in ("display_data", "execute_result") and isinstance(content.get("data"), dict):
        kept = {mime: value for mime, value in content["data"].items() if mime in SAFE_MIME_TYPES}
        if not kept:
            kept = {"text/plain": f"[{', '.join(sorted(map(str, content['data'])))[:80]} output removed by the grader]"}
        msg = {**msg, "content": {**content, "data": kept}}
    return msg


class OutputBudget:
    """How much a cell and the notebook have printed, against the caps of each."""

    def __init__(self, cell_bytes: int, notebook_bytes: int):
        self.cell_bytes, self.notebook_bytes = cell_bytes, notebook_bytes
        self.notebook_used = 0
        self.new_cell()

    def new_cell(self) -> None:
        self.cell_used = 0
        self.cut = False

    def spend(self, msg: dict) -> list | None:
        """Count ``msg``. None: keep it. Otherwise the outputs to keep in its place: once the cell or the
        notebook goes past its cap, the part of a stream's text that is within it, then the note (once per
        cell); nothing after that. A stream counts the characters of its text."""
        content = msg.get("content", {})  # what a kernel sent: of any shape
        stream = (msg.get("msg_type") == "stream" and isinstance(content, dict) and isinstance(content.get("text"), str)
                  and content.get("name") in ("stdout", "stderr"))
        size = len(content["text"]) if stream else text_size(content)
        cell_room, notebook_room = self.cell_bytes - self.cell_used, self.notebook_bytes - self.notebook_used
        self.cell_used += size
        self.notebook_used += size
        if size <= min(cell_room, notebook_room):
            return None
        if self.cut:
            return []
        self.cut = True
        over_cell = size > cell_room
        limit = self.cell_bytes if over_cell else self.notebook_bytes
        room = min(cell_room, notebook_room)
        within = [new_output("stream", name=content["name"], text=content["text"][:room])] if stream and room > 0 \
            else []
        return within + [new_output("stream", name="stdout", text=(
            f"\n[output cut by the grader: more than {limit:,} characters"
            f"{' in this cell' if over_cell else ' in this notebook'}]\n"))]


def coalesce_streams(outputs: list) -> list:
    """A cell's outputs with one stream output per stream name, exactly as nbclient's ``coalesce_streams`` gives
    them, in time linear in their length.

    nbclient drops what a carriage return overwrites with a regular expression (``.*\\r(?=[^\\n])``) whose
    cost grows with the square of a line's length: a line of a million characters, which any student can
    print, kept the grading process busy for many minutes. Here each line is cut once, after its last
    carriage return that more of the line follows. (nbclient's backspace handling never runs: its loop
    starts with equal lengths.)
    """
    kept, streams = [], {}
    for output in outputs:
        if output.get("output_type") == "stream":
            name = output.get("name")
            if name in streams:
                streams[name]["text"] += output.get("text", "")
                continue
            streams[name] = output
        kept.append(output)
    for output in streams.values():
        if "\r" in output.get("text", ""):
            output["text"] = "\n".join(_after_carriage_return(line) for line in output["text"].split("\n"))
    for index, output in enumerate(kept):  # stdout before stderr where they follow each other
        if (output.get("output_type") == "stream" and output.get("name") == "stderr" and index + 1 < len(kept)
                and kept[index + 1].get("output_type") == "stream" and kept[index + 1].get("name") == "stdout"):
            kept.insert(index, kept.pop(index + 1))
    return kept


def _after_carriage_return(line: str) -> str:
    carriage = line.rfind("\r", 0, len(line) - 1)  # the last one with more of the line after it
    return line[carriage + 1:] if carriage >= 0 else line
