"""The bank of example submissions: what each student did, and which checks that must cost.

Each example is the committed release notebook with its solution cells filled in as a student
would: the instructor's solution, then a few text edits that make one realistic mistake. The
committed notebooks live in ``submissions/<student_id>/demo.ipynb``; ``python -m tests.examples.bank``
rebuilds them from ``source/`` and ``release/`` (a test fails when they are out of date).
``jupyterlab_saved`` is the exception: a real JupyterLab session ran and saved it (see
``scripts/save_through_jupyterlab.py``), so it is committed as written and never rebuilt.

``fails`` lists the grade_ids of the checks each example must fail; every other check must pass.
"""

from __future__ import annotations

import copy
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENT = "16-permutation-equivariance"
SOURCE = ROOT / "source" / ASSIGNMENT / "demo.ipynb"
RELEASE = ROOT / "release" / ASSIGNMENT / "demo.ipynb"
SUBMISSIONS = Path(__file__).resolve().parent / "submissions"

ALL_B = {"test_block_b_x_perm", "test_block_b_outputs", "test_block_b_assertion", "test_block_b_max_diff"}
ALL_C_BUT_PE = {"test_block_c_outputs", "test_block_c_assertion", "test_block_c_max_diff"}
ALL_E = {"test_block_e_manifest_file", "test_block_e_schema", "test_block_e_identity", "test_block_e_date",
         "test_block_e_versions", "test_block_e_results_match", "test_block_e_results_thresholds"}


@dataclass(frozen=True)
class Example:
    description: str
    fails: frozenset[str]
    # (solution cell grade_id, text in the instructor's solution, what the student wrote instead, everywhere)
    edits: tuple[tuple[str, str, str], ...] = ()
    untouched: bool = False  # the release exactly as students receive it
    test_cell_edits: dict[str, str] = field(default_factory=dict)  # grade_id -> new source (tampering)
    built: bool = True  # False: committed as a real tool wrote it, never rebuilt


