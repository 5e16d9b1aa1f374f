"""nbgrader's own shipped test suite, with coursegrader.speedups off and on: the same tests must pass.

    python scripts/nbgrader_suite.py                  # or: make test-nbgrader (CI runs it after make test)
    python scripts/nbgrader_suite.py --real-alembic   # every `alembic heads` nbgrader runs, run for real

Runs ``nbgrader.tests.api``, ``nbgrader.tests.preprocessors`` and ``nbgrader.tests.nbgraderformat`` (the
parts of nbgrader the speedups touch: the gradebook, the preprocessors, the metadata format) as
installed, twice at once, each in its own pytest process and folder: once as shipped, once with
``coursegrader.speedups.apply()`` run before any test (``scripts/speedups_pytest_plugin.py``). Then it
compares the outcome of every test: any test whose outcome differs is named, and the exit status is 1.
Tests that fail in both runs are listed too: they fail as nbgrader is installed here, speedups or not
(``test_instantiatetests`` reads files from nbgrader's source tree, which its wheel leaves out).

One stand-in, for the run as shipped: nbgrader starts ``alembic -c <ini> heads`` in a new process for
each gradebook it creates (``nbgrader.api.get_alembic_version``), 1–3 s of CPU each, for most of its
384 tests: nearly all of the suite's time (on the project's shared 2-core machine, one run took 20
minutes so; both at once with the stand-in, about 30 s). The runner asks the real ``alembic`` once, and puts first on
both runs' PATH an ``alembic`` that prints that answer to ``heads`` (and hands any other command to the
real one). The run with the speedups does not start it: there the ``alembic_heads`` fix answers
``get_alembic_version`` with alembic's ``heads`` run in the test's own process, from nbgrader's
migration scripts, so the stand-in cannot hide a difference there. The stand-in counts the times each
run asked it, and the runner prints both counts. ``--real-alembic`` runs without the stand-in (the run
as shipped then asks the real ``alembic`` each time).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from nbgrader.dbutil import _temp_alembic_ini

from coursegrader.speedups.registry import PER_SUBMISSION, fix_name

SCRIPTS = Path(__file__).resolve().parent
SUITES = ["nbgrader.tests.api", "nbgrader.tests.preprocessors", "nbgrader.tests.nbgraderformat"]
PLUGIN = "speedups_pytest_plugin"
FIXES = [fix_name(fix) for fix in PER_SUBMISSION]  # what speedups.apply() applies where every version matches


def outcomes(junit_xml: Path) -> dict[str, str]:
    """test id -> "passed", "failed", "error" or "skipped", from a pytest JUnit XML report."""
    found = {}
    for case in ET.parse(junit_xml).getroot().iter("testcase"):
        test = f"{case.get('classname')}::{case.get('name')}"
        kinds = {child.tag for child in case}
        outcome = next((kind for kind in ("error", "failure", "skipped") if kind in kinds), "passed")
        if test in found and found[test] != "passed":
            continue  # a test reported twice (a failing teardown): its worse outcome stays
        found[test] = {"failure": "failed"}.get(outcome, outcome)
    return found


def differences(off: dict[str, str], on: dict[str, str]) -> list[str]:
    """One line per test whose outcome differs between the runs (or that ran in only one)."""
    return [f"{test}: {off.get(test, 'not run')} as shipped, {on.get(test, 'not run')} with the speedups"
            for test in sorted(set(off) | set(on)) if off.get(test) != on.get(test)]


def alembic_stand_in(folder: Path) -> Path:
    """A folder holding an ``alembic`` that answers ``-c <ini> heads`` as the real one answered it once
    (adding a line to the file ``$NBGRADER_SUITE_ALEMBIC_CALLS`` names, if set)."""
    real = Path(sys.executable).parent / "alembic"
    with _temp_alembic_ini("sqlite:////tmp/gradebook.db") as ini:  # what get_alembic_version asks
        answer = subprocess.run([str(real), "-c", ini, "heads"], check=True, capture_output=True).stdout
    folder.mkdir(parents=True)
    (folder / "heads.txt").write_bytes(answer)
    script = folder / "alembic"
    script.write_text(f"""#!/bin/sh
