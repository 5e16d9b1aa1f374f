"""`course export`: a completed notebook becomes the lab's four files, and demo.py runs on its own."""

import json
import shutil
import subprocess
import sys

import pytest

from coursekit.cli import main as course_main
from coursekit.deliverables import ExportError
from coursekit.deliverables import export_deliverables as export_notebook
from coursekit.labs.lab00 import LAB
from tests.examples.lab00 import BANK

path_of = BANK.path_of


def export_deliverables(notebook, output_dir=None, execute=True):
    return export_notebook(LAB, notebook, output_dir, execute)


@pytest.fixture
def completed(tmp_path):
    folder = tmp_path / "work"
    folder.mkdir()
    shutil.copy(path_of("solution"), folder / "demo.ipynb")
    return folder / "demo.ipynb"


def test_export_runs_the_notebook_and_writes_the_four_files(completed, tmp_path):
    out = tmp_path / "experiments" / "16-permutation-equivariance"
    written = export_deliverables(completed, out)
    assert sorted(path.name for path in written) == ["README.md", "demo.py", "demo_output.txt", "manifest.json"]
    assert sorted(path.name for path in out.iterdir()) == ["README.md", "demo.py", "demo_output.txt", "manifest.json"]
    assert "Block B, without PE" in (out / "demo_output.txt").read_text()
    assert "Block C, with PE" in (out / "demo_output.txt").read_text()
    assert "permutation-equivariant" in (out / "README.md").read_text()
    script = (out / "demo.py").read_text()
    assert "run_check" not in script and "### BEGIN" not in script  # no test cell, no marker


def test_exported_demo_py_runs_alone_and_reproduces_the_manifest(completed, tmp_path):
    out = tmp_path / "deliverables"
    export_deliverables(completed, out)
    elsewhere = tmp_path / "rerun"
    elsewhere.mkdir()
    shutil.copy(out / "demo.py", elsewhere / "demo.py")
    subprocess.run([sys.executable, "demo.py"], cwd=elsewhere, check=True, capture_output=True, text=True)
    exported = json.loads((out / "manifest.json").read_text())
    rerun = json.loads((elsewhere / "manifest.json").read_text())
    assert rerun["results_summary"] == exported["results_summary"]
    assert (elsewhere / "demo_output.txt").read_text() == (out / "demo_output.txt").read_text()


def test_unfinished_notebook_says_which_blocks_are_left(tmp_path):
    shutil.copy(path_of("untouched_release"), tmp_path / "demo.ipynb")
    with pytest.raises(ExportError, match="still to do: Block A .*Block B .*Block C .*Block E .*Block D"):
        export_deliverables(tmp_path / "demo.ipynb", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_block_that_raises_stops_the_export_with_the_error(tmp_path):
    shutil.copy(path_of("block_raises"), tmp_path / "demo.ipynb")
    with pytest.raises(ExportError, match="stopped with an error"):
        export_deliverables(tmp_path / "demo.ipynb", tmp_path / "out")


def test_no_execute_needs_the_files_beside_the_notebook(completed, tmp_path):
    with pytest.raises(ExportError, match="no demo_output.txt beside the notebook"):
        export_deliverables(completed, tmp_path / "out", execute=False)


def test_cli_export_reports_errors_without_a_traceback(tmp_path, capsys):
    assert course_main(["export", str(tmp_path / "missing.ipynb")]) == 1
    assert "no notebook at" in capsys.readouterr().out
