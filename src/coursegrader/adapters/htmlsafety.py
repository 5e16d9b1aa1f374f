"""What a student wrote, made inert before it is part of a page: the HTML cleaner of formgrader and the feedback.

A graded notebook holds what a student controls: their markdown (Block D's answer, any cell they added), the
outputs their code printed, file names the grader's notes quote. formgrader shows it in the instructor's
Jupyter origin (where a script is the instructor, with their terminals and kernels), and the feedback
page shows it to the student and anyone they share it with. nbconvert renders markdown with raw HTML
passing through (mistune, ``escape=False``), and its own ``clean_html`` (bleach) turns paragraphs, headings,
tables and images into escaped text. So every piece of rendered HTML is cleaned here, one fragment
(one cell, one output) at a time, with nh3 (Ammonia, the sanitizer behind PyPI's README rendering):

- kept: text formatting, headings, lists, tables (with their alignment), code blocks with their
  highlighting, block quotes, ``<details>``; images embedded as ``data:image/{png,jpeg,gif,webp,svg+xml}``
  (pasted attachments and inline data), links to ``http(s):``, ``mailto:`` and ``#anchors`` of the page;
  math, which stays text for MathJax;
- removed: scripts and styles with their content, every event handler and ``style`` (except a table
  cell's ``text-align``), ``javascript:``/``data:`` links, frames, objects, forms and inputs, SVG and
  MathML markup, ``<base>``, ``<meta>``, ``<link>``; every remote or relative image (so no page makes a
  request anywhere by showing a submission); classes other than code highlighting's (a student's text
  cannot dress itself as formgrader's buttons); ids are prefixed ``user-content-`` (a heading cannot
  take an id the page's own scripts look up).

Each fragment is parsed on its own (html5ever), so an unclosed tag in one cell cannot swallow the cells
after it. ``nbgrader_config.py`` hands ``markdown2html``, ``clean_html`` and ``InertOutputs`` to
nbconvert's ``HTMLExporter``: formgrader's submission page and ``nbgrader generate_feedback``
(``coursegrader.adapters.feedback``) both render through them.

Not done here: images a student linked from the web are not shown (only embedded ones are).
"""

from __future__ import annotations

import re

import jinja2
import nh3
from nbconvert.preprocessors import Preprocessor
from pygments.token import STANDARD_TYPES

USER_ID_PREFIX = "user-content-"
DATA_IMAGE = re.compile(r"data:image/(?:png|jpeg|gif|webp|svg\+xml);base64,[A-Za-z0-9+/=\s]*", re.IGNORECASE)
LINK_SCHEMES = re.compile(r"(?:https?|mailto):", re.IGNORECASE)

TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "details", "div", "dl", "dt", "em",
    "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark",
    "ol", "p", "pre", "q", "s", "samp", "small", "span", "strong", "sub", "summary", "sup", "table", "tbody",
    "td", "tfoot", "th", "thead", "tr", "u", "ul", "var",
}
ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "abbr": {"title"},
    "ol": {"start"},
    "details": {"open"},
    "th": {"colspan", "rowspan", "align", "style"},
    "td": {"colspan", "rowspan", "align", "style"},
    **{f"h{level}": {"id"} for level in range(1, 7)},
}
# what nbconvert's highlighting (pygments) and heading anchors put in a page, and nothing else
CLASSES = {
    "span": {name for name in STANDARD_TYPES.values() if name},
    "div": {"highlight", "hl-ipython3", "hl-python", "hl-python3", "hl-ipython"},
    "a": {"anchor-link"},
}


def _only_safe_urls(tag: str, attribute: str, value: str) -> str | None:
    """nh3 has checked the scheme already; narrow it to what each attribute may hold."""
    if attribute == "src":
        return value if DATA_IMAGE.fullmatch(value.strip()) else None
    if attribute == "href":
        return value if value.startswith("#") or LINK_SCHEMES.match(value.strip()) else None
    return value


def _fragment_only(url: str) -> str | None:
    """A relative URL: only a link to an anchor of the page stays, pointing at the prefixed id."""
    if url.startswith("#") and len(url) > 1:
        return url if url.startswith(f"#{USER_ID_PREFIX}") else f"#{USER_ID_PREFIX}{url[1:]}"
    return None


CLEANER = nh3.Cleaner(
    tags=TAGS,
    clean_content_tags={"script", "style"},
    attributes=ATTRIBUTES,
    allowed_classes=CLASSES,
    attribute_filter=_only_safe_urls,
    url_schemes={"http", "https", "mailto", "data"},
    url_relative=_fragment_only,
    filter_style_properties={"text-align"},
    link_rel="noopener noreferrer nofollow",
    id_prefix=USER_ID_PREFIX,
    strip_comments=True,
)


def clean(html: str | bytes) -> str:
    """``html`` with only inert markup left (see the module's docstring): one fragment, parsed on its own.

    >>> clean('<p onclick="steal()">Hi <script>steal()</script><img src="https://example.org/t.png"></p>')
    '<p>Hi <img></p>'
    """
    return CLEANER.clean(html.decode("utf-8", "replace") if isinstance(html, bytes) else str(html))


def clean_html(element) -> str:
    """nbconvert's ``clean_html`` filter, with the course's cleaner: what the templates pipe outputs through."""
    return clean(element)


@jinja2.pass_context
def markdown2html(context, source: str) -> str:
    """nbconvert's ``HTMLExporter.markdown2html`` (attachments become ``data:`` images), then cleaned.

    A context filter like nbconvert's, so that every template calling ``markdown2html`` (formgrader's,
    nbconvert's, the course's feedback page) gets the cleaned version when it is configured by name.
    """
    from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

    cell = context.get("cell") or {}
    path = (context.get("resources") or {}).get("metadata", {}).get("path", "")
    renderer = IPythonRenderer(escape=False, attachments=cell.get("attachments", {}), path=path, anchor_link_text="¶")
    return clean(MarkdownWithMath(renderer=renderer).render(source))


# -----------------------------------------------------------------------------


class InertOutputs(Preprocessor):
    """Outputs reduced to what nbconvert's templates print safely, before a page is rendered.

    The templates write an image output's ``width`` and ``height`` metadata into an unquoted attribute
    and its ``filenames`` metadata into ``src``: a student's code sets both (``publish_display_data``).
    Only numeric sizes are kept. HTML, SVG, JavaScript, markdown and widget outputs never reach a graded
    notebook (``coursegrader.run.outputs``); if one does (a notebook graded another way), it is shown as
    its text, or not at all.
    """

    kept_types = ("text/plain", "text/latex", "image/png", "image/jpeg", "image/gif")

    def preprocess_cell(self, cell, resources, index):
        for output in cell.get("outputs", []):
            if "data" in output:
                output["data"] = {mime: value for mime, value in output["data"].items() if mime in self.kept_types}
                output["metadata"] = {mime: sizes for mime in output["data"]
                                      if (sizes := self._sizes(output.get("metadata", {}).get(mime)))}
        return cell, resources

    @staticmethod
    def _sizes(metadata) -> dict:
        if not isinstance(metadata, dict):
            return {}
        return {key: int(value) for key, value in metadata.items()
                if key in ("width", "height") and isinstance(value, (int, float)) and not isinstance(value, bool)
                and 0 < value < 100_000}
