"""coursegrader.speedups: each fix gives what the code it stands in for gives, on recorded inputs, in one process.

Recorded inputs: the nbgrader metadata and the outputs of every notebook nbgrader ships for its own tests
and of every notebook of this project (source, releases, example submissions), gradebooks filled by
nbgrader's own ``SaveCells`` from the lab's source notebook, and alembic script folders (nbgrader's
migration scripts, and copies of them with revisions planted: branches, two heads, scripts alembic cannot
read). Each fix is compared with the original it replaced (kept by the fix), on the same inputs: the same
results and the same errors (for ``alembic_heads``, errors of another class: its docstring says which).

The ``speedups_on`` fixture applies them and removes them again, so no test after these runs patched.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import jsonschema
import nbformat
import nbgrader
import nbgrader.api as api
import nbgrader.dbutil
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jupyter_client import jsonutil
from nbformat.v4 import nbbase
from nbgrader.nbgraderformat import common
from sqlalchemy import event
from sqlalchemy.orm import Session
from traitlets.config import Config, PyFileConfigLoader

from coursegrader import speedups
from coursegrader.speedups import (alembic_heads, cell_lookups, engines, gradebook_schema, metadata_schema,
                                   output_schema, registry, timestamps)
from tests import commands

ROOT = Path(__file__).resolve().parents[3]
NBGRADER_TESTS = Path(nbgrader.__file__).parent / "tests"
APPLIED = ["metadata_schema", "engines", "output_schema", "timestamps", "cell_lookups", "alembic_heads"]  # by apply()


@pytest.fixture
def speedups_on():
    """Every fix ``apply`` applies, applied for one test, and nbgrader as shipped again after it."""
    assert speedups.applied() == [], "a test before this one left nbgrader patched"
    assert speedups.apply() == APPLIED, "a fix was skipped: the comparisons below would compare nbgrader with itself"
    yield
    speedups.remove()
    assert speedups.applied() == []


@pytest.fixture
def no_alembic(monkeypatch):
    monkeypatch.setattr(api, "get_alembic_version", lambda: "e43177bfe90b")  # no `alembic` on PATH needed


def recorded_notebooks() -> list[Path]:
    """nbformat 4 notebooks: nbgrader's test files, this project's source, releases and example submissions."""
    found = []
    for folder in (NBGRADER_TESTS, ROOT / "source", ROOT / "release", ROOT / "release-es", ROOT / "tests" / "examples"):
        for path in sorted(folder.rglob("*.ipynb")):
            try:
                notebook = json.loads(path.read_text(encoding="utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                continue  # the examples' deliberately broken notebooks
            if isinstance(notebook, dict) and notebook.get("nbformat") == 4:
                found.append(path)
    return found


RECORDED = recorded_notebooks()


def cells_of(path: Path) -> list[dict]:
    cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
    return [cell for cell in cells if isinstance(cell, dict)]


def outcome(function, *args):
    """What a call gives: its value, or its error's class and message."""
    try:
        return "returned", function(*args)
    except Exception as error:  # noqa: BLE001
        return type(error).__name__, str(error)


def test_enough_recorded_inputs():
    assert len(RECORDED) >= 60
    assert sum(bool(cell.get("metadata", {}).get("nbgrader")) for path in RECORDED for cell in cells_of(path)) >= 300


# -----------------------------------------------------------------------------
# the registry: applied explicitly, removed completely, skipped on other versions, switched off by configuration


def patched_places() -> dict[str, object]:
    return {"nbgraderformat.common.jsonschema": common.jsonschema, "nbgrader.api.create_engine": api.create_engine,
            "nbformat.v4.nbbase.validate": nbbase.validate, "jsonutil._dateutil_parse": jsonutil._dateutil_parse,
            **{f"Gradebook.{name}": getattr(api.Gradebook, name) for name in cell_lookups.FINDERS},
            "nbgrader.api.inspect": api.inspect, "Base.metadata.create_all": api.Base.metadata.create_all,
            "nbgrader.api.get_alembic_version": api.get_alembic_version}


def test_apply_then_remove_leaves_nbgrader_as_shipped():
    shipped = patched_places()
    assert speedups.apply() == APPLIED
    speedups.trust_gradebook_schema()
    assert speedups.applied() == [*APPLIED, "gradebook_schema"]
    changed = patched_places()
    assert [place for place in shipped if changed[place] == shipped[place]] == []  # every place
    listeners = list(cell_lookups._listeners)
    assert len(listeners) == 2 and all(event.contains(Session, name, listener) for name, listener in listeners)
    assert speedups.apply() == APPLIED and patched_places() == changed  # nothing applied twice
    speedups.remove()
    assert speedups.applied() == []
    assert patched_places() == shipped
    assert not any(event.contains(Session, name, listener) for name, listener in listeners)


