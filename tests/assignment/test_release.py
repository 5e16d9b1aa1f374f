"""The instructor's source notebook, and the student release nbgrader generates from it."""

import io
import re

import nbformat
import pytest
from rich.console import Console

from coursegrader.labs import grading_checks
from coursekit.lab import find_lab
from tests.assignment.conftest import ASSIGNMENT, ROOT

CHECKS = grading_checks(find_lab(ASSIGNMENT))

SOURCE = ROOT / "source" / ASSIGNMENT / "demo.ipynb"
RELEASE = ROOT / "release" / ASSIGNMENT / "demo.ipynb"
SOLUTION_CELLS = ["block_a", "block_b", "block_c", "block_d", "block_e"]


def nbgrader_meta(cell):
    return cell.metadata.get("nbgrader", {})


def split_regions(source):
    """(secret, public): stripped lines inside ### BEGIN SOLUTION / HIDDEN TESTS regions, and the rest."""
    secret, public, inside = [], [], False
    for line in source.splitlines():
        if re.match(r"\s*### BEGIN (SOLUTION|HIDDEN TESTS)", line):
            inside = True
        elif re.match(r"\s*### END (SOLUTION|HIDDEN TESTS)", line):
            inside = False
        else:
            (secret if inside else public).append(line.strip())
    return secret, public


def meaningful(lines):
    """Lines that would give an answer away: not blank, not a lone bracket."""
    return [line for line in lines if len(line) >= 4 and not re.fullmatch(r"[\W_]+", line)]


@pytest.fixture(scope="module")
def source():
    return nbformat.read(SOURCE, as_version=4)


@pytest.fixture(scope="module")
def release():
    return nbformat.read(RELEASE, as_version=4)


def test_committed_release_is_what_nbgrader_generates_now(graded_course):
    course, _ = graded_course
    fresh = nbformat.read(course / "release" / ASSIGNMENT / "demo.ipynb", as_version=4)
    committed = nbformat.read(RELEASE, as_version=4)
    assert fresh == committed, "release/ is stale: run `make release` and commit the result"
    assert sorted(p.name for p in (course / "release" / ASSIGNMENT).iterdir()) == \
        sorted(p.name for p in RELEASE.parent.iterdir())


def test_no_solution_or_hidden_test_line_reaches_the_release(source, release):
    secret, public = set(), set()
    for cell in source.cells:
        cell_secret, cell_public = split_regions(cell.source)
        secret.update(meaningful(cell_secret))
        public.update(cell_public)
    # a line the instructor also wrote in the open (the lab's manifest template, the import of
    # run_check in every self-check cell) gives nothing away
    secret -= public
    assert len(secret) > 40  # the solution and the hidden tests really were found
    released = {line.strip() for cell in release.cells for line in cell.source.splitlines()}
    for path in RELEASE.parent.iterdir():
        if path.suffix != ".ipynb":
            released.update(line.strip() for line in path.read_text().splitlines())
    assert not secret & released
    hidden_calls = {line for line in secret if line.startswith("run_check(")}
    assert len(hidden_calls) == sum(not check.visible for check in CHECKS)


def test_release_has_todo_stubs_for_blocks_a_to_e(release):
    cells = {nbgrader_meta(cell).get("grade_id"): cell for cell in release.cells}
    for grade_id in SOLUTION_CELLS:
        cell = cells[grade_id]
        assert nbgrader_meta(cell)["solution"]
        if cell.cell_type == "code":
            assert cell.source.startswith(f"# TODO Block {grade_id[-1].upper()}")
            assert "raise NotImplementedError()" in cell.source
        else:
            assert cell.source == "YOUR ANSWER HERE"
    assert all(not cell.get("outputs") for cell in release.cells if cell.cell_type == "code")


def test_every_check_has_one_locked_test_cell_after_its_block(source):
    order = [nbgrader_meta(cell).get("grade_id") for cell in source.cells]
    for check in CHECKS:
        cell = source.cells[order.index(check.grade_id)]
        meta = nbgrader_meta(cell)
        assert meta["grade"] and meta["locked"] and not meta["solution"]
        assert meta["points"] == check.points
        assert f'run_check("{check.grade_id}", globals())' in cell.source
        assert cell.source.count("run_check(") == 1  # one check per test cell
        assert ("### BEGIN HIDDEN TESTS" in cell.source) is (not check.visible)
        block_cell = order.index(f"block_{check.block.lower()}")
        next_block = min([order.index(f"block_{b}") for b in "abcde" if order.index(f"block_{b}") > block_cell],
                         default=len(order))
        assert block_cell < order.index(check.grade_id) < next_block
    test_cells = [gid for gid in order if gid and gid.startswith("test_")]
    assert set(test_cells) == {check.grade_id for check in CHECKS} and len(test_cells) == len(CHECKS)
    assert all(re.match(r"test_block_[abce]_", gid) for gid in test_cells)


