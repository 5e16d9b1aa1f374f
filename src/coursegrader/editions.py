"""Editions of a lab: its release in another language, made from the one source and a gettext catalog.

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
``scripts/translations.py``). An edition is nbgrader's own release with each cell translated: the
same cells, grade_ids, points and checks, its nbgrader checksums recomputed for the translated
text, and ``metadata.coursekit.language`` naming its language. A message the catalog does not
translate stays in English; the test suite fails when one is missing.
"""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

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


def translate_notebook(notebook, translate: Translator):
    """``notebook`` (a release notebook, nbgrader's) as the edition in ``translate.language``."""
    import copy

    from nbgrader import utils as nbgrader_utils

    edition = copy.deepcopy(notebook)
    for cell in edition.cells:
        cell.source = translate_cell_source(cell, translate, translate.language)
        if "checksum" in cell.metadata.get("nbgrader", {}):
            cell.metadata.nbgrader["checksum"] = nbgrader_utils.compute_checksum(cell)
    edition.metadata.setdefault("coursekit", {})["language"] = translate.language
    return edition


def translate_guide(text: str, translate: Translator) -> str:
    return translate_markdown(text, translate)


# -----------------------------------------------------------------------------
# writing an edition


def edition_folder(course_root: Path, language: str) -> Path:
    """Where the edition in ``language`` is released: ``release-<language>/``, laid out as nbgrader's
    ``release/`` (``nbgrader release_assignment ... --CourseDirectory.release_directory=release-es``)."""
    return Path(course_root) / f"release-{language}"


def write_edition(course_root: Path, lab, language: str) -> tuple[Path, set[str]]:
    """Write the edition of ``lab`` in ``language`` from nbgrader's release (``release/<assignment>/``):
    every released file, the notebook and the student guide translated. Return its folder and the
    messages its catalog does not translate (they stay in English)."""
    import shutil

    import nbformat

    release = Path(course_root) / "release" / lab.assignment
    if not (release / f"{lab.notebook}.ipynb").is_file():
        raise FileNotFoundError(f"{release / f'{lab.notebook}.ipynb'} is missing: release the English edition first")
    translate = Translator(Path(course_root) / "source" / lab.assignment, language)
    target = edition_folder(course_root, language) / lab.assignment
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(release, target)
    notebook = nbformat.read(release / f"{lab.notebook}.ipynb", as_version=4)
    nbformat.write(translate_notebook(notebook, translate), target / f"{lab.notebook}.ipynb")
    guide = release / "README.md"
    if guide.is_file():
        (target / "README.md").write_text(translate_guide(guide.read_text(encoding="utf-8"), translate), encoding="utf-8")
    return target, translate.missing


def languages_of(source_folder: Path) -> list[str]:
    """The languages a lab has a catalog for, besides English."""
    from coursekit.i18n import LANGUAGES, SOURCE_LANGUAGE

    return [code for code in LANGUAGES if code != SOURCE_LANGUAGE and catalog_path(source_folder, code).is_file()]