# written by scripts/nbgrader_suite.py: `alembic -c <ini> heads` answered as the real alembic answered it
if [ "$#" -eq 3 ] && [ "$1" = "-c" ] && [ "$3" = "heads" ]; then
    if [ -n "$NBGRADER_SUITE_ALEMBIC_CALLS" ]; then echo heads >> "$NBGRADER_SUITE_ALEMBIC_CALLS"; fi
    exec cat {shlex.quote(str(folder / "heads.txt"))}
fi
exec {shlex.quote(str(real))} "$@"
""")
    script.chmod(0o755)
    return folder


def start(folder: Path, speedups: bool, alembic: Path | None) -> subprocess.Popen:
    folder.mkdir(parents=True)
    environment = dict(os.environ)
    path = [*([str(alembic)] if alembic else []), str(Path(sys.executable).parent), environment.get("PATH", "")]
    environment["PATH"] = os.pathsep.join(path)  # nbgrader runs `alembic` by name
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SCRIPTS), environment.get("PYTHONPATH")]))
    environment.pop("NBGRADER_DB_URL", None)
    environment["COURSEGRADER_SPEEDUPS_APPLIED"] = str(folder / "applied.txt")
    environment["NBGRADER_SUITE_ALEMBIC_CALLS"] = str(folder / "alembic-calls.txt")
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(folder),
               "--basetemp", str(folder / "tmp"), f"--junitxml={folder / 'report.xml'}",
               *(["-p", PLUGIN] if speedups else []), "--pyargs", *SUITES]
    return subprocess.Popen(command, cwd=folder, env=environment, stdout=(folder / "log.txt").open("w"),
                            stderr=subprocess.STDOUT)


def main(arguments: list[str]) -> int:
    with tempfile.TemporaryDirectory(prefix="nbgrader-suite-") as temporary:
        base = Path(temporary)
        started = time.perf_counter()
        alembic = None if "--real-alembic" in arguments else alembic_stand_in(base / "alembic")
        runs = {name: start(base / name, speedups=name == "on", alembic=alembic) for name in ("off", "on")}
        for process in runs.values():
            process.wait()
        seconds = time.perf_counter() - started
        results = {}
        for name in runs:
            report = base / name / "report.xml"
            if not report.exists():
                print((base / name / "log.txt").read_text()[-5000:])
                print(f"nbgrader's suite, speedups {name}: pytest wrote no report (exit {runs[name].returncode})")
                return 1
            results[name] = outcomes(report)
        applied = (base / "on" / "applied.txt").read_text().split() if (base / "on" / "applied.txt").exists() else []
        asked = {name: len(calls.read_text().splitlines()) if (calls := base / name / "alembic-calls.txt").exists()
                 else 0 for name in runs}
    off, on = results["off"], results["on"]
    for name, found in results.items():
        counts = {kind: sum(outcome == kind for outcome in found.values()) for kind in ("passed", "failed", "error",
                                                                                       "skipped")}
        print(f"nbgrader's shipped suite, speedups {name:3}: {len(found)} tests, "
              + ", ".join(f"{count} {kind}" for kind, count in counts.items()))
    print(f"both runs side by side: {seconds:.0f} s ({'real alembic' if alembic is None else 'alembic heads asked once'})")
    if alembic is not None:
        print(f"the alembic stand-in answered `heads` {asked['off']} times as shipped, {asked['on']} with the speedups")
    if len(off) < 300:
        print(f"only {len(off)} tests ran as shipped: not nbgrader's whole suite")
        return 1
    print(f"applied in the run with the speedups: {', '.join(applied) or 'none'}")
    if applied != FIXES:
        print(f"not every fix was in force (expected {', '.join(FIXES)}): the runs compare nbgrader with itself")
        return 1
    failing_both = sorted(test for test in off if off[test] != "passed" and on.get(test) == off[test])
    if failing_both:
        print(f"{len(failing_both)} fail with and without the speedups, as nbgrader is installed here:")
        print("".join(f"  {test}\n" for test in failing_both), end="")
    different = differences(off, on)
    if different:
        print(f"{len(different)} tests differ:")
        print("".join(f"  {line}\n" for line in different), end="")
        return 1
    print("every test has the same outcome with the speedups as without")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
