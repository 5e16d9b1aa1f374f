"""Lab 00's checks as plain functions, run outside any kernel on results collected from a namespace.

``outcomes`` takes the path the grader takes: collect the results, write and read them back as a
handover, run every check (self-checks and hidden ones) on what was read.
"""

import json
import math
import os

import numpy as np
import pytest

from coursegrader.labs import grading_checks
from coursekit import handover
from coursekit.checks import CheckFailed, run
from coursekit.labs.lab00 import LAB, manifest_schema, run_check
from coursekit.results import collect
from coursekit.selfcheck import running_versions
from tests.examples.lab00 import BANK

CHECKS = grading_checks(LAB)

ORDER = ["block_a", "block_b", "block_c", "block_e"]


def solved_namespace(folder, edits=()):
    """Run the instructor's solution (setup cell included) in a plain dict, in ``folder``."""
    import nbformat

    setup = next(c.source for c in nbformat.read(BANK.source, as_version=4).cells
                 if c.metadata.get("nbgrader", {}).get("grade_id") == "setup")
    answers = BANK.student_answers()
    for grade_id, old, new in edits:
        assert old in answers[grade_id]
        answers[grade_id] = answers[grade_id].replace(old, new)
    namespace = {}
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        exec(setup, namespace)
        for grade_id in ORDER:
            exec(answers[grade_id], namespace)
    finally:
        os.chdir(cwd)
    return namespace


@pytest.fixture
def solved(tmp_path):
    return solved_namespace(tmp_path), tmp_path


def outcomes(namespace, folder):
    results = handover.round_trip(collect(namespace, folder, LAB.results), LAB.results)
    results.runtime_versions = running_versions()
    return {check.grade_id: run(check, results) for check in CHECKS}


def test_solution_passes_every_check(solved):
    namespace, folder = solved
    assert all(outcome.passed for outcome in outcomes(namespace, folder).values())


def test_registry_points_and_visibility():
    assert CHECKS.total_points() == 21
    assert {check.block for check in CHECKS} == {"A", "B", "C", "E"}
    assert any(check.visible for check in CHECKS) and any(not check.visible for check in CHECKS)


def test_missing_variable_is_named_with_a_hint(solved):
    namespace, folder = solved
    del namespace["Y_perm"]
    outcome = outcomes(namespace, folder)["test_block_b_outputs"]
    assert not outcome.passed
    assert "no variable named `Y_perm`" in outcome.message and "run Block B to its end" in outcome.message


def test_one_wrong_block_costs_only_its_own_checks(solved):
    namespace, folder = solved
    namespace["Y_pe"] = namespace["Y_pe"] + 0.01
    failed = {grade_id for grade_id, outcome in outcomes(namespace, folder).items() if not outcome.passed}
    assert failed == {"test_block_c_outputs", "test_block_c_max_diff"}  # the maximum of a wrong difference


def test_zeros_in_place_of_the_work_earn_nothing(solved):
    """A value that merely looks right, such as a 0.0 difference beside all-zero outputs, earns nothing."""
    namespace, folder = solved
    for name in ("X_perm", "Y", "Y_perm", "pe", "Y_pe", "Y_perm_pe"):
        namespace[name] = np.zeros((3, 8))
    namespace["without_pe_max_diff"] = namespace["with_pe_max_diff"] = 0.0
    failed = {grade_id for grade_id, outcome in outcomes(namespace, folder).items() if not outcome.passed}
    assert {grade_id for grade_id in failed if grade_id.startswith(("test_block_b", "test_block_c"))} == \
        {check.grade_id for check in CHECKS if check.block in "BC"}


def test_an_unpermuted_x_perm_is_reported_as_such(solved):
    namespace, folder = solved
    namespace["X_perm"] = namespace["X"].copy()
    message = outcomes(namespace, folder)["test_block_b_x_perm"].message
    assert "nothing was permuted" in message and "columns" not in message


@pytest.mark.parametrize("date", ["2026-02-30", "28/11/2026", "2026-1-5", "3025-01-01", 20261128])
def test_bad_dates_fail_the_date_check(solved, date):
    namespace, folder = solved
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["date"] = date
    (folder / "manifest.json").write_text(json.dumps(manifest))
    namespace["manifest"] = manifest
    result = outcomes(namespace, folder)
    assert not result["test_block_e_date"].passed
    assert result["test_block_e_manifest_file"].passed and result["test_block_e_identity"].passed


def test_stale_manifest_file_is_not_the_notebooks_manifest(solved):
    namespace, folder = solved
    namespace["manifest"] = dict(namespace["manifest"], seed=1)
    assert not outcomes(namespace, folder)["test_block_e_manifest_file"].passed


