"""The committed example submissions are what the bank builds, and the JupyterLab one is real."""

import nbformat
import pytest

from tests.examples.bank import EXAMPLES_DIR
from tests.examples.lab00 import BANK

COMMITTED = [name for name, example in BANK.examples.items() if example.has_notebook]


@pytest.mark.parametrize("name", [name for name in COMMITTED if BANK.examples[name].built])
def test_committed_example_is_up_to_date(name):
    assert nbformat.read(BANK.path_of(name), as_version=4) == BANK.build(name), \
        f"{BANK.path_of(name)} is stale: run `python -m tests.examples.bank`"


def test_every_example_has_a_committed_notebook_and_nothing_else_is_committed():
    for name in COMMITTED:
        assert BANK.path_of(name).is_file(), name
    committed = {path.parent.name for path in (EXAMPLES_DIR / BANK.assignment).glob("*/*/*.ipynb")}
    assert committed == set(COMMITTED)


def test_every_attack_class_of_the_issue_has_examples():
    kinds = {example.kind for example in BANK.examples.values()}
    assert kinds == {"class", "forgery", "isolation", "bounds", "tampering", "bad input", "honest"}
    for kind in kinds:
        assert len(BANK.names(kind=kind)) >= 5, kind


def test_jupyterlab_example_was_run_and_saved_by_jupyterlab():
    notebook = nbformat.read(BANK.path_of("jupyterlab_saved"), as_version=4)
    nbformat.validate(notebook)
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.execution_count for cell in code_cells)  # it ran, every cell
    assert any(cell.outputs for cell in code_cells)
    assert notebook.metadata["language_info"].get("version")  # set by a live kernel, not by nbformat
    release = nbformat.read(BANK.release, as_version=4)
    assert [cell.metadata["nbgrader"] for cell in notebook.cells] == [cell.metadata["nbgrader"] for cell in release.cells]
