"""The committed example submissions are what the bank builds, and the JupyterLab one is real."""

import nbformat
import pytest

from tests.examples.bank import EXAMPLES, build, path_of


@pytest.mark.parametrize("name", [name for name, example in EXAMPLES.items() if example.built])
def test_committed_example_is_up_to_date(name):
    assert nbformat.read(path_of(name), as_version=4) == build(name), \
        f"{path_of(name)} is stale: run `python -m tests.examples.bank`"


def test_every_example_has_a_committed_notebook():
    for name in EXAMPLES:
        assert path_of(name).is_file(), name


def test_jupyterlab_example_was_run_and_saved_by_jupyterlab():
    notebook = nbformat.read(path_of("jupyterlab_saved"), as_version=4)
    nbformat.validate(notebook)
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.execution_count for cell in code_cells)  # it ran, every cell
    assert any(cell.outputs for cell in code_cells)
    assert notebook.metadata["language_info"].get("version")  # set by a live kernel, not by nbformat
    release = nbformat.read(path_of("untouched_release"), as_version=4)
    assert [cell.metadata["nbgrader"] for cell in notebook.cells] == [cell.metadata["nbgrader"] for cell in release.cells]