def test_a_fix_written_for_other_versions_is_skipped_with_one_warning_line(monkeypatch, caplog):
    real = registry.installed_version
    monkeypatch.setattr(registry, "installed_version",
                        lambda name: {"nbgrader": "0.9.7", "fastjsonschema": None}.get(name, real(name)))
    monkeypatch.setattr(registry, "_warned", set())
    with caplog.at_level(logging.WARNING, logger="coursegrader.speedups"):
        try:
            assert speedups.apply() == ["timestamps"]
            assert speedups.apply() == ["timestamps"]  # asked again: no second warning
            assert speedups.applied() == ["timestamps"]
            assert not isinstance(api.create_engine, engines.EngineCache)
            assert not hasattr(api.Gradebook.find_source_cell, "original")
            assert not isinstance(api.get_alembic_version, alembic_heads.InProcessHeads)
        finally:
            speedups.remove()
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 5, lines
    assert all("\n" not in line for line in lines)
    by_fix = {re.search(r"speedups: (\w+) skipped", line).group(1): line for line in lines}
    assert sorted(by_fix) == ["alembic_heads", "cell_lookups", "engines", "metadata_schema", "output_schema"]
    assert by_fix["engines"].endswith(": written for nbgrader 0.9.6, found nbgrader 0.9.7")  # only what differs
    assert "fastjsonschema 2.22.3" in by_fix["output_schema"] and "fastjsonschema not installed" in by_fix["output_schema"]


def test_every_fix_is_written_for_the_versions_this_project_pins():
    pinned = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        name, _, version = line.partition("==")
        pinned[re.sub(r"[-_.]+", "-", name).lower()] = version
    for fix in registry.ALL:
        for distribution, version in fix.WRITTEN_FOR.items():
            assert pinned.get(re.sub(r"[-_.]+", "-", distribution).lower()) == version, (
                f"constraints.txt pins another {distribution} than {registry.fix_name(fix)} was written for "
                f"({version}): check the fix against the new version (this file, `make test-nbgrader`), then "
                "update its WRITTEN_FOR; until then it is skipped")


def test_the_switch_in_configuration_turns_them_off_and_removes_them():
    off = Config()
    off.CourseSpeedups.enabled = False
    try:
        assert speedups.apply(off) == [] and speedups.applied() == []
        assert speedups.apply(Config()) == APPLIED  # on unless switched off
        assert speedups.apply(off) == [] and speedups.applied() == []
        speedups.trust_gradebook_schema()  # only where the speedups are enabled
        assert speedups.applied() == []
    finally:
        speedups.remove()


@pytest.mark.parametrize("enabled", [True, False])
def test_nbgrader_config_applies_them_as_its_switch_says(tmp_path, enabled):
    config = (ROOT / "nbgrader_config.py").read_text()
    assert config.count("c.CourseSpeedups.enabled = True\n") == 1
    (tmp_path / "nbgrader_config.py").write_text(config.replace("c.CourseSpeedups.enabled = True\n",
                                                                f"c.CourseSpeedups.enabled = {enabled}\n"))
    try:
        speedups.apply()
        PyFileConfigLoader("nbgrader_config.py", path=str(tmp_path)).load_config()
        assert speedups.applied() == (APPLIED if enabled else [])
    finally:
        speedups.remove()


def test_trust_gradebook_schema_waits_for_the_speedups_to_be_enabled():
    speedups.trust_gradebook_schema()
    assert speedups.applied() == []
    try:
        speedups.apply()
        speedups.trust_gradebook_schema()
        assert "gradebook_schema" in speedups.applied()
    finally:
        speedups.remove()


# -----------------------------------------------------------------------------
# metadata_schema: nbgrader's cell metadata checked by jsonschema, the validator built once per schema


def nbgrader_schemas() -> dict[str, dict]:
    folder = Path(common.__file__).parent
    return {path.stem: json.loads(path.read_text()) for path in sorted(folder.glob("v*.json"))}


def recorded_metadata() -> list[object]:
    """Every distinct nbgrader metadata of the recorded notebooks, and hand-made invalid ones."""
    seen, found = set(), []
    for path in RECORDED:
        for cell in cells_of(path):
            metadata = cell.get("metadata", {}).get("nbgrader")
            key = json.dumps(metadata, sort_keys=True)
            if metadata is not None and key not in seen:
                seen.add(key)
                found.append(metadata)
    valid = {"schema_version": 3, "grade": True, "solution": False, "locked": True, "task": False,
             "grade_id": "test_a", "points": 2}
    found += [
        {**valid, "points": -1}, {**valid, "points": "2"}, {**valid, "grade_id": "no spaces"},
        {**valid, "grade": "yes"}, {**valid, "checksum": "short"}, {**valid, "cell_type": "python"},
        {**valid, "schema_version": 4}, {**valid, "unexpected": 1}, {key: value for key, value in valid.items()
                                                                     if key != "grade_id"},
        {"schema_version": 3}, {}, [], "nbgrader", None, {**valid, "points": float("nan")},
    ]
    return found


METADATA = recorded_metadata()