@pytest.mark.parametrize("field, value", [("results_summary.with_PE_equivariance_max_diff", 0.1605),
                                          ("results_summary.without_PE_equivariance_max_diff", 1e-9),
                                          ("results_summary.with_PE_equivariance_max_diff", "0.16")])
def test_typed_or_rounded_numbers_do_not_match(solved, field, value):
    namespace, folder = solved
    manifest = json.loads((folder / "manifest.json").read_text())
    outer, inner = field.split(".")
    manifest[outer][inner] = value
    (folder / "manifest.json").write_text(json.dumps(manifest))
    assert not outcomes(namespace, folder)["test_block_e_results_match"].passed


def test_schema_rejects_extra_and_missing_fields_and_wrong_types():
    import jsonschema

    validator = jsonschema.Draft202012Validator(manifest_schema())
    good = {"experiment": "16-permutation-equivariance", "date": "2026-11-28", "seed": 0,
            "versions": {"python": "3.11.7", "numpy": "2.4.6"},
            "config": {"d_model": 8, "n_heads": 1, "T": 3, "pe_scheme_compared": "sinusoidal"},
            "results_summary": {"without_PE_equivariance_max_diff": 0.0, "with_PE_equivariance_max_diff": 0.2}}
    assert validator.is_valid(good)
    assert not validator.is_valid({**good, "extra": 1})
    assert not validator.is_valid({key: value for key, value in good.items() if key != "versions"})
    assert not validator.is_valid({**good, "results_summary": {"without_PE_equivariance_max_diff": None,
                                                               "with_PE_equivariance_max_diff": 0.2}})


def test_features_permuted_with_the_right_shape_is_named(solved):
    namespace, folder = solved
    namespace["X_perm"] = namespace["X"][:, [2, 0, 1, 3, 4, 5, 6, 7]]
    message = outcomes(namespace, folder)["test_block_b_x_perm"].message
    assert "columns (features)" in message


def test_wrong_row_order_is_reported_without_the_answer(solved):
    namespace, folder = solved
    namespace["X_perm"] = namespace["X"][[1, 2, 0]]
    message = outcomes(namespace, folder)["test_block_b_x_perm"].message
    assert "order [1, 2, 0]" in message


def test_failure_message_never_prints_the_correct_number(solved):
    namespace, folder = solved
    correct = namespace["with_pe_max_diff"]
    namespace["with_pe_max_diff"] = round(correct, 3)
    message = outcomes(namespace, folder)["test_block_c_max_diff"].message
    assert repr(correct) not in message and f"{correct:.6g}" not in message
    assert message.count("expected:") == message.count("found:") == message.count("hint:") == 1


def test_run_check_prints_on_success_and_raises_assertion_error_on_failure(solved, capsys, monkeypatch):
    namespace, folder = solved
    monkeypatch.chdir(folder)
    assert run_check("test_block_b_assertion", namespace) is None  # no value for nbgrader to read as partial credit
    captured = capsys.readouterr()
    assert captured.out.startswith("✔ passed (1 point)") and captured.err == ""
    namespace["Y_perm"] = namespace["Y"]
    with pytest.raises(AssertionError, match="check failed .*first assertion"):
        run_check("test_block_b_assertion", namespace)
    run_check("test_block_z", namespace)
    assert "test_block_z is a hidden check" in capsys.readouterr().out


def test_checks_are_silent_on_numpy_warnings(solved):
    """nbgrader zeroes a test cell that writes to stderr, so a check must not warn."""
    import warnings

    namespace, folder = solved
    namespace["with_pe_max_diff"] = math.inf
    namespace["Y"] = np.full((3, 8), np.nan)
    namespace["X"] = np.full((3, 8), 1e200)  # recomputing attention from it overflows, and numpy warns
    with warnings.catch_warnings(record=True) as unsilenced:
        warnings.simplefilter("always")
        from coursegrader.labs.lab00 import recompute
        recompute(namespace["X"])
    assert unsilenced  # so the silence below is the checks' doing
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        results = outcomes(namespace, folder)
    assert not record, [str(warning.message) for warning in record]
    assert not results["test_block_c_max_diff"].passed and not results["test_block_b_outputs"].passed


def test_check_failed_carries_its_three_parts():
    failure = CheckFailed(expected="a", found="b", hint="c")
    assert isinstance(failure, AssertionError)
    assert (failure.expected, failure.found, failure.hint) == ("a", "b", "c")
