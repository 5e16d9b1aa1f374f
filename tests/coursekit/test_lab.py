"""A lab is described once: its cells' blocks, points and visibility live in its description, and every
check takes them from there."""

import dataclasses
import sys

import pytest

from coursegrader.labs import grading_checks, hidden_checks
from coursekit.checks import Check, Registry
from coursekit.lab import AnswerCell, Cells, CheckCell
from coursekit.labs.lab00 import LAB


def passes(results):
    return "fine"


def test_every_check_takes_block_points_and_visibility_from_the_description():
    checks = grading_checks(LAB)
    assert {check.grade_id for check in checks} == {cell.grade_id for cell in LAB.cells.check_cells()}
    for check in checks:
        cell = LAB.cells[check.grade_id]
        assert (check.block, check.points, check.visible) == (cell.block, cell.points, cell.visible)
        assert LAB.block_of(check.grade_id) == cell.block
    assert checks.total_points() == 21
    assert [cell.points for cell in LAB.cells.answer_cells() if cell.graded_by_hand] == [4]


def test_the_block_of_a_cell_the_description_does_not_list_is_none():
    assert LAB.block_of("block_d") == "D"
    assert LAB.block_of("block_d_text") is None  # instructions: read-only, in no block of the description
    assert LAB.block_of("test_block_z_forged") is None  # a name that only looks like a block's


def test_a_check_is_declared_by_keyword():
    with pytest.raises(TypeError):
        Check("test_x", "A", 1, True, "title", passes)  # noqa — the bare boolean the keywords replace
    check = Check("test_x", block="A", points=1, visible=True, title="title", function=passes)
    assert check.visible


def test_a_check_attaches_only_to_a_described_test_cell():
    with pytest.raises(ValueError, match="'block_a' is not a test cell"):
        LAB.cells.check("block_a", "title", passes)
    with pytest.raises(ValueError, match="'test_block_a_typo' is not a test cell"):
        LAB.cells.check("test_block_a_typo", "title", passes)


def test_self_checks_that_disagree_with_the_description_are_refused_naming_the_check():
    wrong_points = Check("test_block_a_mha", block="A", points=2, visible=True, title="t", function=passes)
    self_checks = Registry([wrong_points if check.grade_id == "test_block_a_mha" else check for check in LAB.self_checks])
    with pytest.raises(ValueError, match=r"check 'test_block_a_mha' has block 'A', 2 point\(s\)"):
        dataclasses.replace(LAB, self_checks=self_checks)
    fewer = Registry([check for check in LAB.self_checks if check.grade_id != "test_block_e_date"])
    with pytest.raises(ValueError, match="test cell 'test_block_e_date' .* has no self-check"):
        dataclasses.replace(LAB, self_checks=fewer)


def test_a_cell_outside_the_labs_blocks_is_refused():
    cells = Cells([*LAB.cells, CheckCell("test_block_f_more", block="F", points=1, visible=False)])
    with pytest.raises(ValueError, match="'test_block_f_more' is in block 'F'"):
        dataclasses.replace(LAB, cells=cells)
    with pytest.raises(ValueError, match="two cells share the grade_id 'block_a'"):
        Cells([AnswerCell("block_a", block="A"), AnswerCell("block_a", block="A")])


def test_hidden_checks_that_disagree_with_the_description_are_refused_naming_the_cell():
    hidden = LAB.cells.check_cells()[1]
    assert not hidden.visible
    cells = Cells([*LAB.cells, CheckCell("test_block_e_extra", block="E", points=1, visible=False)])
    with pytest.raises(ValueError, match="test cell 'test_block_e_extra' .* has no hidden check"):
        hidden_checks(dataclasses.replace(LAB, cells=cells))
    assert len(hidden_checks(LAB)) == 6


def test_each_labs_warm_up_cell_runs_to_the_mistake_students_make_most():
    """The kernel factory runs it to its error, so every forked kernel starts with a traceback's caches."""
    from coursekit.lab import all_labs

    for lab in all_labs():
        assert lab.warm_up, f"{lab.assignment} has no warm-up cell"
        with pytest.raises(Exception):  # noqa: B017 — any error a student's cell would raise
            exec(compile(lab.warm_up, f"<{lab.assignment} warm-up>", "exec"), {"__name__": "__main__"})


def test_a_labs_folder_that_is_not_one_is_named(monkeypatch, tmp_path):
    from coursekit.lab import LABS_VARIABLE, UnknownLab, all_labs, find_lab

    monkeypatch.setattr(sys, "path", list(sys.path))  # all_labs puts a labs folder on it
    monkeypatch.setenv(LABS_VARIABLE, str(tmp_path / "no-such-folder"))
    with pytest.raises(UnknownLab, match=f"{LABS_VARIABLE} names '.*no-such-folder', which is not a folder"):
        all_labs()
    monkeypatch.setenv(LABS_VARIABLE, str(tmp_path))  # a folder with no lab in it
    assert [lab.assignment for lab in all_labs()] == [LAB.assignment]
    with pytest.raises(UnknownLab, match=f"known assignments: {LAB.assignment} .*{LABS_VARIABLE}"):
        find_lab("99-no-such-lab")
