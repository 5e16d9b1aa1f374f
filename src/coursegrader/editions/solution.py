"""``course solution ASSIGNMENT``: the lab's reference solution, for students once it may be published.

From the source notebook: the solution code of each code block, run here as written (its printouts
and the files it writes are what the document shows: every number is recomputed, none is typed),
and the model answer of each written block. Written, for each language the lab has a catalog for,
as Markdown where the lab's text says (``Lab.solution``: ``solutions/00-permutation-equivariance-ref.md``,
``...-ref.es.md`` for Spanish) and as a notebook beside it (``...-ref.ipynb``). Never part of a
release: ``solutions/`` is not under ``release/``, and nothing here writes there. The graders'
marking scheme and the hidden tests are left out.
"""

from __future__ import annotations

import copy
import json
import platform
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat
import numpy as np
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from coursegrader.editions.edition import languages_of
from coursegrader.language.catalog import Translator, translate_code, translate_markdown
from coursekit.i18n import SOURCE_LANGUAGE, _, use_language
from coursekit.kernels import ipc_kernel_manager
from coursekit.lab import Lab

SOLUTION_REGION = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", re.MULTILINE)
MARK_SCHEME = re.compile(r"^[ \t]*### BEGIN MARK SCHEME.*?### END MARK SCHEME[ \t]*\n?", re.MULTILINE | re.DOTALL)


@dataclass
class Ran:
    """The solution, run: each code block's code and printout, the written answers, the files written."""

    code: dict[str, str]  # block letter -> solution code
    printed: dict[str, str]  # block letter -> what it printed
    answers: dict[str, str]  # block letter -> model answer (markdown)
    files: dict[str, str]  # a file the notebook wrote -> its text
    notebook: nbformat.NotebookNode  # the reference notebook, run, in English
    versions: dict[str, str]


def _block_cells(notebook, lab: Lab) -> dict[str, nbformat.NotebookNode]:
    cells = {}
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        letter = lab.block_of(meta.get("grade_id") or "")
        if meta.get("solution") and letter and not meta["grade_id"].startswith("test_"):
            cells[letter] = cell
    return cells


def _for_students(notebook, lab: Lab) -> nbformat.NotebookNode:
    """The source notebook as a student may read it after grading: its text, and the code cells that make
    the lab's script (``Lab.deliverables``: the set-up and the solutions), without region markers or
    marking schemes; no test cell, no self-check cell."""
    script_cells = {grade_id for grade_id, _title in lab.deliverables.script_cells}
    cells = []
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade_id") not in script_cells:
            continue
        source = MARK_SCHEME.sub("", SOLUTION_REGION.sub("", cell.source)).strip("\n")
        fresh = new_code_cell(source) if cell.cell_type == "code" else new_markdown_cell(source)
        fresh.metadata["coursekit"] = {"grade_id": meta.get("grade_id")}
        cells.append(fresh)
    reference = new_notebook(cells=cells, metadata={"kernelspec": notebook.metadata.get("kernelspec", {})})
    return reference


def run_solution(course_root: Path, lab: Lab, timeout: int = 120) -> Ran:
    """Run the lab's solution in a fresh kernel, in an empty folder; collect what it prints and writes."""
    from nbclient import NotebookClient

    source = nbformat.read(Path(course_root) / "source" / lab.assignment / f"{lab.notebook}.ipynb", as_version=4)
    reference = _for_students(source, lab)
    with tempfile.TemporaryDirectory(prefix="course-solution-") as folder, ipc_kernel_manager() as km:
        NotebookClient(reference, timeout=timeout, km=km, resources={"metadata": {"path": folder}}).execute()
        files = {name: (Path(folder) / name).read_text(encoding="utf-8") for name in lab.writes
                 if (Path(folder) / name).is_file()}
    blocks = _block_cells(source, lab)
    by_id = {cell.metadata["coursekit"]["grade_id"]: cell for cell in reference.cells}
    code, printed, answers = {}, {}, {}
    for letter, cell in blocks.items():
        ran = by_id[cell.metadata["nbgrader"]["grade_id"]]
        if cell.cell_type == "code":
            code[letter] = ran.source
            printed[letter] = "".join(output.get("text", "") for output in ran.outputs if output.get("output_type") == "stream")
        else:
            answers[letter] = ran.source
    return Ran(code, printed, answers, files, reference,
               {"python": platform.python_version(), "numpy": np.__version__})


