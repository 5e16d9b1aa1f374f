"""``course export``: a completed lab notebook -> the lab's deliverable folder.

What goes into the folder is the lab's ``Deliverables`` (``coursekit.lab``). For Lab 00,
``experiments/16-permutation-equivariance/`` holds four files:

- ``demo.py``: the provided set-up cell and the student's Blocks A, B, C and E, as one script that
  runs on its own (``python demo.py`` writes demo_output.txt and manifest.json where it runs);
- ``demo_output.txt``: the captured printout of Blocks B and C;
- ``manifest.json``: Block E's manifest;
- ``README.md``: the Block D answer.

By default the notebook is first run from top to bottom (nbclient, in its own folder, as
"Restart Kernel and Run All Cells" would), so the printout and the manifest come from the code
being exported. Test cells are not exported. The notebook itself is never modified.
"""

from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path

import nbformat

from coursekit.lab import Lab

UNANSWERED = ("YOUR ANSWER HERE", "YOUR CODE HERE", "raise NotImplementedError()")


class ExportError(Exception):
    """The notebook cannot be exported yet; the message says what to do."""


def _cells_by_grade_id(notebook) -> dict[str, nbformat.NotebookNode]:
    return {cell.metadata["nbgrader"]["grade_id"]: cell for cell in notebook.cells
            if "grade_id" in cell.metadata.get("nbgrader", {})}


def _execute(notebook, folder: Path) -> None:
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    from coursekit.kernels import ipc_kernel_manager

    with ipc_kernel_manager() as km:
        client = NotebookClient(notebook, timeout=120, km=km, resources={"metadata": {"path": str(folder)}})
        try:
            client.execute()
        except CellExecutionError as error:
            raise ExportError(f"running the notebook stopped with an error; fix it, then export again:\n{error}") from None


def build_script(lab: Lab, cells: dict[str, nbformat.NotebookNode], notebook_name: str) -> str:
    deliverables = lab.deliverables
    written = " and ".join(deliverables.copied_files)
    parts = [f'"""{lab.title}: exported from {notebook_name} by `course export`.\n\n'
             f'Run it with `python {deliverables.script}`: it writes {written} where it runs.\n"""']
    for grade_id, title in deliverables.script_cells:
        source = cells[grade_id].source.strip()
        try:
            ast.parse(source)
        except SyntaxError as error:
            raise ExportError(f"the {title} cell is not plain Python (line {error.lineno}: {error.msg}); "
                              "notebook magics such as %time cannot go into demo.py") from None
        parts.append(f"# {'-' * 77}\n# {title}\n\n{source}")
    return "\n\n\n".join(parts) + "\n"


def export_deliverables(lab: Lab, notebook_path: Path, output_dir: Path | None = None, execute: bool = True) -> list[Path]:
    """Write the lab's deliverables; return their paths."""
    deliverables = lab.deliverables
    notebook_path = Path(notebook_path).resolve()
    if not notebook_path.is_file():
        raise ExportError(f"no notebook at {notebook_path}")
    folder = notebook_path.parent
    notebook = nbformat.read(notebook_path, as_version=4)
    cells = _cells_by_grade_id(notebook)
    answer = deliverables.answer_cell
    missing = [grade_id for grade_id, _ in deliverables.script_cells if grade_id not in cells] + \
              ([answer] if answer not in cells else [])
    if missing:
        raise ExportError(f"{notebook_path.name} lacks the cells {missing}: export the lab's {lab.notebook}.ipynb, "
                          "with its cells as released")
    unfinished = [title for grade_id, title in deliverables.script_cells
                  if any(stub in cells[grade_id].source for stub in UNANSWERED)]
    if any(stub in cells[answer].source for stub in UNANSWERED) or not cells[answer].source.strip():
        block = lab.block_of(answer)
        unfinished.append(f"Block {block} — {lab.blocks[block]}" if block else answer)
    if unfinished:
        raise ExportError(f"still to do: {', '.join(unfinished)}")

    if execute:
        _execute(notebook, folder)
    produced = {name: folder / name for name in deliverables.copied_files}
    for name, path in produced.items():
        if not path.is_file():
            raise ExportError(f"no {name} beside the notebook; run the notebook (or drop --no-execute) first")
    for name, path in produced.items():
        if name.endswith(".json"):
            try:
                json.loads(path.read_text(encoding="utf-8"))
            except json.JSONDecodeError as error:
                raise ExportError(f"{name} beside the notebook is not valid JSON ({error})") from None

    output_dir = Path(output_dir) if output_dir else Path.cwd() / deliverables.folder
    output_dir.mkdir(parents=True, exist_ok=True)
    script = output_dir / deliverables.script
    script.write_text(build_script(lab, cells, notebook_path.name), encoding="utf-8")
    for name, path in produced.items():
        shutil.copyfile(path, output_dir / name)
    readme = output_dir / "README.md"
    readme.write_text(f"# {lab.title}\n\n{cells[answer].source.strip()}\n", encoding="utf-8")
    return [script, *(output_dir / name for name in produced), readme]
