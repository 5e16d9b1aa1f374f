"""``course export``: a completed Lab 00 notebook -> the lab's deliverable folder.

The lab asks for ``experiments/16-permutation-equivariance/`` holding four files:

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

EXPERIMENT = "16-permutation-equivariance"
SCRIPT_CELLS = [("setup", "Provided set-up"), ("block_a", "Block A — set up"), ("block_b", "Block B — without PE"),
                ("block_c", "Block C — with PE"), ("block_e", "Block E — manifest")]
ANSWER_CELL = "block_d"
UNANSWERED = ("YOUR ANSWER HERE", "YOUR CODE HERE", "raise NotImplementedError()")


class ExportError(Exception):
    """The notebook cannot be exported yet; the message says what to do."""


def _cells_by_grade_id(notebook) -> dict[str, nbformat.NotebookNode]:
    return {cell.metadata["nbgrader"]["grade_id"]: cell for cell in notebook.cells
            if "grade_id" in cell.metadata.get("nbgrader", {})}


def _execute(notebook, folder: Path) -> None:
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    client = NotebookClient(notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(folder)}})
    try:
        client.execute()
    except CellExecutionError as error:
        raise ExportError(f"running the notebook stopped with an error; fix it, then export again:\n{error}") from None


def build_script(cells: dict[str, nbformat.NotebookNode], notebook_name: str) -> str:
    parts = [f'"""Lab 00 — Permutation Equivariance, in Numbers: exported from {notebook_name} by `course export`.\n\n'
             'Run it with `python demo.py`: it prints the comparison and writes demo_output.txt and manifest.json here.\n"""']
    for grade_id, title in SCRIPT_CELLS:
        source = cells[grade_id].source.strip()
        try:
            ast.parse(source)
        except SyntaxError as error:
            raise ExportError(f"the {title} cell is not plain Python (line {error.lineno}: {error.msg}); "
                              "notebook magics such as %time cannot go into demo.py") from None
        parts.append(f"# {'-' * 77}\n# {title}\n\n{source}")
    return "\n\n\n".join(parts) + "\n"


def export_deliverables(notebook_path: Path, output_dir: Path | None = None, execute: bool = True) -> list[Path]:
    """Write the four deliverables; return their paths."""
    notebook_path = Path(notebook_path).resolve()
    if not notebook_path.is_file():
        raise ExportError(f"no notebook at {notebook_path}")
    folder = notebook_path.parent
    notebook = nbformat.read(notebook_path, as_version=4)
    cells = _cells_by_grade_id(notebook)
    missing = [grade_id for grade_id, _ in SCRIPT_CELLS if grade_id not in cells] + \
              ([ANSWER_CELL] if ANSWER_CELL not in cells else [])
    if missing:
        raise ExportError(f"{notebook_path.name} lacks the cells {missing}: export the lab's demo.ipynb, "
                          "with its cells as released")
    unfinished = [title for grade_id, title in SCRIPT_CELLS if any(stub in cells[grade_id].source for stub in UNANSWERED)]
    if any(stub in cells[ANSWER_CELL].source for stub in UNANSWERED) or not cells[ANSWER_CELL].source.strip():
        unfinished.append("Block D — interpret")
    if unfinished:
        raise ExportError(f"still to do: {', '.join(unfinished)}")

    if execute:
        _execute(notebook, folder)
    produced = {name: folder / name for name in ("demo_output.txt", "manifest.json")}
    for name, path in produced.items():
        if not path.is_file():
            raise ExportError(f"no {name} beside the notebook; run the notebook (or drop --no-execute) first")
    try:
        json.loads(produced["manifest.json"].read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ExportError(f"manifest.json beside the notebook is not valid JSON ({error})") from None

    output_dir = Path(output_dir) if output_dir else Path.cwd() / "experiments" / EXPERIMENT
    output_dir.mkdir(parents=True, exist_ok=True)
    script = output_dir / "demo.py"
    script.write_text(build_script(cells, notebook_path.name), encoding="utf-8")
    for name, path in produced.items():
        shutil.copyfile(path, output_dir / name)
    readme = output_dir / "README.md"
    readme.write_text(f"# {EXPERIMENT}: permutation equivariance, in numbers\n\n{cells[ANSWER_CELL].source.strip()}\n",
                      encoding="utf-8")
    return [script, output_dir / "demo_output.txt", output_dir / "manifest.json", readme]