def test_metadata_is_judged_as_jsonschema_judges_it(speedups_on):
    compiled = common.jsonschema
    assert isinstance(compiled, metadata_schema.CompiledJsonschema)
    verdicts = set()
    for version, schema in nbgrader_schemas().items():
        for metadata in METADATA:
            fast, reference = outcome(compiled.validate, metadata, schema), outcome(jsonschema.validate, metadata, schema)
            assert fast == reference, (version, metadata)
            verdicts.add(fast[0])
    assert verdicts == {"returned", "ValidationError"}  # both kinds of answer were compared
    assert len(compiled._validators) == len(nbgrader_schemas())  # one validator per schema, not per call


def test_nbgraders_own_cell_check_answers_as_shipped(speedups_on):
    from nbgrader.nbgraderformat import MetadataValidator

    cells = [nbformat.from_dict({"cell_type": "code", "metadata": {"nbgrader": metadata}, "source": ""})
             for metadata in METADATA if isinstance(metadata, dict)]
    fast = [outcome(MetadataValidator().validate_cell, cell) for cell in cells]
    speedups.remove()
    assert fast == [outcome(MetadataValidator().validate_cell, cell) for cell in cells]


def test_an_invalid_schema_fails_every_time_and_a_changed_schema_is_a_new_one(speedups_on):
    compiled = common.jsonschema
    bad = {"type": "object", "properties": {"points": {"type": "nonsense"}}}
    for _ in range(2):
        assert outcome(compiled.validate, {}, bad) == outcome(jsonschema.validate, {}, bad)
        assert outcome(compiled.validate, {}, bad)[0] == "SchemaError"
    schema = {"type": "object", "properties": {"points": {"type": "number"}}}
    assert outcome(compiled.validate, {"points": "2"}, schema)[0] == "ValidationError"
    schema["properties"]["points"]["type"] = "string"  # changed in place: judged by what it says now
    assert outcome(compiled.validate, {"points": "2"}, schema) == ("returned", None)
    assert outcome(compiled.validate, {"points": 2}, schema) == outcome(jsonschema.validate, {"points": 2}, schema)
    assert compiled.ValidationError is jsonschema.ValidationError  # the rest of the module passes through


# -----------------------------------------------------------------------------
# output_schema: nbformat's check of each node it creates, compiled once


def recorded_nodes() -> list[tuple[object, str]]:
    """(node, ref) pairs: every cell and output of the recorded notebooks, and hand-made invalid ones."""
    seen, found = set(), []
    for path in RECORDED:
        for cell in cells_of(path):
            for node, ref in [(cell, f"{cell.get('cell_type')}_cell"),
                              *[(output, "output") for output in cell.get("outputs", [])]]:
                key = (json.dumps(node, sort_keys=True), ref)
                if key not in seen:
                    seen.add(key)
                    found.append((node, ref))
    found += [
        ({"output_type": "stream", "name": "stdout", "text": 3}, "output"),
        ({"output_type": "stream", "name": "stdout"}, "output"),
        ({"output_type": "display_data", "data": {"text/plain": "x"}, "metadata": {}, "extra": 1}, "output"),
        ({"output_type": "execute_result", "data": {}, "metadata": {}, "execution_count": "1"}, "output"),
        ({"output_type": "error", "ename": "E", "evalue": "v"}, "output"),
        ({"output_type": "nonsense"}, "output"), ("not a node", "output"), (None, "output"),
        ({"cell_type": "code", "source": "x"}, "code_cell"),
        ({"cell_type": "markdown", "source": "x", "metadata": {}, "outputs": []}, "markdown_cell"),
        ({"cell_type": "code", "source": "x", "metadata": {}, "outputs": [], "execution_count": None}, "no_such_ref"),
        (nbformat.v4.new_output("stream", text="hello\n"), "output"),
        (nbformat.v4.new_code_cell("x = 1"), "code_cell"),
    ]
    return found


def test_nodes_are_judged_as_nbformat_judges_them(speedups_on):
    validate = nbbase.validate
    assert isinstance(validate, output_schema.CompiledNodeValidator)
    nodes = recorded_nodes()
    assert len(nodes) >= 400
    verdicts = set()
    for node, ref in nodes:
        fast, reference = outcome(validate, node, ref), outcome(validate._original, node, ref)
        assert fast == reference, (ref, node)
        verdicts.add(fast[0])
    assert {"returned", "NotebookValidationError", "_WrappedReferencingError"} <= verdicts  # each kind was compared


def test_a_valid_node_never_reaches_nbformats_own_check(speedups_on, monkeypatch):
    calls = []
    original = nbbase.validate._original
    monkeypatch.setattr(nbbase.validate, "_original", lambda node, ref=None: calls.append(ref) or original(node, ref))
    for node, ref in recorded_nodes():
        outcome(nbbase.validate, node, ref)
    valid = sum(outcome(original, node, ref)[0] == "returned" for node, ref in recorded_nodes())
    assert valid > 200 and len(calls) == len(recorded_nodes()) - valid  # only the rejected ones go there
    nbformat.v4.new_output("stream", text="x")  # nbformat's own constructors call the compiled check
    assert len(calls) == len(recorded_nodes()) - valid


