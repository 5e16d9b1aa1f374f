"""``course watch`` end to end: real Unix accounts, nbgrader's real filesystem exchange, the real grading.

The instructor (root) releases the assignment with ``nbgrader release_assignment`` into an exchange in
a fresh folder and starts ``course watch`` (at most two graded attempts). Two student accounts, made
here with homes only they can read, run ``nbgrader fetch_assignment``, ``submit`` and
``fetch_feedback`` as themselves (``runuser``), with Debian's python3 and the pinned nbgrader
(``make student-python``): each command in a process of its own, forked from one that imported nbgrader
as the student (``Nbgrader``), so nbgrader's imports are paid once per account. What happens, in order:

1. alice submits a correct notebook and bob a flawed one; both are graded and released;
2. bob submits an infinite loop while alice submits again, and alice also submits under bob's name
   (``--student``); the service is killed (SIGKILL) while bob's loop is being graded, started again, and
   sent SIGTERM while it grades the loop again;
3. started once more, it refuses bob's third submission, past the limit of two;
4. the service gets SIGTERM, and each student fetches their feedback.

Then: each student has exactly their own pages, with the expected result for every check, hidden
checks' messages withheld, the written answer awaiting a grader; bob's third attempt is refused with
the message he sees; the forged submission is rejected; the honest resubmission was not held up by the
loop; the kill left no grading process behind, and every submission was graded exactly once.

Needs root (it makes accounts); skipped elsewhere.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psutil
import pytest

from coursegrader.commands.nbgrader import nbgrader_env
from tests import commands
from tests.assignment.conftest import ASSIGNMENT, ROOT, TEST_LIMITS, make_course
from tests.examples.lab00 import BANK
from tests.service.forked_nbgrader import Nbgrader, Running

STUDENT_PYTHON = Path(os.environ.get("COURSEKIT_STUDENT_PYTHON", "/opt/coursekit-student-python"))
COURSE_ID = "transformer-from-scratch"
FLAWED = "features_permuted"
LOOP = "bounds_infinite_loop"

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("runuser") or not shutil.which("useradd"),
                                reason="makes Unix accounts: needs root, useradd and runuser")

class Student:
    def __init__(self, name: str, exchange: Path):
        self.name = name
        subprocess.run(["useradd", "-m", "-K", "HOME_MODE=0700", "-s", "/bin/sh", name], check=True,
                       capture_output=True)
        self.home = Path(f"/home/{name}")
        jupyter = self.home / ".jupyter"
        jupyter.mkdir()
        (jupyter / "nbgrader_config.py").write_text(
            f"c = get_config()\nc.CourseDirectory.course_id = {COURSE_ID!r}\nc.Exchange.root = {str(exchange)!r}\n")
        shutil.chown(jupyter, name, name)
        shutil.chown(jupyter / "nbgrader_config.py", name, name)

    def start_nbgrader(self) -> Nbgrader:
        """This student's nbgrader, from their home, with nothing of root's environment (``self.nbgrader``)."""
        environment = [f"HOME={self.home}", f"USER={self.name}", f"LOGNAME={self.name}", "LANG=C.UTF-8",
                       f"PATH={STUDENT_PYTHON / 'bin'}:/usr/bin:/bin"]
        self.nbgrader = Nbgrader(self.name, ["runuser", "-u", self.name, "--", "env", "-i", *environment, "python"],
                                 cwd=self.home)
        return self.nbgrader

    def start(self, *args: str) -> Running:
        """``nbgrader ARGS ASSIGNMENT`` as this student, started now."""
        return self.nbgrader.start(*args, ASSIGNMENT)

    def run(self, *args: str) -> str:
        return self.nbgrader.run(*args, ASSIGNMENT)

    def write_notebook(self, example: str) -> None:
        """The student's work: one of the bank's examples, in the folder fetch_assignment made."""
        folder = self.home / ASSIGNMENT
        BANK.place(example, folder, ROOT)
        shutil.chown(folder / "demo.ipynb", self.name, self.name)

    def pages(self) -> dict[str, str]:
        """Their fetched feedback: submission timestamp -> page."""
        return {path.parent.name: path.read_text(encoding="utf-8")
                for path in sorted((self.home / ASSIGNMENT / "feedback").glob("*/demo.html"))}

    def remove(self) -> None:
        subprocess.run(["pkill", "-KILL", "-u", self.name], capture_output=True)
        subprocess.run(["userdel", "-r", self.name], capture_output=True)


class Service:
    """``course watch`` as an instructor starts it, its output in a file of its own for each start."""

    def __init__(self, course: Path):
        self.course, self.starts = course, 0

    def start(self, wait: bool = True) -> None:
        self.starts += 1
        self.output = self.course / f"watch-{self.starts}.out"
        environment = {key: value for key, value in nbgrader_env().items() if key != "NBGRADER_DB_URL"}
        self.process = subprocess.Popen([sys.executable, "-m", "coursegrader.commands.cli", "watch", ASSIGNMENT,
                                         "--jobs", "2"], cwd=self.course, env=environment,
                                        stdout=self.output.open("w"), stderr=subprocess.STDOUT)
        if wait:
            self.wait_for(r"watching ")

    def text(self) -> str:
        return self.output.read_text(encoding="utf-8")

    def wait_for(self, pattern: str, timeout: float = 120) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(pattern, self.text())
            if found:
                return found
            assert self.process.poll() is None, f"course watch exited ({self.process.returncode}):\n{self.text()}"
            time.sleep(0.1)
        earlier = "".join((self.course / f"watch-{start}.out").read_text() for start in range(1, self.starts))
        raise AssertionError(f"no {pattern!r} in course watch's output after {timeout} s:\n{earlier}{self.text()}")


def cpu_seconds() -> float:
    """CPU time of this process and of every process it (or they) waited for: the service, its workers, students."""
    import resource

    return sum(resource.getrusage(who).ru_utime + resource.getrusage(who).ru_stime
               for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))


def results_of(page: str) -> dict[str, str]:
    """grade_id -> outcome (passed, failed, pending), from the results table at the top of a feedback page."""
    return dict((grade_id, status) for status, grade_id in
                re.findall(r'<tr class="check (\w+)" id="result-([\w-]+)">', page))


def messages_of(page: str) -> dict[str, str]:
    rows = re.findall(r'id="result-([\w-]+)">(.*?)</tr>', page, flags=re.S)
    return {grade_id: re.search(r'<td class="message">(.*?)</td>', row, flags=re.S).group(1).strip()
            for grade_id, row in rows}


@pytest.fixture(scope="module")
def watched_class():
    started, cpu_before = time.perf_counter(), cpu_seconds()
    subprocess.run([str(ROOT / "scripts" / "install_student_python.sh")], check=True)
    base = Path(tempfile.mkdtemp(prefix="course-watch-"))
    base.chmod(0o755)  # the exchange's parents must be open to students; the course is not
    exchange = base / "exchange"
    exchange.mkdir()
    exchange.chmod(0o1777)
    course = make_course(base / "course", TEST_LIMITS + f"""
