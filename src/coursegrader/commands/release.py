"""``course release ASSIGNMENT``: nbgrader's release of a lab, then its edition in each other language.

The English release is nbgrader's own (``nbgrader generate_assignment``, into ``release/``); each
edition is made from it by ``coursegrader.editions.edition`` (into ``release-<language>/``).
"""

from __future__ import annotations

from pathlib import Path

from coursegrader.editions.edition import languages_of, write_edition
from coursegrader.commands.nbgrader import run_nbgrader


def release_lab(root: Path, lab, console) -> list[Path]:
    """nbgrader's release of ``lab``, then its edition in each language it has a catalog for."""
    log = run_nbgrader(["generate_assignment", lab.assignment, "--force"], root)
    console.print(f"wrote release/{lab.assignment}/ (nbgrader's log: {log.relative_to(root)})")
    written = [root / "release" / lab.assignment]
    for language in languages_of(root / "source" / lab.assignment):
        folder, missing = write_edition(root, lab, language)
        written.append(folder)
        console.print(f"wrote {folder.relative_to(root)}/ (the {language!r} edition)")
        if missing:
            console.print(f"[yellow]{len(missing)} message(s) have no {language!r} translation and stay in English; "
                          "python scripts/translations.py check lists them[/]")
    return written