# -----------------------------------------------------------------------------
# timestamps: message dates read by datetime.fromisoformat


@settings(max_examples=300, deadline=None)
@given(moment=st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1)),
       offset_minutes=st.integers(-23 * 60, 23 * 60), digits=st.integers(0, 6),
       zone=st.sampled_from(["Z", "+HH:MM", "+HHMM", ""]))
def test_timestamps_read_as_dateutil_reads_them(moment, offset_minutes, digits, zone):
    from dateutil.parser import isoparse

    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if digits:
        text += "." + f"{moment.microsecond:06d}"[:digits]
    sign, minutes = ("+" if offset_minutes >= 0 else "-"), abs(offset_minutes)
    text += {"Z": "Z", "+HH:MM": f"{sign}{minutes // 60:02d}:{minutes % 60:02d}",
             "+HHMM": f"{sign}{minutes // 60:02d}{minutes % 60:02d}", "": ""}[zone]
    assert jsonutil.ISO8601_PAT.match(text)
    fast, reference = timestamps.fast_isoparse(isoparse)(text), isoparse(text)
    assert fast == reference
    assert fast.utcoffset() == reference.utcoffset()
    assert fast.strftime("%Y-%m-%dT%H:%M:%S.%f%z") == reference.strftime("%Y-%m-%dT%H:%M:%S.%f%z")


def test_jupyter_client_reads_message_dates_as_shipped(speedups_on):
    recorded = ["2026-11-29T10:15:03.123456Z", "2026-11-29T10:15:03Z", "2026-11-29T10:15:03.5+01:00",
                "2026-11-29T10:15:03-0330", "2026-11-29T24:00:00Z", "2026-02-30T10:00:00Z", "not a date", None]
    assert hasattr(jsonutil._dateutil_parse, "original")
    fast = [outcome(jsonutil.parse_date, text) for text in recorded]
    speedups.remove()
    assert fast == [outcome(jsonutil.parse_date, text) for text in recorded]
    assert fast[4] == ("returned", datetime(2026, 11, 30, tzinfo=timezone(timedelta(0))))  # dateutil's reading


# -----------------------------------------------------------------------------
# engines: one engine per database, never one in-memory database for two gradebooks


def test_a_gradebook_file_reuses_its_engine_and_closing_still_disposes(speedups_on, no_alembic, tmp_path):
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with api.Gradebook(url) as first:
        first.add_assignment("lab")
        engine = first.engine
        assert engine.pool.checkedin() + engine.pool.checkedout() >= 1
    assert engine.pool.checkedin() == 0 and engine.pool.checkedout() == 0  # close() disposed of its connections
    with api.Gradebook(url) as second:
        assert second.engine is engine
        assert [assignment.name for assignment in second.assignments] == ["lab"]
    with api.Gradebook(f"sqlite:///{tmp_path / 'other.db'}") as other:
        assert other.engine is not engine and other.assignments == []


@pytest.mark.parametrize("url", ["sqlite:///:memory:", "sqlite://"])
def test_in_memory_gradebooks_never_share_a_database(speedups_on, no_alembic, url):
    # nbgrader's test_course_id_multiple_assignments and test_add_grade_cell, in short
    with api.Gradebook(url, course_id="one") as first:
        first.add_assignment("lab", course_id="one")
        with api.Gradebook(url, course_id="two") as second:
            assert second.engine is not first.engine
            assert second.assignments == []
            second.add_assignment("lab", course_id="two")  # the same name: no clash, it is another database
            assert [course.id for course in second.db.query(api.Course)] == ["two"]
        assert [course.id for course in first.db.query(api.Course)] == ["one"]


@pytest.mark.parametrize("url, shared", [
    ("sqlite:////srv/course/gradebook.db", True),
    ("postgresql+psycopg2://grader:secret@db.example.org/course", True),
    ("sqlite:///:memory:", False), ("sqlite://", False), ("sqlite:///gradebook.db", False),
    ("sqlite:///file:gradebook?mode=memory&cache=shared&uri=true", False),
    ("sqlite:////srv/course/gradebook.db?mode=memory", False), ("not a url", False),
])
def test_which_urls_name_one_database(url, shared):
    assert engines.one_database_per_url(url) is shared


def test_the_engine_cache_hands_out_what_create_engine_would(speedups_on):
    create_engine, original = api.create_engine, api.create_engine.original
    server = "postgresql+psycopg2://grader:secret@db.example.org/course"  # created, never connected
    assert create_engine(server, echo=False, future=True) is create_engine(server, echo=False, future=True)
    assert create_engine(server, echo=True) is not create_engine(server, echo=False)
    assert create_engine(server.replace("secret", "other")) is not create_engine(server)
    assert str(create_engine(server).url) == str(original(server).url)
    assert create_engine("sqlite:///gradebook.db") is not create_engine("sqlite:///gradebook.db")  # relative
    for bad in ["not a url", "nosuchdialect://x", 42]:
        assert outcome(create_engine, bad)[0] != "returned"
        assert outcome(create_engine, bad) == outcome(original, bad)