c.Execute.timeout = 4
c.Exchange.root = {str(exchange)!r}
c.WatchPolicy.max_attempts = 2
""")
    course.chmod(0o700)
    suffix = uuid.uuid4().hex[:6]
    students, runners = [], []
    service = Service(course)
    try:
        students = [Student(f"cw{letter}{suffix}", exchange) for letter in "ab"]
        alice, bob = students
        runners += [student.start_nbgrader() for student in students]
        commands.nbgrader(["generate_assignment", ASSIGNMENT, "--force"], course)
        commands.nbgrader(["release_assignment", ASSIGNMENT], course)
        phases = {"accounts and release": time.perf_counter() - started}
        service.start(wait=False)  # it starts while the students fetch the assignment
        for fetching in [student.start("fetch_assignment") for student in students]:
            fetching.result()
        alice.write_notebook("solution")
        bob.write_notebook(FLAWED)
        service.wait_for(r"watching ")

        phases["service start, fetch_assignment"] = time.perf_counter() - started - sum(phases.values())
        # 1. a correct and a flawed submission
        for submitting in [student.start("submit") for student in students]:
            submitting.result()
        service.wait_for(rf"✓ {alice.name} \(attempt 1/2\)")
        service.wait_for(rf"✓ {bob.name} \(attempt 1/2\)")

        phases["1. two submissions graded"] = time.perf_counter() - started - sum(phases.values())
        # 2. an infinite loop, beside an honest resubmission and a forgery; killed while grading the loop
        bob.write_notebook(LOOP)
        submitting = [bob.start("submit"), alice.start("submit"), alice.start("submit", f"--student={bob.name}")]
        service.wait_for(rf"grading {bob.name} \(attempt 2/2")  # its loop runs for 4 s: kill it now
        first_run = service.text()
        tree = psutil.Process(service.process.pid).children(recursive=True)
        service.process.send_signal(signal.SIGKILL)
        service.process.wait()
        _gone, left = psutil.wait_procs(tree, timeout=15)
        left_behind = [process.pid for process in left]
        for submitted in submitting:
            submitted.result()
        service.start()  # and stopped with SIGTERM while it grades the loop again (and alice's, if the kill cut it)
        service.wait_for(rf"grading {bob.name} \(attempt 2/2")
        if f"✓ {alice.name} (attempt 2/2)" not in first_run:
            service.wait_for(rf"grading {alice.name} \(attempt 2/2")
        service.process.send_signal(signal.SIGTERM)
        terminated = service.process.wait(timeout=300)
        second_run = service.text()

        phases["2. loop, resubmission, forgery; SIGKILL, restart, SIGTERM"] = \
            time.perf_counter() - started - sum(phases.values())
        # 3. past the limit (alice, her pages all released, fetches them meanwhile)
        third = bob.start("submit")
        service.start(wait=False)
        alice_fetches = alice.start("fetch_feedback")
        third.result()
        service.wait_for(rf"refused {bob.name}")

        phases["3. refused"] = time.perf_counter() - started - sum(phases.values())
        # 4. SIGTERM; bob fetches his feedback, the refusal's page released before the line above was written
        service.process.send_signal(signal.SIGTERM)
        bob_fetches = bob.start("fetch_feedback")
        exit_code = service.process.wait(timeout=60)
        alice_fetches.result()
        bob_fetches.result()
        phases["4. SIGTERM, fetch_feedback"] = time.perf_counter() - started - sum(phases.values())
        for runner in runners:
            runner.close()  # now, so that their CPU time is counted below
        journal = [json.loads(line) for line in
                   (course / ".coursekit" / "watch" / f"{ASSIGNMENT}.jsonl").read_text().splitlines()]
        yield {"alice": alice, "bob": bob, "first_run": first_run, "second_run": second_run, "third_run": service.text(),
               "journal": journal, "left_behind": left_behind, "terminated": terminated, "exit_code": exit_code,
               "course": course,
               "seconds": time.perf_counter() - started, "cpu": cpu_seconds() - cpu_before, "phases": phases}
    finally:
        if service.starts and service.process.poll() is None:
            service.process.kill()
            service.process.wait()
        for runner in runners:
            runner.close()
        for student in students:
            student.remove()
        if not os.environ.get("COURSE_WATCH_KEEP"):
            shutil.rmtree(base, ignore_errors=True)


def test_each_student_fetches_their_own_pages_and_only_theirs(watched_class):
    alice, bob = watched_class["alice"], watched_class["bob"]
    alice_pages, bob_pages = alice.pages(), bob.pages()
    assert len(alice_pages) == 2, "alice: two graded attempts (her forgery under bob's name got no page)"
    assert len(bob_pages) == 3, "bob: two graded attempts and the refused third"
    for mine, theirs, pages in ((alice, bob, alice_pages), (bob, alice, bob_pages)):
        for page in pages.values():
            assert mine.name in page and theirs.name not in page
    print(f"\nend-to-end: {watched_class['seconds']:.1f} s, {watched_class['cpu']:.1f} s of CPU: " +
          ", ".join(f"{phase} {seconds:.1f} s" for phase, seconds in watched_class["phases"].items()))


def test_every_check_reads_as_expected_with_hidden_messages_withheld(watched_class):
    from coursegrader.labs import grading_checks
    from coursekit.lab import find_lab

    checks = grading_checks(find_lab(ASSIGNMENT))
    hidden = {check.grade_id for check in checks if not check.visible}
    alice_first = list(watched_class["alice"].pages().values())[0]
    bob_pages = list(watched_class["bob"].pages().values())
    for page, failing in ((alice_first, frozenset()), (bob_pages[0], BANK.examples[FLAWED].fails),
                          (bob_pages[1], BANK.examples[LOOP].fails)):
        results = results_of(page)
        expected = {check.grade_id: "failed" if check.grade_id in failing else "passed" for check in checks}
        assert {grade_id: status for grade_id, status in results.items() if grade_id in expected} == expected
        assert results["block_d"] == "pending"
        messages = messages_of(page)
        assert all(messages[grade_id] == "" for grade_id in hidden), "hidden checks show their outcome only"
        assert any(messages[grade_id] for grade_id in results if grade_id not in hidden and grade_id != "block_d")
    assert "graded attempt 1 of 2: 1 attempt is left" in bob_pages[0]
    assert "graded attempt 2 of 2: 0 attempts are left" in bob_pages[1]


def test_a_third_attempt_past_the_limit_is_refused_with_what_the_student_reads(watched_class):
    refused = list(watched_class["bob"].pages().values())[2]
    assert "You have used your 2 graded attempts" in refused and "is not graded" in refused
    assert "<script" not in refused


def test_a_submission_under_another_students_name_is_rejected(watched_class):
    alice, bob = watched_class["alice"], watched_class["bob"]
    rejected = [event for event in watched_class["journal"] if event["event"] == "rejected"]
    assert len(rejected) == 1 and rejected[0]["student"] == bob.name
    assert f"made by {alice.name}" in rejected[0]["why"]


def test_killed_mid_grading_and_restarted_every_submission_is_graded_once_and_settled(watched_class):
    journal, alice, bob = watched_class["journal"], watched_class["alice"], watched_class["bob"]
    assert watched_class["left_behind"] == [], "no worker, kernel factory or kernel outlives a killed service"
    assert f"✓ {bob.name} (attempt 2/2)" not in watched_class["first_run"], "killed while bob's loop was graded"
    graded = [event["record"] for event in journal if event["event"] == "graded"]
    assert len(graded) == len(set(graded)) == 4  # two attempts each
    settled = {}
    for event in journal:
        if event["event"] in ("released", "refused", "rejected", "superseded", "failed"):
            settled.setdefault(event["record"], []).append(event["event"])
    assert sorted(sum(settled.values(), [])) == ["refused", "rejected"] + ["released"] * 4
    assert all(len(events) == 1 for events in settled.values())
    if f"✓ {alice.name} (attempt 2/2)" in watched_class["first_run"]:
        assert f"grading {alice.name}" not in watched_class["second_run"], "graded once, not again after the restart"
    assert f"grading {bob.name}" not in watched_class["third_run"]


def test_an_infinite_loop_does_not_hold_up_an_honest_submission(watched_class):
    alice, bob = watched_class["alice"], watched_class["bob"]
    both = watched_class["first_run"] + watched_class["second_run"]
    assert both.index(f"✓ {alice.name} (attempt 2/2)") < both.index(f"✓ {bob.name} (attempt 2/2)")


def test_sigterm_finishes_what_is_being_graded_then_exits(watched_class):
    alice, bob, second_run = watched_class["alice"], watched_class["bob"], watched_class["second_run"]
    assert watched_class["terminated"] == 0 and watched_class["exit_code"] == 0
    stopping = second_run.index("stopping: finishing")
    assert second_run.index(f"✓ {bob.name} (attempt 2/2)") > stopping, "the loop, in flight at SIGTERM, was finished"
    assert "stopped: " in second_run[stopping:] and "stopped: " in watched_class["third_run"]
    assert f"grading {alice.name}" not in watched_class["third_run"], "nothing was left half-done for the next start"
