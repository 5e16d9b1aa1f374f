"""``course release ASSIGNMENT``: nbgrader's release of a lab, then its edition in each other language.

First the source notebook is held against the lab's description (``coursekit.lab``): every cell
it describes must be there, marked for nbgrader as described (a test cell graded, locked, with its
points, calling its own check, hidden or not; an answer cell a solution, unlocked, graded by hand
with its points or not graded), and no other cell may be graded or answered in. A disagreement
stops the release before nbgrader runs, naming each cell and what differs.

The English release is nbgrader's own (``nbgrader generate_assignment``, into ``release/``); each
edition is made from it by ``coursegrader.editions.edition`` (into ``release-<language>/``).
"""

from __future__ import annotations

from pathlib import Path

import nbformat

from coursegrader.editions.edition import languages_of, write_edition
from coursegrader.commands.nbgrader import run_nbgrader
from coursekit.lab import AnswerCell, CheckCell, Lab

HIDDEN_TESTS = "### BEGIN HIDDEN TESTS"


class SourceDisagrees(ValueError):
    """The source notebook's nbgrader metadata says otherwise than the lab's description."""


def _points(meta) -> float | None:
    try:
        return float(meta.get("points", 0))
    except (TypeError, ValueError):
        return None


def _points_differ(meta, described) -> str | None:
    if _points(meta) == described.points:
        return None
    return f"{meta.get('points', 0)!r} point(s) in the notebook, {described.points:g} in the description"


def _flags(meta) -> str:
    return ", ".join(f"{flag}={str(bool(meta.get(flag))).lower()}" for flag in ("grade", "solution", "locked"))


def _test_cell_disagreements(cell, meta, described: CheckCell) -> list[str]:
    problems = []
    wanted = {"grade": True, "solution": False, "locked": True}
    if cell.cell_type != "code" or any(bool(meta.get(flag)) is not value for flag, value in wanted.items()):
        problems.append(f"the notebook has a {cell.cell_type} cell with {_flags(meta)}; the description has a test "
                        "cell: code, grade=true, solution=false, locked=true")
    if _points_differ(meta, described):
        problems.append(_points_differ(meta, described))
    call = f'run_check("{described.grade_id}", globals())'
    if call not in cell.source or cell.source.count("run_check(") != 1:
        problems.append(f"its code should make one call, {call}")
    hidden = HIDDEN_TESTS in cell.source
    if hidden is described.visible:
        problems.append("hidden in the notebook (### BEGIN HIDDEN TESTS), a self-check in the description (visible=True)"
                        if hidden else "a self-check in the notebook, hidden in the description (visible=False)")
    return problems


def _answer_cell_disagreements(meta, described: AnswerCell) -> list[str]:
    problems = []
    wanted = {"grade": described.graded_by_hand, "solution": True, "locked": False}
    if any(bool(meta.get(flag)) is not value for flag, value in wanted.items()):
        problems.append(f"the notebook has {_flags(meta)}; the description has an answer cell "
                        + ("graded by hand: grade=true" if described.graded_by_hand else "worth no points: grade=false")
                        + ", solution=true, locked=false")
    elif described.graded_by_hand and _points_differ(meta, described):
        problems.append(_points_differ(meta, described))
    return problems


def disagreements(notebook, lab: Lab) -> list[str]:
    """How the nbgrader metadata of ``notebook`` (the lab's source, as nbformat reads it) differs from
    ``lab``'s description: one line per cell and difference."""
    problems, seen = [], set()
    for number, cell in enumerate(notebook.cells, start=1):
        meta = cell.get("metadata", {}).get("nbgrader")
        if meta is None:
            continue  # a cell nbgrader does not know: students may edit it, nothing grades it
        grade_id = meta.get("grade_id")
        where = f"cell {grade_id!r}" if grade_id else f"cell {number}"
        if grade_id in seen:
            problems.append(f"{where}: the notebook has it twice")
            continue
        seen.add(grade_id)
        described = lab.cells.get(grade_id) if grade_id else None
        if isinstance(described, CheckCell):
            found = _test_cell_disagreements(cell, meta, described)
        elif isinstance(described, AnswerCell):
            found = _answer_cell_disagreements(meta, described)
        elif meta.get("grade") or meta.get("solution") or meta.get("task") or not meta.get("locked"):
            found = [f"the notebook has {_flags(meta)}, task={str(bool(meta.get('task'))).lower()}; the description "
                     "lists no such cell, so it must be read-only (locked, neither graded nor answered in)"]
        else:
            found = []
        problems += [f"{where}: {problem}" for problem in found]
    problems += [f"cell {cell.grade_id!r}: the description lists it; the notebook has no such cell"
                 for cell in lab.cells if cell.grade_id not in seen]
    return problems


def verify_source(root: Path, lab: Lab) -> None:
    """Raise ``SourceDisagrees`` unless the lab's source notebook is marked as its description says."""
    path = root / "source" / lab.assignment / f"{lab.notebook}.ipynb"
    if not path.is_file():
        raise SourceDisagrees(f"lab {lab.assignment!r} has no source notebook: expected {path.relative_to(root)}")
    problems = disagreements(nbformat.read(path, as_version=4), lab)
    if problems:
        raise SourceDisagrees(f"{path.relative_to(root)} disagrees with the description of lab {lab.assignment!r} "
                              f"({lab.module}); make them agree, then release again:\n  " + "\n  ".join(problems))


def release_lab(root: Path, lab, console) -> list[Path]:
    """The source notebook verified, then nbgrader's release of ``lab``, then its edition in each language it
    has a catalog for."""
    verify_source(root, lab)
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