def test_a_forked_process_forgets_the_parents_engines(speedups_on, tmp_path):
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    parent = api.create_engine(url)
    speedups.forget_engines()
    assert api.create_engine(url) is not parent
    assert api.create_engine(url) is api.create_engine(url)


# -----------------------------------------------------------------------------
# cell_lookups: the five find_* methods, compared with nbgrader's own on the same gradebook


@pytest.fixture
def gradebook(tmp_path, no_alembic):
    """A gradebook as `nbgrader generate_assignment` fills it (``filled_gradebook``), for a test that changes it."""
    yield from filled_gradebook(tmp_path)


@pytest.fixture(scope="module")
def unchanged_gradebook(tmp_path_factory):
    """``filled_gradebook`` once for the tests that only look things up in it."""
    filling = filled_gradebook(tmp_path_factory.mktemp("lookups"))
    with pytest.MonkeyPatch.context() as patch:  # as no_alembic, while it is made only: later tests look for alembic
        patch.setattr(api, "get_alembic_version", lambda: "e43177bfe90b")
        gradebook = next(filling)
    yield gradebook
    filling.close()  # the gradebook closed


def filled_gradebook(folder: Path):
    """A gradebook as `nbgrader generate_assignment` fills it: the lab's source notebook, saved by nbgrader's
    own SaveCells, twice (two assignments), plus a notebook of hand-made cells of every kind."""
    from nbgrader.preprocessors import SaveCells

    url = f"sqlite:///{folder / 'gradebook.db'}"
    source = nbformat.read(ROOT / "source" / "16-permutation-equivariance" / "demo.ipynb", as_version=4)
    with api.Gradebook(url) as gradebook:
        for assignment in ("lab", "lab-again"):
            gradebook.add_assignment(assignment)
            SaveCells().preprocess(source, {"nbgrader": {"notebook": "demo", "assignment": assignment, "db_url": url}})
        gradebook.add_notebook("extra", "lab")
        for name, kind in [("setup", "code"), ("block_a", "code"), ("test_a", "code"), ("essay", "markdown"),
                           ("task", "markdown")]:
            gradebook.add_source_cell(name, "extra", "lab", cell_type=kind, locked=name != "block_a", source=name)
        gradebook.add_solution_cell("block_a", "extra", "lab")
        gradebook.add_solution_cell("essay", "extra", "lab")
        gradebook.add_grade_cell("test_a", "extra", "lab", max_score=2, cell_type="code")
        gradebook.add_grade_cell("essay", "extra", "lab", max_score=1, cell_type="markdown")
        gradebook.add_task_cell("task", "extra", "lab", max_score=3, cell_type="markdown")
        yield gradebook


def names_to_look_up(gradebook) -> list[tuple[str, str, str]]:
    names = sorted({cell.name for kind in (api.SourceCell, api.GradeCell, api.SolutionCell, api.TaskCell)
                    for cell in gradebook.db.query(kind)})
    return [(name, notebook, assignment) for name in [*names, "nothing", "", "SETUP", "setup "]
            for notebook in ("demo", "extra", "other") for assignment in ("lab", "lab-again", "other")]


@pytest.mark.parametrize("finder", cell_lookups.FINDERS)
def test_cell_lookups_answer_as_nbgrader_does(speedups_on, unchanged_gradebook, finder):
    gradebook = unchanged_gradebook
    patched = getattr(api.Gradebook, finder)
    assert patched.original is cell_lookups._originals[finder]
    lookups = names_to_look_up(gradebook)
    answers = [outcome(patched, gradebook, *lookup) for lookup in lookups]
    assert answers == [outcome(patched.original, gradebook, *lookup) for lookup in lookups]
    assert {answer[0] for answer in answers} == {"returned", "MissingEntry"}  # both were compared


def count_selects(gradebook, lookups) -> int:
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(gradebook.engine, "before_cursor_execute", listener)
    try:
        lookups()
    finally:
        event.remove(gradebook.engine, "before_cursor_execute", listener)
    return sum(statement.lstrip().upper().startswith("SELECT") for statement in statements)


def test_lookups_of_one_notebook_take_one_query_per_kind_of_cell(speedups_on, gradebook):
    gradebook.db.commit()  # a new transaction: nothing remembered

    def lookups():
        for _ in range(3):
            for name in ("setup", "block_a", "test_a", "essay", "task", "nothing"):
                outcome(gradebook.find_source_cell, name, "extra", "lab")

    assert count_selects(gradebook, lookups) == 1