EXAMPLES: dict[str, Example] = {
    "solution": Example("complete and correct: the instructor's solution", frozenset()),
    "jupyterlab_saved": Example(
        "complete and correct, run in JupyterLab and saved through the Jupyter server's contents API",
        frozenset(), built=False),
    "untouched_release": Example("the release as received: every block still raises NotImplementedError",
                                 frozenset({"test_block_a_token_ids", "test_block_a_embedding", "test_block_a_mha"})
                                 | ALL_B | {"test_block_c_pe"} | ALL_C_BUT_PE | ALL_E, untouched=True),
    "wrong_output_index": Example(
        "outputs compared with the wrong index, Y[[1, 2, 0]]: the own assertion of Block B fails",
        frozenset({"test_block_b_max_diff", "test_block_c_max_diff", "test_block_e_results_match",
                   "test_block_e_results_thresholds"}),
        edits=(("block_b", "Y[[2, 0, 1]]", "Y[[1, 2, 0]]"), ("block_c", "Y_pe[[2, 0, 1]]", "Y_pe[[1, 2, 0]]"))),
    "pe_after_attention": Example(
        "PE added to the attention output instead of its input",
        frozenset({"test_block_c_outputs", "test_block_c_max_diff", "test_block_e_results_match"}),
        edits=(("block_c", "Y_pe = mha.forward(X + pe)", "Y_pe = mha.forward(X) + pe"),
               ("block_c", "Y_perm_pe = mha.forward(X_perm + pe)", "Y_perm_pe = mha.forward(X_perm) + pe"))),
    "pe_forgotten_on_permuted": Example(
        "PE added to X but forgotten on the permuted input",
        frozenset({"test_block_c_outputs", "test_block_c_max_diff", "test_block_e_results_match"}),
        edits=(("block_c", "Y_perm_pe = mha.forward(X_perm + pe)", "Y_perm_pe = mha.forward(X_perm)"),)),
    "features_permuted": Example(
        "X[:, [2, 0, 1]]: features permuted instead of tokens; attention then rejects the (3, 3) input",
        ALL_B | ALL_C_BUT_PE | ALL_E,
        edits=(("block_b", "X_perm = X[[2, 0, 1]]", "X_perm = X[:, [2, 0, 1]]"),)),
    "hand_typed_manifest": Example(
        "the manifest's numbers typed by hand, rounded from the printout",
        frozenset({"test_block_e_results_match"}),
        edits=(("block_e", '"without_PE_equivariance_max_diff": without_pe_max_diff',
                '"without_PE_equivariance_max_diff": 1e-9'),
               ("block_e", '"with_PE_equivariance_max_diff": with_pe_max_diff', '"with_PE_equivariance_max_diff": 0.16'))),
    "bad_date": Example(
        "a manifest date that is no real day",
        frozenset({"test_block_e_date"}),
        edits=(("block_e", '"date": datetime.date.today().isoformat()', '"date": "2026-02-30"'),)),
    "wrong_config": Example(
        "a manifest whose config names two heads",
        frozenset({"test_block_e_identity"}),
        edits=(("block_e", '"n_heads": 1,', '"n_heads": 2,'),)),
    "missing_fields": Example(
        "a manifest without its date and versions",
        frozenset({"test_block_e_schema", "test_block_e_date", "test_block_e_versions"}),
        edits=(("block_e", '    "date": datetime.date.today().isoformat(),\n', ""),
               ("block_e", '    "versions": {"python": platform.python_version(), "numpy": np.__version__},\n', ""))),
    "no_manifest_written": Example(
        "the manifest is built but never written to manifest.json",
        ALL_E,
        edits=(("block_e", 'with open("manifest.json", "w", encoding="utf-8") as manifest_file:\n'
                           '    json.dump(manifest, manifest_file, indent=2)\n    manifest_file.write("\\n")',
                "show(manifest)"),)),
    "block_raises": Example(
        "Block C raises: sinusoidal_pe(8, 3) has its arguments swapped, so X + pe cannot broadcast",
        frozenset({"test_block_c_pe"}) | ALL_C_BUT_PE | ALL_E,
        edits=(("block_c", "pe = sinusoidal_pe(3, 8)", "pe = sinusoidal_pe(8, 3)"),)),
    "tampered_tests": Example(
        "PE added after attention, and every test cell of Block C emptied: nbgrader restores locked cells",
        frozenset({"test_block_c_outputs", "test_block_c_max_diff", "test_block_e_results_match"}),
        edits=(("block_c", "Y_pe = mha.forward(X + pe)", "Y_pe = mha.forward(X) + pe"),
               ("block_c", "Y_perm_pe = mha.forward(X_perm + pe)", "Y_perm_pe = mha.forward(X_perm) + pe")),
        test_cell_edits={"test_block_c_pe": "pass", "test_block_c_outputs": "pass",
                         "test_block_c_assertion": "pass", "test_block_c_max_diff": "pass"}),
}

_MARKERS = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", re.MULTILINE)


def student_answers() -> dict[str, str]:
    """The instructor's solution cells as a student would type them: markers removed."""
    source = nbformat.read(SOURCE, as_version=4)
    return {cell.metadata["nbgrader"]["grade_id"]: _MARKERS.sub("", cell.source).strip()
            for cell in source.cells if cell.metadata.get("nbgrader", {}).get("solution")}


def build(name: str) -> nbformat.NotebookNode:
    """The submission of example ``name``: the release with its solution cells filled in."""
    example = EXAMPLES[name]
    notebook = copy.deepcopy(nbformat.read(RELEASE, as_version=4))
    if example.untouched:
        return notebook
    answers = student_answers()
    for grade_id, old, new in example.edits:
        if old not in answers[grade_id]:
            raise ValueError(f"example {name}: {old!r} no longer occurs in the solution of {grade_id}")
        answers[grade_id] = answers[grade_id].replace(old, new)
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = answers[grade_id]
        if grade_id in example.test_cell_edits:
            cell.source = example.test_cell_edits[grade_id]
    return notebook


def path_of(name: str) -> Path:
    return SUBMISSIONS / name / "demo.ipynb"


def write_all() -> None:
    for name, example in EXAMPLES.items():
        if example.built:
            path_of(name).parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(build(name), path_of(name))
            print(f"wrote {path_of(name).relative_to(ROOT)}")


if __name__ == "__main__":
    sys.exit(write_all())
