"""A lab's texts in another language: cutting them into messages, and translating them with a gettext catalog.

The instructor authors one source notebook and one student guide (``source/<assignment>/``), in
English. What students read in them is cut into messages for translators:

- a markdown cell, or the guide, by blocks (paragraphs, lists, tables, headings): one message each;
  fenced code and nbgrader's region markers stay as they are, and the graders' marking scheme is
  never offered for translation (students never see it);
- a code cell by its comments: each comment is a message; the code stays as it is, except the
  edition's language in ``set_language("en")``, which the edition's first cell calls so that the
  self-checks speak the student's language.

Translations are a standard gettext catalog beside the source,
``source/<assignment>/locale/<language>/LC_MESSAGES/release.po`` (managed with Babel,
``scripts/translations.py``); ``Translator`` reads one. Writing an edition is ``coursegrader.editions``;
translating a graded notebook back into its edition is ``coursegrader.adapters.editions``, through
``cell_translations``. A message the catalog does not translate stays in English; the test suite fails
when one is missing.
"""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from nbformat.v4 import new_code_cell, new_markdown_cell

CATALOG_DOMAIN = "release"
REGION_MARKER = re.compile(r"^\s*#{3}\s*(BEGIN|END)\s+(SOLUTION|HIDDEN TESTS|MARK SCHEME)\s*$")
FENCE = re.compile(r"^\s*(```|~~~)")
LANGUAGE_CALL = re.compile(r"""\bset_language\((["'])(\w+)\1\)""")


def catalog_path(source_folder: Path, language: str) -> Path:
    return Path(source_folder) / "locale" / language / "LC_MESSAGES" / f"{CATALOG_DOMAIN}.po"


def edition_language(notebook) -> str:
    """The language of a notebook's edition (``en`` for nbgrader's own release)."""
    from coursekit.i18n import LANGUAGES, SOURCE_LANGUAGE

    language = notebook.get("metadata", {}).get("coursekit", {}).get("language", SOURCE_LANGUAGE)
    return language if language in LANGUAGES else SOURCE_LANGUAGE


# -----------------------------------------------------------------------------
# cutting text into messages


@dataclass(frozen=True)
class Block:
    lines: list[str]
    translatable: bool


def markdown_blocks(text: str) -> Iterator[Block]:
    """The blocks of a markdown text, with the blank lines between them as untranslatable blocks: joined
    back, they give ``text`` again."""
    lines = text.split("\n")
    current: list[str] = []
    in_fence = in_scheme = False

    def flush():
        nonlocal current
        if current:
            yield Block(current, translatable=not in_scheme)
            current = []

    for line in lines:
        if in_fence:
            current.append(line)
            if FENCE.match(line):
                yield Block(current, translatable=False)
                current, in_fence = [], False
            continue
        marker = REGION_MARKER.match(line)
        if FENCE.match(line) or marker or not line.strip():
            yield from flush()
            if FENCE.match(line):
                current, in_fence = [line], True
                continue
            if marker:
                in_scheme = marker.group(1) == "BEGIN" and marker.group(2) == "MARK SCHEME"
            yield Block([line], translatable=False)
            continue
        current.append(line)
    if in_fence:
        yield Block(current, translatable=False)
    else:
        yield from flush()


def markdown_messages(text: str) -> list[str]:
    return ["\n".join(block.lines) for block in markdown_blocks(text) if block.translatable]


def translate_markdown(text: str, translate: Callable[[str], str]) -> str:
    return "\n".join(translate("\n".join(block.lines)) if block.translatable else "\n".join(block.lines)
                     for block in markdown_blocks(text))


def _comments(source: str) -> list[tuple[int, int, str]]:
    """(line index, column, text) of each comment of a code cell; none if it is not Python we can read."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return []
    return [(token.start[0] - 1, token.start[1], token.string) for token in tokens
            if token.type == tokenize.COMMENT and not REGION_MARKER.match(token.string)]


def _comment_message(comment: str) -> tuple[str, str]:
    """(prefix, message): ``"# TODO Block A: ..."`` -> ``("# ", "TODO Block A: ...")``."""
    match = re.match(r"^(#+\s*)(.*?)\s*$", comment)
    return match.group(1), match.group(2)


def _words(message: str) -> bool:
    """A comment worth translating: it has words, not only a shape such as ``(3, 8)``."""
    return re.search(r"[A-Za-z]{2,}", message) is not None


def code_messages(source: str) -> list[str]:
    return [message for _, _, comment in _comments(source) if _words(message := _comment_message(comment)[1])]


def translate_code(source: str, translate: Callable[[str], str], language: str) -> str:
    lines = source.split("\n")
    for index, column, comment in reversed(_comments(source)):
        prefix, message = _comment_message(comment)
        if _words(message):
            line = lines[index]
            lines[index] = line[:column] + prefix + translate(message) + line[column + len(comment):]
    return LANGUAGE_CALL.sub(lambda match: f"set_language({match.group(1)}{language}{match.group(1)})", "\n".join(lines))


def cell_messages(cell) -> list[str]:
    return markdown_messages(cell.source) if cell.cell_type == "markdown" else \
        code_messages(cell.source) if cell.cell_type == "code" else []


def translate_cell_source(cell, translate: Callable[[str], str], language: str) -> str:
    if cell.cell_type == "markdown":
        return translate_markdown(cell.source, translate)
    if cell.cell_type == "code":
        return translate_code(cell.source, translate, language)
    return cell.source


# -----------------------------------------------------------------------------
# catalogs


class Translator:
    """The translations of one lab into one language, read from its ``.po`` catalog with Babel."""

    def __init__(self, source_folder: Path, language: str):
        from babel.messages.pofile import read_po

        self.language = language
        path = catalog_path(source_folder, language)
        if not path.is_file():
            raise FileNotFoundError(f"no {language!r} catalog for {Path(source_folder).name}: {path} is missing "
                                    f"(python scripts/translations.py update creates it)")
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=language)
        self.messages = {message.id: message.string for message in catalog
                         if message.id and message.string and not message.fuzzy}
        self.missing: set[str] = set()

    def __call__(self, message: str) -> str:
        translated = self.messages.get(message)
        if translated is None:
            self.missing.add(message)
            return message
        return translated


class CellTranslations:
    """One catalog's translations of whole cells, each worked out once per grading process: the
    catalog is parsed once (and again when its file changes), not twice for every submission."""

    def __init__(self, translate: Translator):
        self.translate = translate
        self.cells: dict[tuple[str, str], str] = {}

    def __call__(self, cell_type: str, english: str) -> str:
        key = (cell_type, english)
        translated = self.cells.get(key)
        if translated is None:
            maker = new_markdown_cell if cell_type == "markdown" else new_code_cell
            translated = self.cells[key] = translate_cell_source(maker(english), self.translate,
                                                                 self.translate.language)
        return translated


_catalogs: dict[tuple[Path, str], tuple[tuple[int, int], CellTranslations]] = {}


def cell_translations(source: Path, language: str) -> CellTranslations:
    """The translations of ``source``'s lab into ``language``; FileNotFoundError without a catalog."""
    path = catalog_path(source, language)
    try:
        info = path.stat()
    except FileNotFoundError:
        info = None
    stamp = (info.st_mtime_ns, info.st_size) if info is not None else (0, 0)
    cached = _catalogs.get((source, language))
    if cached is None or cached[0] != stamp:
        cached = _catalogs[(source, language)] = (stamp, CellTranslations(Translator(source, language)))
    return cached[1]