def test_a_database_that_compares_names_otherwise_gets_nbgraders_own_query(speedups_on, gradebook, monkeypatch):
    monkeypatch.setattr(gradebook.engine.dialect, "name", "mysql")
    gradebook.db.commit()
    assert count_selects(gradebook, lambda: [gradebook.find_source_cell("setup", "extra", "lab") for _ in range(3)]) == 3


def test_a_cell_added_after_a_lookup_is_found(speedups_on, gradebook):
    with pytest.raises(api.MissingEntry):
        gradebook.find_source_cell("late", "extra", "lab")
    gradebook.update_or_create_source_cell("late", "extra", "lab", cell_type="code", locked=True, source="late")
    assert gradebook.find_source_cell("late", "extra", "lab").source == "late"
    gradebook.add_grade_cell("late", "extra", "lab", max_score=4, cell_type="code")
    assert gradebook.find_graded_cell("late", "extra", "lab").max_score == 4


def test_changes_not_yet_written_are_seen_as_nbgrader_sees_them(speedups_on, gradebook):
    assert gradebook.find_source_cell("setup", "extra", "lab").source == "setup"  # remembered
    notebook = gradebook.find_notebook("extra", "lab")
    gradebook.db.add(api.SourceCell(name="pending", cell_type="code", locked=True, source="p", notebook=notebook))
    renamed = gradebook.find_source_cell("task", "extra", "lab")
    renamed.name = "renamed"  # not committed: nbgrader's query would flush it first
    for name in ("pending", "renamed", "task", "setup"):
        fast = outcome(gradebook.find_source_cell, name, "extra", "lab")
        assert fast == outcome(api.Gradebook.find_source_cell.original, gradebook, name, "extra", "lab"), name
    assert outcome(gradebook.find_source_cell, "task", "extra", "lab")[0] == "MissingEntry"
    gradebook.db.rollback()
    assert gradebook.find_source_cell("task", "extra", "lab").name == "task"
    assert outcome(gradebook.find_source_cell, "pending", "extra", "lab")[0] == "MissingEntry"


def test_a_changed_cell_is_seen_changed(speedups_on, gradebook):
    assert gradebook.find_source_cell("setup", "extra", "lab").source == "setup"
    gradebook.update_or_create_source_cell("setup", "extra", "lab", source="changed")
    assert gradebook.find_source_cell("setup", "extra", "lab").source == "changed"
    assert api.Gradebook.find_source_cell.original(gradebook, "setup", "extra", "lab").source == "changed"


# -----------------------------------------------------------------------------
# gradebook_schema: the tables checked once per database, in a process that grades one run


def statements_of(open_gradebook) -> list[str]:
    from sqlalchemy import Engine

    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(Engine, "before_cursor_execute", listener)
    try:
        open_gradebook()
    finally:
        event.remove(Engine, "before_cursor_execute", listener)
    return statements


def describe(url: str) -> tuple:
    with api.Gradebook(url) as gradebook:
        tables = sorted(api.inspect(gradebook.engine).get_table_names()) if not gradebook_schema.applied() else None
        alembic = gradebook.db.execute(api.text("SELECT version_num FROM alembic_version")).all()
        return tables, alembic, [assignment.name for assignment in gradebook.assignments]


def test_trusted_tables_are_checked_once_per_database_file(no_alembic, tmp_path):
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    shipped = describe(url)
    opening = statements_of(lambda: api.Gradebook(url).close())
    try:
        speedups.apply()
        speedups.trust_gradebook_schema()
        new_url = f"sqlite:///{tmp_path / 'new.db'}"
        assert describe(new_url)[1:] == describe(new_url)[1:] == shipped[1:]  # a new database is set up as before
        trusted = statements_of(lambda: api.Gradebook(new_url).close())
        assert describe(url)[1:] == shipped[1:]
    finally:
        speedups.remove()
    assert any("sqlite_master" in statement or "PRAGMA" in statement for statement in opening)
    assert not any("sqlite_master" in statement or "PRAGMA" in statement for statement in trusted)
    assert len(trusted) < len(opening)
    with api.Gradebook(new_url) as gradebook:  # what the trusted openings left is what nbgrader would have made
        assert sorted(api.inspect(gradebook.engine).get_table_names()) == shipped[0]


@pytest.mark.parametrize("url", ["sqlite:///:memory:", "sqlite://"])
def test_trusted_in_memory_gradebooks_each_get_their_tables(no_alembic, url):
    try:
        speedups.apply()
        speedups.trust_gradebook_schema()
        for course in ("one", "two", "three"):
            with api.Gradebook(url, course_id=course) as gradebook:
                gradebook.add_assignment("lab", course_id=course)
                assert [assignment.name for assignment in gradebook.assignments] == ["lab"]
    finally:
        speedups.remove()


# -----------------------------------------------------------------------------
# alembic_heads: nbgrader's `alembic -c <ini> heads` for a new gradebook, asked in this process


