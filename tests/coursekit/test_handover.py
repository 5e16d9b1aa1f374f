"""The handover: results written as JSON and .npz by a kernel, read back by the grader without trusting them."""

import io
import json
import os
import zipfile

import numpy as np
import pytest

from coursekit import handover
from coursekit.results import LabResults, ModuleState, Problem, ResultSpec, collect
from coursekit.selfcheck import HANDOVER_DIR_VARIABLE, make_run_check
from coursekit.labs.lab00 import LAB

SPEC = ResultSpec(arrays=("X", "ids"), numbers=("d",), json_values=("manifest",), modules={"layer": ("d_model",)},
                  files=("manifest.json",))


class Layer:
    d_model = 8

    def state_dict(self):
        return {"weight": np.arange(6.0).reshape(2, 3)}


def test_a_round_trip_keeps_every_kind_of_value(tmp_path):
    (tmp_path / "manifest.json").write_text('{"seed": 0}')
    namespace = {"X": np.eye(3), "ids": [4, 29, 3], "d": np.float64(1e-17), "manifest": {"seed": 0, "x": [1.5, None]},
                 "layer": Layer()}
    results = handover.round_trip(collect(namespace, tmp_path, SPEC), SPEC)
    assert np.array_equal(results.values["X"], np.eye(3)) and results.values["X"].dtype == np.float64
    assert results.values["ids"].dtype.kind == "i" and results.values["ids"].tolist() == [4, 29, 3]
    assert results.values["d"] == 1e-17 and isinstance(results.values["d"], float)
    assert results.values["manifest"] == {"seed": 0, "x": [1.5, None]}
    layer = results.values["layer"]
    assert isinstance(layer, ModuleState) and layer.attributes == {"d_model": 8}
    assert np.array_equal(layer.state_dict["weight"], np.arange(6.0).reshape(2, 3))
    assert results.files == {"manifest.json": '{"seed": 0}'}


def test_values_that_are_not_what_the_lab_asks_become_problems(tmp_path):
    namespace = {"X": [["a", "b"]], "d": True, "manifest": {"bad": object()}, "layer": 3}
    values = handover.round_trip(collect(namespace, tmp_path, SPEC), SPEC).values
    assert all(isinstance(values[name], Problem) for name in ("X", "d", "manifest", "layer"))
    assert "ids" not in values  # never defined: a check reports it as missing
    assert LabResults(values).get("ids").missing


def documents(values: dict, files=None, arrays=None) -> tuple[bytes, bytes]:
    document = json.dumps({"format": handover.FORMAT, "values": values, "files": files or {}}).encode()
    buffer = io.BytesIO()
    np.savez(buffer, **(arrays or {}))
    return document, buffer.getvalue()


def test_pickled_arrays_are_never_loaded():
    document, npz = documents({"X": {"kind": "array"}}, arrays={"X": np.array([object()], dtype=object)})
    with pytest.raises(handover.HandoverError, match="not a readable .npz"):
        handover.decode(document, npz, SPEC)


def test_claims_of_the_wrong_kind_are_problems_not_values():
    document, npz = documents({"d": {"kind": "number", "value": "passed"}, "X": {"kind": "json", "value": [[1]]},
                               "manifest": {"kind": "array"}, "verdict": {"kind": "json", "value": "passed"},
                               "layer": {"kind": "module", "class": "X", "attributes": {"d_model": True},
                                         "state_dict": []}})
    values = handover.decode(document, npz, SPEC).values
    assert set(values) == {"d", "X", "manifest", "layer"}  # undeclared names are dropped
    assert all(isinstance(value, Problem) for value in values.values())


@pytest.mark.parametrize("make, message", [
    (lambda: (b"x" * (handover.Limits().json_bytes + 1), b""), "more than"),
    (lambda: (b"\xff\xfe", b""), "does not parse"),
    (lambda: (b'{"format": "something else"}', b""), "not a coursekit-handover"),
    (lambda: (b"[" * 100_000, b""), "does not parse"),
])
def test_unreadable_documents_are_refused(make, message):
    with pytest.raises(handover.HandoverError, match=message):
        handover.decode(*make(), SPEC)


def test_an_archive_that_unpacks_into_far_more_is_refused():
    document, _ = documents({"X": {"kind": "array"}})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("X.npy", b"\0" * (handover.Limits().npz_bytes + 1))  # compresses to a few KB
    assert len(buffer.getvalue()) < 100_000
    with pytest.raises(handover.HandoverError, match="unpack"):
        handover.decode(document, buffer.getvalue(), SPEC)


def test_an_array_far_larger_than_the_lab_computes_is_a_problem():
    document, npz = documents({"X": {"kind": "array"}}, arrays={"X": np.zeros(2_000_000, dtype=np.uint8)})
    assert isinstance(handover.decode(document, npz, SPEC).values["X"], Problem)


def test_grade_ids_that_are_not_file_names_are_refused():
    for grade_id in ("../escape", "a/b", "", ".hidden", "x" * 200):
        with pytest.raises(ValueError):
            handover.file_names(grade_id)


def test_in_a_grading_kernel_run_check_hands_over_and_decides_nothing(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "handover"
    folder.mkdir()
    monkeypatch.setenv(HANDOVER_DIR_VARIABLE, str(folder))
    monkeypatch.chdir(tmp_path)
    make_run_check(LAB)("test_block_b_assertion", {"Y": np.zeros((3, 8)), "Y_perm": np.ones((3, 8))})
    assert sorted(os.listdir(folder)) == ["test_block_b_assertion.json", "test_block_b_assertion.npz"]
    out = capsys.readouterr().out
    assert "handed over" in out and "passed" not in out and "failed" not in out
    document = (folder / "test_block_b_assertion.json").read_bytes()
    results = handover.decode(document, (folder / "test_block_b_assertion.npz").read_bytes(), LAB.results)
    assert np.array_equal(results.values["Y_perm"], np.ones((3, 8)))
