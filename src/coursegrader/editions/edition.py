"""Editions of a lab: its release in another language, made from nbgrader's release and a gettext catalog.

An edition is nbgrader's own release with each cell translated (``coursegrader.language.catalog``): the
same cells, grade_ids, points and checks, its nbgrader checksums recomputed for the translated text,
and ``metadata.coursekit.language`` naming its language. ``course release`` writes one per catalog.
"""

from __future__ import annotations

from pathlib import Path

from coursegrader.language.catalog import Translator, catalog_path, translate_cell_source, translate_markdown


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
