"""The course's gettext catalogs: what is translatable, and whether each catalog translates exactly that.

Three kinds of domains, each a ``.po`` catalog per language beside what it translates:

- ``coursekit`` (``src/coursekit/locale``): what students' kernels print (self-check titles and
  messages, the self-check table), marked ``_()``/``N_()`` in the student kit's code;
- ``coursegrader`` (``src/coursegrader/locale``): what only the grader writes (hidden checks'
  titles and messages, verdict notes, the feedback page's template);
- ``release`` of each lab (``source/<assignment>/locale``): its source notebook and student guide,
  cut into messages by ``coursegrader.language.catalog`` (the graders' marking scheme excluded).

The code domains are compiled to ``.mo`` (read at run time by the standard library's gettext);
the ``release`` catalogs are read with Babel when ``course release`` writes an edition.
Developer tooling, not part of the installed package. ``scripts/translations.py`` runs ``update`` (extract, then merge into every catalog: new messages
untranslated, vanished ones dropped), ``compile`` and ``check``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from coursegrader.language import catalog as editions
from coursekit.i18n import LANGUAGES, SOURCE_LANGUAGE

TRANSLATED = [code for code in LANGUAGES if code != SOURCE_LANGUAGE]
LANGUAGE_NAMES = {"es": "Spanish"}
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}
METHODS = [("**/templates/**.j2", "jinja2.ext:babel_extract"), ("**.py", "python")]
PROJECT = "minimodel-course"
HEADER = {"project": PROJECT, "version": "0.1.0", "copyright_holder": "the transformer-from-scratch course",
          "msgid_bugs_address": "the course's issue tracker", "last_translator": "the course's translators",
          "language_team": "Español"}


@dataclass(frozen=True)
class Domain:
    name: str
    locale_dir: Path
    compiled: bool  # a .mo is read at run time

    def po_path(self, language: str) -> Path:
        return self.locale_dir / language / "LC_MESSAGES" / f"{self.name}.po"

    def mo_path(self, language: str) -> Path:
        return self.po_path(language).with_suffix(".mo")


@dataclass(frozen=True)
class CodeDomain(Domain):
    package_dir: Path = Path()

    def extract(self) -> Catalog:
        catalog = Catalog(project=PROJECT, domain=self.name, fuzzy=False)
        options = {"**/templates/**.j2": {"extensions": "jinja2.ext.i18n", "newstyle_gettext": "true",
                                          "trimmed": "true"}}
        for filename, line, message, comments, context in extract_from_dir(
                self.package_dir, METHODS, options_map=options, keywords=KEYWORDS, strip_comment_tags=True):
            catalog.add(message, None, [(filename, line)], auto_comments=comments, context=context)
        return catalog


@dataclass(frozen=True)
class LabDomain(Domain):
    source_folder: Path = Path()
    notebook: str = ""

    def extract(self) -> Catalog:
        import nbformat

        catalog = Catalog(project=PROJECT, domain=self.name, fuzzy=False)
        path = self.source_folder / f"{self.notebook}.ipynb"
        notebook = nbformat.read(path, as_version=4)
        for index, cell in enumerate(notebook.cells):
            where = f"{path.name}:{cell.metadata.get('nbgrader', {}).get('grade_id') or index}"
            for message in editions.cell_messages(cell):
                catalog.add(message, None, [(where, 0)])
        for message in nbgrader_stubs():
            catalog.add(message, None, [("nbgrader ClearSolutions", 0)])
        guide = self.source_folder / "README.md"
        if guide.is_file():
            for message in editions.markdown_messages(guide.read_text(encoding="utf-8")):
                catalog.add(message, None, [("README.md", 0)])
        return catalog


def nbgrader_stubs() -> list[str]:
    """The messages in what nbgrader leaves where a solution was: its code stub's comments, its text stub."""
    from nbgrader.preprocessors import ClearSolutions

    stubs = ClearSolutions()
    return [*editions.code_messages(stubs.code_stub["python"]), *editions.markdown_messages(stubs.text_stub)]


