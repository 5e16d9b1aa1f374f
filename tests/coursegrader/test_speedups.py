"""coursegrader.speedups: each fix gives what the code it stands in for gives (nbgrader's own lookups,
nbformat's own check, dateutil's own parser), compared on the same inputs in one process."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import nbformat
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import event

from coursegrader import speedups

speedups.install()

import nbgrader.api as api  # noqa: E402  (after install: the patched class)
from jupyter_client import jsonutil  # noqa: E402
from nbformat.v4 import nbbase  # noqa: E402

FINDERS = ("find_source_cell", "find_grade_cell", "find_solution_cell", "find_task_cell", "find_graded_cell")


@pytest.fixture
def gradebook(tmp_path, monkeypatch):
    monkeypatch.setattr(api, "get_alembic_version", lambda: "e43177bfe90b")  # no `alembic` on PATH needed
    with api.Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}") as gradebook:
        gradebook.add_assignment("lab")
        gradebook.add_notebook("demo", "lab")
        for name, kind in [("setup", "code"), ("block_a", "code"), ("test_a", "code"), ("essay", "markdown"),
                           ("task", "markdown")]:
            gradebook.add_source_cell(name, "demo", "lab", cell_type=kind, locked=name != "block_a", source=name)
        gradebook.add_solution_cell("block_a", "demo", "lab")
        gradebook.add_solution_cell("essay", "demo", "lab")
        gradebook.add_grade_cell("test_a", "demo", "lab", max_score=2, cell_type="code")
        gradebook.add_grade_cell("essay", "demo", "lab", max_score=1, cell_type="markdown")
        gradebook.add_task_cell("task", "demo", "lab", max_score=3, cell_type="markdown")
        yield gradebook


def outcome(find, gradebook, name, notebook="demo", assignment="lab"):
    try:
        return find(gradebook, name, notebook, assignment)
    except api.MissingEntry as error:
        return ("MissingEntry", str(error))


@pytest.mark.parametrize("finder", FINDERS)
def test_cell_lookups_answer_as_nbgrader_does(gradebook, finder):
    patched = getattr(api.Gradebook, finder)
    assert patched.remembers_cells
    for name in ("setup", "block_a", "test_a", "essay", "task", "nothing"):
        assert outcome(patched, gradebook, name) == outcome(patched.original, gradebook, name), name
    assert outcome(patched, gradebook, "setup", notebook="other") == outcome(patched.original, gradebook, "setup",
                                                                             notebook="other")
    assert outcome(patched, gradebook, "setup", assignment="other") == outcome(patched.original, gradebook, "setup",
                                                                               assignment="other")


def test_lookups_of_one_notebook_take_one_query_per_kind_of_cell(gradebook):
    gradebook.db.commit()  # a new transaction: nothing remembered
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(gradebook.engine, "before_cursor_execute", listener)
    try:
        for _ in range(3):
            for name in ("setup", "block_a", "test_a", "essay", "task"):
                gradebook.find_source_cell(name, "demo", "lab")
        found = [gradebook.find_source_cell(name, "demo", "lab").source for name in ("setup", "essay")]
    finally:
        event.remove(gradebook.engine, "before_cursor_execute", listener)
    assert found == ["setup", "essay"]
    assert len([statement for statement in statements if statement.lstrip().upper().startswith("SELECT")]) == 1


def test_a_cell_added_after_a_lookup_is_found(gradebook):
    with pytest.raises(api.MissingEntry):
        gradebook.find_source_cell("late", "demo", "lab")
    gradebook.update_or_create_source_cell("late", "demo", "lab", cell_type="code", locked=True, source="late")
    assert gradebook.find_source_cell("late", "demo", "lab").source == "late"
    gradebook.add_grade_cell("late", "demo", "lab", max_score=4, cell_type="code")
    assert gradebook.find_graded_cell("late", "demo", "lab").max_score == 4


def test_a_changed_cell_is_seen_changed(gradebook):
    assert gradebook.find_source_cell("setup", "demo", "lab").source == "setup"
    gradebook.update_or_create_source_cell("setup", "demo", "lab", source="changed")
    assert gradebook.find_source_cell("setup", "demo", "lab").source == "changed"
    assert api.Gradebook.find_source_cell.original(gradebook, "setup", "demo", "lab").source == "changed"


# -----------------------------------------------------------------------------
# outputs checked with the compiled schema


def check(validate, node, ref):
    try:
        validate(node, ref)
        return None
    except Exception as error:  # noqa: BLE001
        return type(error).__name__, str(error)


@pytest.mark.parametrize("node, ref", [
    (nbformat.v4.new_output("stream", text="hello\n"), "output"),
    (nbformat.v4.new_output("execute_result", data={"text/plain": "1"}, execution_count=1), "output"),
    (nbformat.v4.new_output("error", ename="E", evalue="v", traceback=["t"]), "output"),
    ({"output_type": "stream", "name": "stdout", "text": 3}, "output"),
    ({"output_type": "stream", "name": "stdout"}, "output"),
    ({"output_type": "display_data", "data": {"text/plain": "x"}, "metadata": {}, "extra": 1}, "output"),
    ({"output_type": "nonsense"}, "output"),
    (nbformat.v4.new_code_cell("x = 1"), "code_cell"),
    ({"cell_type": "code", "source": "x"}, "code_cell"),
])
def test_outputs_are_judged_as_nbformat_judges_them(node, ref):
    assert isinstance(nbbase.validate, speedups._CompiledNodeValidator)
    assert check(nbbase.validate, node, ref) == check(nbbase.validate._original, node, ref)


# -----------------------------------------------------------------------------
# message timestamps


@settings(max_examples=300, deadline=None)
@given(moment=st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1)),
       offset_minutes=st.integers(-23 * 60, 23 * 60), digits=st.integers(0, 6),
       zone=st.sampled_from(["Z", "+HH:MM", "+HHMM", ""]))
def test_timestamps_read_as_dateutil_reads_them(moment, offset_minutes, digits, zone):
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if digits:
        text += "." + f"{moment.microsecond:06d}"[:digits]
    sign, minutes = ("+" if offset_minutes >= 0 else "-"), abs(offset_minutes)
    text += {"Z": "Z", "+HH:MM": f"{sign}{minutes // 60:02d}:{minutes % 60:02d}",
             "+HHMM": f"{sign}{minutes // 60:02d}{minutes % 60:02d}", "": ""}[zone]
    assert jsonutil.ISO8601_PAT.match(text)
    fast, reference = jsonutil._dateutil_parse(text), jsonutil._dateutil_parse.original(text)
    assert fast == reference
    assert fast.utcoffset() == reference.utcoffset()
    assert fast.strftime("%Y-%m-%dT%H:%M:%S.%fZ") == reference.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_a_timestamp_fromisoformat_cannot_read_goes_to_dateutil():
    text = "2026-11-29T24:00:00Z"  # ISO 8601's end of day: dateutil reads it, datetime.fromisoformat does not
    assert jsonutil.ISO8601_PAT.match(text)
    with pytest.raises(ValueError):
        datetime.fromisoformat(text)
    assert jsonutil._dateutil_parse(text) == datetime(2026, 11, 30, tzinfo=timezone(timedelta(0)))