def test_block_d_is_a_manually_graded_answer(source):
    cell = next(cell for cell in source.cells if nbgrader_meta(cell).get("grade_id") == "block_d")
    assert cell.cell_type == "markdown"
    assert nbgrader_meta(cell)["grade"] and nbgrader_meta(cell)["solution"] and nbgrader_meta(cell)["points"] > 0


def test_nbgrader_generate_solution_gives_the_full_solution_run_clean(graded_course):
    from tests import commands

    course, _ = graded_course
    commands.nbgrader(["generate_solution", ASSIGNMENT, "--force"], course)
    solution = nbformat.read(course / "solution" / ASSIGNMENT / "demo.ipynb", as_version=4)
    text = "\n".join(cell.source for cell in solution.cells)
    assert 'token_ids = tokenizer.encode("he work I")' in text  # nbgrader keeps the markers: it is the source, run
    outputs = [output for cell in solution.cells if cell.cell_type == "code" for output in cell.outputs]
    assert outputs and not [output for output in outputs if output.output_type == "error"]
    assert sum("✔ passed" in output.get("text", "") for output in outputs) == len(CHECKS)


# -----------------------------------------------------------------------------
# the source notebook, held against the lab's description before each release


def test_the_source_notebook_is_marked_as_the_labs_description_says(source):
    from coursegrader.commands.release import disagreements

    assert disagreements(source, find_lab(ASSIGNMENT)) == []


def test_course_release_refuses_a_source_that_disagrees_naming_each_cell(tmp_path, monkeypatch):
    from coursegrader.commands.cli import main as course_main
    from tests.assignment.conftest import make_course

    course = make_course(tmp_path / "course")
    path = course / "source" / ASSIGNMENT / "demo.ipynb"
    planted = nbformat.read(path, as_version=4)
    cells = {nbgrader_meta(cell).get("grade_id"): cell for cell in planted.cells}
    cells["test_block_a_mha"].metadata.nbgrader["points"] = 2  # the description gives it 1
    cells["test_block_c_pe"].source = "### BEGIN HIDDEN TESTS\n" + cells["test_block_c_pe"].source + "\n### END HIDDEN TESTS"
    cells["block_d"].metadata.nbgrader["points"] = 5
    cells["block_b"].metadata.nbgrader["locked"] = True
    cells["block_c_text"].metadata.nbgrader.update(grade=True, points=1)  # graded, but described nowhere
    planted.cells.remove(cells["test_block_e_date"])
    nbformat.write(planted, path)

    monkeypatch.chdir(course)
    output = io.StringIO()
    monkeypatch.setattr("coursegrader.commands.cli.make_console", lambda: Console(file=output, width=300))
    assert course_main(["release", ASSIGNMENT]) == 1
    message = output.getvalue()
    assert f"source/{ASSIGNMENT}/demo.ipynb disagrees with the description of lab {ASSIGNMENT!r}" in message
    for line in ["cell 'test_block_a_mha': 2 point(s) in the notebook, 1 in the description",
                 "cell 'test_block_c_pe': hidden in the notebook (### BEGIN HIDDEN TESTS), a self-check in the "
                 "description (visible=True)",
                 "cell 'block_d': 5 point(s) in the notebook, 4 in the description",
                 "cell 'block_b': the notebook has grade=false, solution=true, locked=true; the description has an "
                 "answer cell worth no points",
                 "cell 'block_c_text': the notebook has grade=true, solution=false, locked=true, task=false; the "
                 "description lists no such cell",
                 "cell 'test_block_e_date': the description lists it; the notebook has no such cell"]:
        assert line in message
    assert len([line for line in message.splitlines() if line.strip().startswith("cell ")]) == 6
    assert not (course / "release").exists()  # refused before nbgrader ran