@pytest.fixture
def new_alembic_process(monkeypatch):
    """The `alembic` of this environment first on PATH, for nbgrader's own function (which runs it by name)."""
    monkeypatch.setenv("PATH", os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))


@pytest.fixture
def real_alembic(new_alembic_process, monkeypatch):
    """nbgrader's own function, its `alembic` command line forked from tests.commands' server (which imported
    alembic once: a new `alembic` process costs a second of CPU) with its arguments, working folder and
    environment; its output, or ``CalledProcessError``, as ``subprocess.check_output`` gives them.
    (test_commands.py compares such a fork with a new `alembic` process.)"""
    started = api.sp.check_output

    def check_output(args, *rest, **kwargs):
        if rest or kwargs or list(args[:1]) != ["alembic"]:
            return started(args, *rest, **kwargs)
        done = commands.run("alembic", list(args[1:]), Path.cwd(), dict(os.environ))
        if done.returncode:
            raise subprocess.CalledProcessError(done.returncode, args, done.stdout.encode(), done.stderr.encode())
        return done.stdout.encode()

    monkeypatch.setattr(api.sp, "check_output", check_output)


@pytest.fixture
def no_process(monkeypatch):
    """Starting any process fails (nbgrader's function starts `alembic` through subprocess.Popen)."""
    def refused(*args, **kwargs):
        raise AssertionError(f"a process was started: {args[:1]}")

    monkeypatch.setattr(subprocess, "Popen", refused)


@pytest.fixture
def planted(tmp_path, monkeypatch):
    """A copy of nbgrader's migration scripts, where nbgrader's alembic.ini will name them
    (``nbgrader.dbutil.ALEMBIC_DIR``): the folder to add revisions to."""
    folder = tmp_path / "alembic"
    shutil.copytree(nbgrader.dbutil.ALEMBIC_DIR, folder, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(nbgrader.dbutil, "ALEMBIC_DIR", str(folder))
    return folder / "versions"


def plant(versions: Path, revision: str, down_revision, branch_labels=None, text: str | None = None) -> None:
    (versions / f"{revision}_planted.py").write_text(text if text is not None else (
        f"revision = {revision!r}\ndown_revision = {down_revision!r}\nbranch_labels = {branch_labels!r}\n"
        "depends_on = None\n\n\ndef upgrade():\n    pass\n\n\ndef downgrade():\n    pass\n"))


NEWEST = "e43177bfe90b"  # nbgrader 0.9.6's head


def test_nbgraders_migration_scripts_give_the_head_the_alembic_command_gives(speedups_on, new_alembic_process):
    fix = api.get_alembic_version
    assert isinstance(fix, alembic_heads.InProcessHeads) and alembic_heads.is_nbgraders_own(fix.original)
    assert fix() == fix.original() == NEWEST


def test_what_runs_is_what_alembics_command_line_runs_for_heads(monkeypatch):
    from alembic.command import heads
    from alembic.config import CommandLine

    command_line = CommandLine(prog="alembic")
    options = command_line.parser.parse_args(["-c", "/tmp/x/alembic.ini", "heads"])
    function, positional, keywords = options.cmd
    assert function is heads and positional == [] and options.name == "alembic"  # the [alembic] section
    assert {name: getattr(options, name) for name in keywords} == {"verbose": False, "resolve_dependencies": False}
    assert not options.quiet  # print_stdout writes
    for named in [None, "/srv/course/pyproject.toml", "/srv/course/other.ini", "pyproject.toml"]:
        if named is None:
            monkeypatch.delenv("ALEMBIC_CONFIG", raising=False)
        else:
            monkeypatch.setenv("ALEMBIC_CONFIG", named)
        assert command_line._inis_from_config(options) == (alembic_heads.cli_pyproject(), "/tmp/x/alembic.ini")


@pytest.mark.parametrize("revisions, heads", [
    # a branch from an older revision: two heads, the planted one printed first
    ([("aaaa00000001", "50a4d84c131a", None), ("aaaa00000002", "aaaa00000001", None)], 2),
    # two branches from the newest, one of them labelled: two heads, the labelled one first
    ([("bbbb00000001", NEWEST, ("feature",)), ("zzzz00000001", NEWEST, None)], 2),
    # a branch merged again: one head
    ([("cccc00000001", NEWEST, None), ("cccc00000002", NEWEST, None),
      ("cccc00000003", ("cccc00000001", "cccc00000002"), None)], 1),
], ids=["branch-from-older", "labelled-branches", "merged"])
def test_a_script_folder_with_branches_gives_the_head_the_alembic_command_gives(speedups_on, real_alembic, planted,
                                                                                revisions, heads):
    for revision, down_revision, labels in revisions:
        plant(planted, revision, down_revision, labels)
    with nbgrader.dbutil._temp_alembic_ini(alembic_heads.INI_URL) as ini:
        printed = alembic_heads.heads_output(ini)
    assert len(printed.splitlines()) == heads
    fix = api.get_alembic_version
    assert fix() == fix.original() != NEWEST  # the planted scripts were read by both


def test_a_script_folder_without_revisions_gives_an_empty_version_both_ways(speedups_on, real_alembic, planted):
    for script in planted.glob("*.py"):
        script.unlink()
    fix = api.get_alembic_version
    assert fix() == fix.original() == ""


@pytest.mark.parametrize("revision, error", [
    ("revision = 'dddd00000001'\ndown_revision = (\n", SyntaxError),  # not Python
    ("revision = 'dddd00000001'\ndown_revision = 'nosuchrevision'\n", KeyError),  # names no revision
    ("down_revision = 'e43177bfe90b'\n", "CommandError"),  # no revision of its own
    ("revision = 'dddd00000001'\ndown_revision = 'dddd00000001'\n", "CycleDetected"),  # its own parent
    ("import no_such_module_here\nrevision = 'dddd00000001'\ndown_revision = 'e43177bfe90b'\n", ImportError),
], ids=["syntax-error", "unknown-down-revision", "no-revision", "cycle", "import-error"])
@pytest.mark.filterwarnings("ignore:Revision nosuchrevision referenced from:UserWarning")  # alembic's, before it fails
def test_a_script_folder_alembic_cannot_read_fails_both_ways(speedups_on, real_alembic, planted, revision, error):
    from alembic.script.revision import CycleDetected
    from alembic.util import CommandError

    plant(planted, "dddd00000001", None, text=revision)
    error = {"CommandError": CommandError, "CycleDetected": CycleDetected}.get(error, error)
    with pytest.raises(error):
        api.get_alembic_version()
    with pytest.raises(subprocess.CalledProcessError):
        api.get_alembic_version.original()


def test_where_the_command_line_would_read_a_pyproject_toml_nbgraders_function_answers(
        speedups_on, real_alembic, tmp_path, monkeypatch):
    more = tmp_path / "more"
    more.mkdir()
    plant(more, "eeee00000001", NEWEST)
    versions = Path(nbgrader.dbutil.ALEMBIC_DIR) / "versions"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text(f'[tool.alembic]\nversion_locations = ["{versions}", "{more}"]\n')
    fix = api.get_alembic_version
    assert fix() == fix.original() == "eeee00000001"  # alembic's command line reads the working folder's
    broken = tmp_path / "elsewhere" / "pyproject.toml"
    broken.parent.mkdir()
    broken.write_text("[tool.alembic\n")
    monkeypatch.setenv("ALEMBIC_CONFIG", str(broken))  # the one it reads instead
    with pytest.raises(subprocess.CalledProcessError):
        fix()


def test_a_pyproject_toml_without_alembic_options_changes_nothing(speedups_on, no_process, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())  # this project's
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))  # no alembic on PATH
    assert api.get_alembic_version() == NEWEST