def _fence(text: str, language: str = "") -> str:
    return f"```{language}\n{text.rstrip()}\n```"


def markdown(lab: Lab, ran: Ran, language: str, translate=None) -> str:
    """The reference solution as Markdown, in ``language`` (``translate``: the lab's catalog for it)."""
    def comments(code: str) -> str:
        return translate_code(code, translate, language) if translate else code

    def text(markdown_text: str) -> str:
        return translate_markdown(markdown_text, translate) if translate else markdown_text

    with use_language(language):
        parts = [_("# {lab} — reference solution").format(lab=_(lab.title)),
                 _("The lab's solution as the course wrote it, run as written: the code of each block, what it "
                   "prints, the files it writes, and a model answer for the written block. Every number below was "
                   "recomputed by running this code; none was typed. Read it once your own work is submitted and "
                   "graded, and compare it with yours block by block.")]
        for letter, title in lab.blocks.items():
            parts.append("## " + _("Block {letter} — {title}").format(letter=letter, title=_(title)))
            if letter in ran.code:
                parts.append(_fence(comments(ran.code[letter]), "python"))
                if ran.printed.get(letter, "").strip():
                    parts.append(_("It prints:"))
                    parts.append(_fence(ran.printed[letter]))
            if letter in ran.answers:
                parts.append(_("A model answer:"))
                parts.append(text(ran.answers[letter]))
        for name, content in ran.files.items():
            if name.endswith(".json"):
                parts.append(f"## `{name}`")
                parts.append(_("As the code above writes it:"))
                parts.append(_fence(content, "json"))
        parts.append(_("## The numbers"))
        parts.append(numbers_table(ran))
        parts.append(_("Recomputed with Python {python} and numpy {numpy}. On another machine the last digits of "
                       "the differences may change; the conclusions do not.").format(**ran.versions))
    return "\n\n".join(parts) + "\n"


def numbers_table(ran: Ran) -> str:
    """The numbers the solution recorded in its manifest, as the manifest holds them."""
    rows = [_("| quantity | value |"), "|---|---|"]
    for name, content in ran.files.items():
        if not name.endswith(".json"):
            continue
        document = json.loads(content)

        def walk(value, path):
            if isinstance(value, dict):
                for key, inner in value.items():
                    walk(inner, f"{path}.{key}" if path else key)
            elif isinstance(value, float):
                rows.append(f"| `{path}` | `{value!r}` |")

        walk(document, "")
    return "\n".join(rows)


def reference_notebook(ran: Ran, language: str, translate=None) -> nbformat.NotebookNode:
    notebook = copy.deepcopy(ran.notebook)
    if translate is not None:
        for cell in notebook.cells:
            cell.source = translate_markdown(cell.source, translate) if cell.cell_type == "markdown" \
                else translate_code(cell.source, translate, language)
    notebook.metadata["coursekit"] = {"language": language, "reference_solution": True}
    return notebook


def solution_paths(course_root: Path, lab: Lab, language: str) -> tuple[Path, Path]:
    """(Markdown, notebook) of the reference solution in ``language``."""
    if not lab.solution:
        raise ValueError(f"lab {lab.assignment} names no place for its reference solution (Lab.solution)")
    markdown_path = Path(course_root) / lab.solution
    if language != SOURCE_LANGUAGE:
        markdown_path = markdown_path.with_suffix(f".{language}.md")
    return markdown_path, markdown_path.with_suffix(".ipynb")


def write_solution(course_root: Path, lab: Lab) -> list[Path]:
    """Write the reference solution of ``lab`` in every language it has; return the files written."""
    ran = run_solution(course_root, lab)
    written = []
    source_folder = Path(course_root) / "source" / lab.assignment
    for language in [SOURCE_LANGUAGE, *languages_of(source_folder)]:
        translate = None if language == SOURCE_LANGUAGE else Translator(source_folder, language)
        markdown_path, notebook_path = solution_paths(course_root, lab, language)
        markdown_path.parent.mkdir(parents=True, exist_ok=True)
        markdown_path.write_text(markdown(lab, ran, language, translate), encoding="utf-8")
        nbformat.write(reference_notebook(ran, language, translate), notebook_path)
        written += [markdown_path, notebook_path]
    return written