def domains(root: Path) -> list[Domain]:
    """Every catalog domain of the course at ``root``: the two packages', then each lab's."""
    from coursekit.lab import all_labs

    found: list[Domain] = [
        CodeDomain("coursekit", root / "src" / "coursekit" / "locale", True, package_dir=root / "src" / "coursekit"),
        CodeDomain("coursegrader", root / "src" / "coursegrader" / "locale", True,
                   package_dir=root / "src" / "coursegrader"),
    ]
    for lab in all_labs():
        folder = root / "source" / lab.assignment
        if (folder / f"{lab.notebook}.ipynb").is_file():
            found.append(LabDomain(editions.CATALOG_DOMAIN, folder / "locale", False, source_folder=folder,
                                   notebook=lab.notebook))
    return found


def read_catalog(path: Path, language: str) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=language)


def po_bytes(catalog: Catalog) -> bytes:
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=110, omit_header=False, sort_output=False, ignore_obsolete=True,
             include_previous=False)
    return buffer.getvalue()


def mo_bytes(catalog: Catalog) -> bytes:
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    return buffer.getvalue()


def update(domain: Domain) -> list[Path]:
    """Merge what ``domain`` extracts into each language's catalog; write the catalogs; return them."""
    template = domain.extract()
    written = []
    for language in TRANSLATED:
        path = domain.po_path(language)
        if path.is_file():
            catalog = read_catalog(path, language)
            catalog.update(template, no_fuzzy_matching=True)
        else:
            catalog = Catalog(locale=language, domain=domain.name, fuzzy=False, **HEADER)
            catalog.update(template, no_fuzzy_matching=True)
        for name, value in HEADER.items():
            setattr(catalog, name, value)
        catalog.header_comment = (f"# {LANGUAGE_NAMES.get(language, language)} translations of the "
                                  f"{domain.name!r} messages of the transformer-from-scratch course.\n"
                                  "# Kept in step with the sources by scripts/translations.py (Babel); "
                                  "a test fails when one is missing.")
        catalog.revision_date = catalog.creation_date = template.creation_date.replace(hour=0, minute=0, second=0)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(po_bytes(catalog))
        written.append(path)
    return written


def compile_catalogs(domain: Domain) -> list[Path]:
    written = []
    if not domain.compiled:
        return written
    for language in TRANSLATED:
        path = domain.mo_path(language)
        path.write_bytes(mo_bytes(read_catalog(domain.po_path(language), language)))
        written.append(path)
    return written


@dataclass
class Problems:
    """What is wrong with one catalog."""

    path: Path
    untranslated: list[str]  # extracted, with no translation (or only a fuzzy one)
    obsolete: list[str]  # translated, but no longer extracted
    stale_mo: bool = False  # the compiled catalog is not the .po's

    def __bool__(self) -> bool:
        return bool(self.untranslated or self.obsolete or self.stale_mo)

    def describe(self) -> str:
        lines = [f"{self.path}:"]
        lines += [f"  no translation: {message!r:.120}" for message in self.untranslated]
        lines += [f"  translates nothing in the source any more: {message!r:.120}" for message in self.obsolete]
        if self.stale_mo:
            lines.append(f"  {self.path.with_suffix('.mo').name} is not compiled from this .po "
                         "(python scripts/translations.py compile)")
        return "\n".join(lines)


def _key(message) -> str:
    return message if isinstance(message, str) else message[0]


def check(domain: Domain) -> list[Problems]:
    template = domain.extract()
    wanted = {_key(message.id) for message in template if message.id}
    found = []
    for language in TRANSLATED:
        path = domain.po_path(language)
        if not path.is_file():
            found.append(Problems(path, sorted(wanted), []))
            continue
        catalog = read_catalog(path, language)
        translated = {}
        for message in catalog:
            if not message.id:
                continue
            strings = message.string if isinstance(message.string, (list, tuple)) else [message.string]
            translated[_key(message.id)] = bool(all(strings)) and not message.fuzzy
        problems = Problems(path, sorted(key for key in wanted if not translated.get(key)),
                            sorted(key for key in translated if key not in wanted))
        if domain.compiled:
            mo = domain.mo_path(language)
            problems.stale_mo = not mo.is_file() or mo.read_bytes() != mo_bytes(catalog)
        found.append(problems)
    return found