def test_a_new_gradebook_gets_the_version_nbgrader_gives_it_and_no_process_starts(real_alembic, tmp_path,
                                                                                  monkeypatch):
    def version_row(name: str) -> list:
        with api.Gradebook(f"sqlite:///{tmp_path / name}") as gradebook:
            return [tuple(row) for row in gradebook.db.execute(api.text("SELECT version_num FROM alembic_version"))]

    shipped = version_row("shipped.db")
    try:
        assert speedups.apply() == APPLIED
        with monkeypatch.context() as patch:
            patch.setattr(subprocess, "Popen", lambda *args, **kwargs: pytest.fail("a process was started"))
            fast = version_row("fast.db")
    finally:
        speedups.remove()
    assert fast == shipped == [(NEWEST,)]


def test_a_stand_in_set_over_or_under_the_fix_answers_and_each_puts_back_what_it_found(monkeypatch):
    """A test's stand-in (the ``no_alembic`` fixture) set before ``apply``: it still answers, and ``remove``
    puts it back; set after ``apply``: ``remove`` leaves it in place (not nbgrader's function over it), and
    undoing the monkeypatch puts the fix back, for the next ``remove``."""
    shipped = api.get_alembic_version
    stand_in = lambda: "stand-in"  # noqa: E731
    with monkeypatch.context() as patch:
        patch.setattr(api, "get_alembic_version", stand_in)
        try:
            assert speedups.apply() == APPLIED
            assert api.get_alembic_version.original is stand_in and api.get_alembic_version() == "stand-in"
        finally:
            speedups.remove()
        assert api.get_alembic_version is stand_in
    assert api.get_alembic_version is shipped
    try:
        assert speedups.apply() == APPLIED
        fix = api.get_alembic_version
        with monkeypatch.context() as patch:
            patch.setattr(api, "get_alembic_version", stand_in)
            assert api.get_alembic_version() == "stand-in"
            speedups.remove()
            assert api.get_alembic_version is stand_in and "alembic_heads" not in speedups.applied()
        assert api.get_alembic_version is fix and speedups.applied() == ["alembic_heads"]
    finally:
        speedups.remove()
    assert api.get_alembic_version is shipped and speedups.applied() == []
