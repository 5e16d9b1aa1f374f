"""The language messages come out in: English, or the language of the edition a student works in.

Messages are written in English in the code, marked with ``_("...")`` where they are built and with
``N_("...")`` where they are only stored (check titles, block titles) and translated when shown.
Placeholders are named (``_("`{name}` has shape {shape}").format(name=..., shape=...)``) so a
translation may put them in another order; numbers and variable names stay as they are.

Translations live in standard gettext catalogs: ``locale/<language>/LC_MESSAGES/<domain>.po``,
edited by people, and the ``.mo`` compiled from it with Babel, read here with the standard library.
``scripts/translations.py`` extracts, updates and compiles them; a test fails when a message has
no translation or a translation no longer matches any message.

The student kit's messages are in the ``coursekit`` domain; the grader's package adds its own
(``coursegrader``) in front when it is imported. The language is chosen per run: ``use_language("es")`` for a block of code (the grader, rendering
one student's verdicts), or ``set_language("es")`` once (a student's kernel: the Spanish edition's
first cell calls it).
"""

from __future__ import annotations

import contextlib
import contextvars
import gettext
from functools import lru_cache
from pathlib import Path

LANGUAGES = {"en": "English", "es": "Español"}
SOURCE_LANGUAGE = "en"  # the language messages are written in

_language: contextvars.ContextVar[str | None] = contextvars.ContextVar("coursekit_language", default=None)
_default_language = SOURCE_LANGUAGE


class UnknownLanguage(ValueError):
    pass


def check_language(code: str) -> str:
    if code not in LANGUAGES:
        raise UnknownLanguage(f"no edition in language {code!r}; the course has {', '.join(LANGUAGES)}")
    return code


def language() -> str:
    """The language messages are rendered in, here and now."""
    return _language.get() or _default_language


def set_language(code: str) -> None:
    """Render every later message in ``code`` (for a whole kernel or process)."""
    global _default_language
    _default_language = check_language(code)


@contextlib.contextmanager
def use_language(code: str):
    """Render the messages of this block in ``code``."""
    token = _language.set(check_language(code))
    try:
        yield
    finally:
        _language.reset(token)


def N_(message: str) -> str:
    """Mark ``message`` for translation where it is stored; it is translated where it is shown."""
    return message


class Domain:
    """One gettext domain: the messages of one package, with its catalogs in ``<package>/locale``.
    ``fallback`` is another domain asked for the messages this one does not have."""

    def __init__(self, name: str, locale_dir: Path, fallback: Domain | None = None):
        self.name, self.locale_dir, self.fallback = name, Path(locale_dir), fallback

    @lru_cache(maxsize=None)  # noqa: B019 — a handful of domains, alive as long as the process
    def translations(self, code: str) -> gettext.NullTranslations:
        if code == SOURCE_LANGUAGE:
            return gettext.NullTranslations()
        found = gettext.translation(self.name, self.locale_dir, languages=[code], fallback=True)
        if self.fallback is not None:
            found.add_fallback(self.fallback.translations(code))
        return found

    def gettext(self, message: str) -> str:
        return self.translations(language()).gettext(message)

    def ngettext(self, singular: str, plural: str, count: int) -> str:
        return self.translations(language()).ngettext(singular, plural, count)


COURSEKIT = Domain("coursekit", Path(__file__).resolve().parent / "locale")
_domain = COURSEKIT  # where messages are looked up: the grader's package adds its own in front


def add_domain(name: str, locale_dir: Path) -> None:
    """Look messages up in ``name``'s catalogs first, then in those used so far (the grader's package
    calls it when imported: its hidden checks' titles and messages are in its own catalogs)."""
    global _domain
    if _domain.name != name:
        _domain = Domain(name, locale_dir, fallback=_domain)


def _(message: str) -> str:
    """``message`` in the current language."""
    return _domain.gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    return _domain.ngettext(singular, plural, count)


def points_text(points: float) -> str:
    """``"1 point"``, ``"2 points"``, ``"0.5 points"``: in the current language."""
    return ngettext("{points} point", "{points} points", 1 if points == 1 else 2).format(points=f"{points:g}")
