"""``FeedbackView``: what a student's page keeps of each check right after submitting, for each policy.

The preprocessor is run on the resources ``FeedbackResults`` leaves (a self-check, a hidden check and a
written answer a grader scored earlier) and on their cells; the end-to-end test renders the page itself.
"""

from __future__ import annotations

import nbformat
import pytest
from traitlets.config import Config

from coursegrader.results.results import FAILED, GRADED, PASSED, Results, Row
from coursegrader.service.feedback import FeedbackView


def page_parts():
    rows = [Row("test_block_a_mha", "A", "mha is right", 1.0, 1.0, PASSED, "mha is right", hidden=False, manual=False),
            Row("test_block_b_outputs", "B", "Y recomputed", 2.0, 0.0, FAILED, "expected: 0.1, found: 0.3",
                hidden=True, manual=False),
            Row("block_d", "D", "Block D", 4.0, 3.0, GRADED, "good answer", hidden=False, manual=True)]
    results = Results("alice", rows)
    cells = []
    for row in rows:
        cell = nbformat.v4.new_code_cell("run_check(...)")
        cell.metadata["nbgrader"] = {"grade_id": row.grade_id, "grade": True, "comment": "a grader's comment"}
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=row.message)]
        cells.append(cell)
    resources = {"coursekit": {"results": results, "rows": {row.grade_id: row for row in rows}, "language": "en",
                               "total": "4/7"}}
    return nbformat.v4.new_notebook(cells=cells), resources


def view(hidden: str):
    config = Config()
    config.FeedbackView.hidden, config.FeedbackView.attempt = hidden, 2
    config.WatchPolicy.max_attempts = 3
    nb, resources = page_parts()
    return FeedbackView(config=config).preprocess(nb, resources)


@pytest.mark.parametrize("hidden", ["outcome", "none", "full"])
def test_self_checks_show_in_full_and_the_written_answer_awaits_a_grader(hidden):
    nb, resources = view(hidden)
    rows = resources["coursekit"]["rows"]
    assert rows["test_block_a_mha"].message == "mha is right" and nb.cells[0].outputs
    written = rows["block_d"]
    assert (written.status, written.earned, written.message) == ("pending", None, "")
    assert "comment" not in nb.cells[-1].metadata["nbgrader"]
    assert "4 points await a grader" in resources["coursekit"]["total"]
    assert "attempt 2 of 3: 1 attempt is left" in " ".join(resources["coursekit"]["notice"])


def test_outcome_keeps_pass_or_fail_and_points_but_not_the_message():
    nb, resources = view("outcome")
    row = resources["coursekit"]["rows"]["test_block_b_outputs"]
    assert (row.status, row.earned, row.message) == (FAILED, 0.0, "")
    assert nb.cells[1].outputs == [] and "expected" not in str(nb)


def test_none_leaves_hidden_checks_out_and_counts_the_self_checks():
    nb, resources = view("none")
    assert "test_block_b_outputs" not in resources["coursekit"]["rows"]
    assert [cell.metadata["nbgrader"]["grade_id"] for cell in nb.cells] == ["test_block_a_mha", "block_d"]
    assert resources["coursekit"]["total"].startswith("1/5")
    assert "expected" not in str(nb) and "Y recomputed" not in str(resources["coursekit"]["rows"])


def test_full_shows_hidden_checks_as_the_instructors_feedback_does():
    nb, resources = view("full")
    assert resources["coursekit"]["rows"]["test_block_b_outputs"].message == "expected: 0.1, found: 0.3"
    assert nb.cells[1].outputs
