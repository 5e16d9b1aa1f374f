"""A cap on what one cell may print, enforced inside the kernel.

ipykernel buffers a cell's printing in memory and sends it every 0.2 s; a loop that prints megabytes
at a time fills that buffer faster than anyone can read it, and on a busy machine it reaches gigabytes
before an interrupt from outside arrives. With the cap installed, a cell that prints more than
``limit`` characters (stdout and stderr together) is stopped by ``OutputLimitExceeded`` at the write that
crosses it, and nothing past the cap is buffered: the runaway cell fails, the kernel and the cells after
it carry on.

The grader installs it in every kernel it starts (``coursegrader.kernel``). It is a courtesy to the
student's other cells, not a security boundary: code that removes it only loses that courtesy, and the
grader still caps output, memory and time from outside the kernel.
"""

from __future__ import annotations

import sys


class OutputLimitExceeded(BaseException):
    """Raised by a write that takes a cell past its output cap. A ``BaseException``, like
    ``KeyboardInterrupt``, so that ``except Exception`` in a printing loop does not keep it looping."""


class _Cap:
    """Counts what the current cell printed; wraps each stream's ``write`` when a cell starts.

    IPython wraps ``sys.stdout.write`` and ``sys.stderr.write`` around every cell (to keep the cell's
    output in its history) and puts the previous ``write`` back afterwards, so the cap is wrapped
    around whatever ``write`` the cell starts with, at IPython's ``pre_execute`` event."""

    def __init__(self, limit: int):
        self.limit, self.written = limit, 0

    def start_cell(self, *args) -> None:
        self.written = 0
        for stream in (sys.stdout, sys.stderr):
            if not getattr(stream.write, "coursekit_output_cap", False):
                stream.write = self.wrap(stream.write)

    def wrap(self, write):
        def capped_write(text, *args, **kwargs):
            room = self.limit - self.written
            size = len(text) if isinstance(text, str) else 0
            if size <= room:
                self.written += size
                return write(text, *args, **kwargs)
            if room > 0:
                write(text[:room])
            self.written = self.limit
            raise OutputLimitExceeded(f"this cell printed more than {self.limit:,} characters: it was stopped there")

        capped_write.coursekit_output_cap = True
        return capped_write


def install(limit: int, shell) -> None:
    """Cap each cell of the kernel whose IPython shell is ``shell`` (``get_ipython()``) at ``limit``
    characters of stdout and stderr together."""
    if shell is None:
        raise RuntimeError("coursekit.outputlimit.install needs a running IPython kernel")
    shell.events.register("pre_execute", _Cap(limit).start_cell)
