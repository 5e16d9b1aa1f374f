"""Which files a browser shows without running anything: the only ones kept where a page can reach them.

formgrader serves every file of ``autograded/<student>/<assignment>/`` from the instructor's Jupyter
origin, and ``nbgrader generate_feedback`` copies them beside the student's feedback page. A browser
renders a file by the type its name gives it (Python's ``mimetypes``, as the Jupyter server guesses
it): HTML, XHTML, SVG, XML (with XSLT), PDF and scripts can run code or load remote resources in that
origin. So only names whose type is on an allowlist of inert types are kept: plain text and data,
raster images, archives, audio and video; a name with no known type is served as a download
(``application/octet-stream``) and is kept too. Everything else a submission brings or writes is
left out, with a note for the student.
"""

from __future__ import annotations

import mimetypes

INERT_TYPES = frozenset({
    "text/plain", "text/csv", "text/tab-separated-values", "text/markdown", "text/x-python", "application/json",
    "application/octet-stream", "application/zip", "application/x-tar", "application/gzip",
    "image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp",
})
INERT_PREFIXES = ("audio/", "video/")


def served_inert(name: str) -> bool:
    """Whether a browser opening a file called ``name`` (as a Jupyter server serves it) runs nothing."""
    kind, encoding = mimetypes.guess_type(name, strict=False)
    if kind is None:
        return True  # served as application/octet-stream: downloaded, never rendered
    return kind in INERT_TYPES or kind.startswith(INERT_PREFIXES)


def why_not_inert(name: str) -> str | None:
    """For a student's note: why a file of this name is not kept (None when it is)."""
    if served_inert(name):
        return None
    kind, _encoding = mimetypes.guess_type(name, strict=False)
    return f"a browser would open it as {kind}, which can run code: only plain data, text and images are kept"
