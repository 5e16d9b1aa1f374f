"""How scripts/nbgrader_suite.py (`make test-nbgrader`, which CI runs after `make test`) compares nbgrader's
own shipped tests with coursegrader.speedups off and on, and the alembic stand-in it runs them with."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_runner():
    spec = importlib.util.spec_from_file_location("nbgrader_suite", ROOT / "scripts" / "nbgrader_suite.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def report(tmp_path: Path, name: str, cases: dict[str, str]) -> Path:
    children = {"passed": "", "failed": "<failure message='x'/>", "error": "<error message='x'/>",
                "skipped": "<skipped message='x'/>"}
    body = "".join(f"<testcase classname='{test.split('::')[0]}' name='{test.split('::')[1]}'>{children[outcome]}"
                   "</testcase>" for test, outcome in cases.items())
    path = tmp_path / f"{name}.xml"
    path.write_text(f"<testsuites><testsuite name='pytest'>{body}</testsuite></testsuites>")
    return path


def test_the_runner_names_every_test_whose_outcome_differs(tmp_path):
    runner = load_runner()
    off = runner.outcomes(report(tmp_path, "off", {"api::test_a": "passed", "api::test_b": "failed",
                                                   "api::test_c": "skipped", "fmt::test_d": "passed"}))
    assert off == {"api::test_a": "passed", "api::test_b": "failed", "api::test_c": "skipped", "fmt::test_d": "passed"}
    assert runner.differences(off, dict(off)) == []
    on = runner.outcomes(report(tmp_path, "on", {"api::test_a": "error", "api::test_b": "failed",
                                                 "api::test_c": "skipped", "fmt::test_e": "passed"}))
    assert runner.differences(off, on) == [
        "api::test_a: passed as shipped, error with the speedups",
        "fmt::test_d: passed as shipped, not run with the speedups",
        "fmt::test_e: not run as shipped, passed with the speedups",
    ]


def test_the_alembic_stand_in_answers_heads_as_alembic_does_and_counts_them(tmp_path, monkeypatch):
    from nbgrader.dbutil import _temp_alembic_ini

    runner = load_runner()
    folder = runner.alembic_stand_in(tmp_path / "stand-in")
    real = Path(sys.executable).parent / "alembic"
    calls = tmp_path / "calls.txt"
    with _temp_alembic_ini(f"sqlite:///{tmp_path / 'other.db'}") as ini:
        assert subprocess.run([folder / "alembic", "-c", ini, "heads"], capture_output=True).stdout == \
            subprocess.run([real, "-c", ini, "heads"], capture_output=True).stdout
        assert not calls.exists()  # counted only where the runner asks
        monkeypatch.setenv("NBGRADER_SUITE_ALEMBIC_CALLS", str(calls))
        for _ in range(2):
            subprocess.run([folder / "alembic", "-c", ini, "heads"], capture_output=True, check=True)
    assert subprocess.run([folder / "alembic", "--version"], capture_output=True, text=True).stdout == \
        subprocess.run([real, "--version"], capture_output=True, text=True).stdout  # anything else: the real one
    assert calls.read_text().splitlines() == ["heads", "heads"]  # `--version` was not counted
