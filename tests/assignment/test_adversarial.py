"""Attacks and odd inputs, graded by `course autograde --jobs 2` with the course's configuration.

Every example of tests/examples/lab00.py outside the realistic class is placed in submitted/, with part of
that class, and graded in one run (that `nbgrader autograde` grades a class holding one attack of each kind
exactly alike is test_parallel.py's), with a secret in the grader's environment and ports listening on loopback. Each
must score exactly as the bank says, check by check; beyond the scores, these tests look at what
the graded notebooks, the course folder and the machine hold afterwards.
"""

import fcntl
import json
import os
import re
from pathlib import Path

import nbformat
import psutil
import pytest

from coursegrader.files import trees
from coursegrader.labs import grading_checks
from coursegrader.run.uids import FIRST_UID, UID_COUNT, lock_folder
from coursekit.lab import find_lab
from tests.assignment.conftest import ASSIGNMENT, COURSE_CLASS, ROOT
from tests.assignment.gradebooks import submission_grades
from tests.examples.lab00 import BANK, ENVIRONMENT_SECRET

CHECKS = grading_checks(find_lab(ASSIGNMENT))
ADVERSARIAL = BANK.names(folder="adversarial")


def grades_of(course: Path, student: str) -> dict[str, tuple[float, float]]:
    """Each grade cell's (score, max_score) in ``course``'s gradebook."""
    grades, _ = submission_grades(course, student, ASSIGNMENT, BANK.notebook)
    return {name: (score, max_score) for name, (score, max_score, _) in grades.items()}


def graded_notebook(course: Path, student: str) -> nbformat.NotebookNode:
    return nbformat.read(course / "autograded" / student / ASSIGNMENT / f"{BANK.notebook}.ipynb", as_version=4)


def files_named(top: Path, name: str, max_depth: int = 64) -> list[str]:
    """The regular files called ``name`` below ``top``, found without recursion: the course keeps the trees
    1,500 levels deep that the intake set aside, where Path.glob("**") would raise RecursionError."""
    fd = trees.open_folder(top)
    try:
        return [f"{top}/{'/'.join(entry.parts)}" for entry in trees.walk(fd, max_depth)
                if entry.name == name and entry.is_file]
    finally:
        os.close(fd)


def all_text(notebook) -> str:
    return json.dumps(notebook, ensure_ascii=False)


def outputs_text(notebook) -> str:
    """What the cells printed (not their source, which holds the attack's own strings)."""
    return json.dumps([cell.get("outputs", []) for cell in notebook.cells], ensure_ascii=False)


@pytest.mark.parametrize("student", COURSE_CLASS)
def test_every_check_scores_as_the_bank_says(adversarial_course, student):
    example = BANK.examples[student]
    grades = grades_of(adversarial_course.course, student)
    got = {check.grade_id: grades[check.grade_id][0] for check in CHECKS}
    expected = {check.grade_id: 0.0 if check.grade_id in example.fails else check.points for check in CHECKS}
    assert got == expected, example.description
    # exactly the released grade cells, at their released points: nothing added, nothing re-weighted
    assert {name: max_score for name, (_, max_score) in grades.items()} == \
        {**{check.grade_id: check.points for check in CHECKS}, "block_d": 4.0}


def test_the_run_completes_for_everyone(adversarial_course):
    assert adversarial_course.returncode == 0, adversarial_course.log[-3000:]
    assert f"{len(COURSE_CLASS)} graded, 0 failed" in adversarial_course.finished.stdout
    assert "There was an error processing assignment" not in adversarial_course.log
    for student in COURSE_CLASS:
        assert (adversarial_course.course / ".coursekit" / "autograded" / ASSIGNMENT / f"{student}.done").is_file()


@pytest.mark.parametrize("student", [name for name in ADVERSARIAL if BANK.examples[name].notes])
def test_bad_input_is_explained_in_the_feedback_and_the_log(adversarial_course, student):
    notebook = graded_notebook(adversarial_course.course, student)
    notes = notebook.cells[0]
    assert notes.cell_type == "markdown" and "Notes from the autograder" in notes.source
    for phrase in BANK.examples[student].notes:
        assert phrase in notes.source
        assert re.search(rf"Submission {re.escape(student)}/{ASSIGNMENT}: .*{re.escape(phrase)}", adversarial_course.log)


def test_a_failed_check_says_why_without_grader_frames(adversarial_course):
    notebook = graded_notebook(adversarial_course.course, "forge_exit_kernel")
    outputs = {cell.metadata.nbgrader.grade_id: cell.outputs for cell in notebook.cells
               if cell.metadata.get("nbgrader", {}).get("grade") and cell.cell_type == "code"}
    assert [output.output_type for output in outputs["test_block_b_outputs"]] == ["stream"]
    error = outputs["test_block_c_pe"][0]
    assert error.output_type == "error" and error.ename == "CheckFailed"
    assert "the kernel died in cell" in error.evalue and "expected:" in error.evalue and "hint:" in error.evalue
    assert not any("File " in line or ".py" in line for line in error.traceback)


# -----------------------------------------------------------------------------
# 1. verdicts outside the kernel


@pytest.mark.parametrize("student, forged_from", [("forge_check_functions", "A"), ("forge_builtins", "A"),
                                                  ("forge_handover", "B"), ("tamper_saved_outputs", "A")])
def test_forged_outputs_never_reach_a_test_cell(adversarial_course, student, forged_from):
    notebook = graded_notebook(adversarial_course.course, student)
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and cell.cell_type == "code":
            assert len(cell.outputs) == 1, cell.outputs
            forged = CHECKS[meta["grade_id"]].block >= forged_from
            assert cell.outputs[0].output_type == ("error" if forged else "stream"), meta["grade_id"]


def test_pickled_arrays_are_refused(adversarial_course):
    notebook = graded_notebook(adversarial_course.course, "forge_handover")
    cell = next(cell for cell in notebook.cells if cell.metadata.get("nbgrader", {}).get("grade_id") == "test_block_b_outputs")
    assert "unreadable" in cell.outputs[0].evalue


# -----------------------------------------------------------------------------
# 3. isolation


def test_no_graded_notebook_shows_course_files_secrets_or_hidden_code(adversarial_course):
    course = adversarial_course.course
    # what only the instructor's notebook holds (the bank's students type the solution without its markers)
    source_solution = ["### BEGIN SOLUTION", "### END SOLUTION"]
    grader_code = [line.strip() for line in (ROOT / "src" / "coursegrader" / "labs" / "lab00.py").read_text().splitlines()
                   if line.strip().startswith(("def ", "RECOMPUTED", "HIDDEN_CHECKS"))]
    config_lines = ["c.CourseDirectory.course_id", "c.Autograde.exporter_class"]
    forbidden = [*source_solution, *grader_code, *config_lines, "hunter2-do-not-leak", "SQLite format 3",
                 "root:x:0:0", "nbgrader autograde"]
    assert "### BEGIN SOLUTION" in (course / "source" / ASSIGNMENT / "demo.ipynb").read_text() and len(grader_code) > 5
    for student in ADVERSARIAL + ["solution"]:
        folder = course / "autograded" / student / ASSIGNMENT
        if not folder.is_dir():
            continue
        for path in folder.rglob("*"):
            if path.is_file():
                text = path.read_bytes().decode("utf-8", "replace")
                leaked = [secret for secret in forbidden if secret in text]
                assert not leaked, (student, path.name, leaked)


@pytest.mark.parametrize("grader", ["course autograde", "nbgrader autograde"])
def test_no_marking_scheme_or_hidden_test_reaches_the_kernel(adversarial_course, graded_both_ways, grader):
    """The graded notebook keeps Block D's instructions with the marking scheme (formgrader shows it to graders);
    the kernel never had it: not in its folder, its history or any process it could see. Forked kernels
    (`course autograde`) and kernels started anew (`nbgrader autograde`, graded_both_ways) alike."""
    source = nbformat.read(ROOT / "source" / ASSIGNMENT / "demo.ipynb", as_version=4)
    scheme = next(cell.source for cell in source.cells if "### BEGIN MARK SCHEME" in cell.source)
    scheme_lines = [line for line in scheme.split("### BEGIN MARK SCHEME")[1].splitlines() if len(line) > 30]
    secrets = [*scheme_lines, "BEGIN HIDDEN TESTS", "MARK SCHEME"]
    course = adversarial_course.course if grader == "course autograde" else graded_both_ways[0]
    notebook = graded_notebook(course, "isolation_grading_notebook")
    printed = outputs_text(notebook)
    kept = (course / "autograded" / "isolation_grading_notebook" / ASSIGNMENT / "found.txt").read_text()
    # it did look: at its folder, and at a history that holds each hidden check's call, not its cell
    assert "./demo_output.txt: " in kept and "run_check('test_block_b_outputs', globals())" in kept
    for secret in secrets:
        assert secret not in printed and secret not in kept, secret
    assert any(line in all_text(notebook) for line in scheme_lines)  # graders still see it beside the answer


def test_the_environment_secret_stayed_in_the_grader(adversarial_course):
    text = outputs_text(graded_notebook(adversarial_course.course, "isolation_environment"))
    assert "COURSEKIT_HANDOVER_DIR" in text  # the printout is there
    assert ENVIRONMENT_SECRET not in text and "hunter2" not in text


def test_reading_the_course_finds_nothing(adversarial_course):
    text = outputs_text(graded_notebook(adversarial_course.course, "isolation_course_files"))
    assert "read 0 files outside my folder" in text


def test_writes_outside_the_folder_left_no_trace(adversarial_course):
    course = adversarial_course.course
    text = outputs_text(graded_notebook(course, "isolation_writes"))
    assert "could not write ../../../nbgrader_config.py" in text
    # its targets: the course (relative paths from its folder), /tmp, /work and /root; the course all the way
    # down, the others near where it aimed (the whole of /tmp holds every course of this run: 15 s to walk)
    traces = [*files_named(course, "coursekit-was-here.txt"),
              *(trace for top in ("/tmp", "/work", "/root") for trace in files_named(Path(top), "coursekit-was-here.txt", 3))]
    assert not traces
    assert "coursekit-was-here" not in (course / "nbgrader_config.py").read_text()
    assert "coursekit-was-here" not in (course / "submitted" / "solution" / ASSIGNMENT / "demo.ipynb").read_text()


def test_no_connection_reached_the_grading_machine(adversarial_course):
    assert adversarial_course.accepted_connections == []
    text = outputs_text(graded_notebook(adversarial_course.course, "isolation_network"))
    assert "connected to port" not in text and "reached pypi.org" not in text
    assert "port 47301" in text


def test_the_grader_package_is_not_visible_inside(adversarial_course):
    text = outputs_text(graded_notebook(adversarial_course.course, "isolation_grader_package"))
    assert "import coursegrader.labs.lab00: ModuleNotFoundError" in text


# -----------------------------------------------------------------------------
# 4. bounds


def sandbox_uid_held(uid: int) -> bool:
    """Whether a running sandbox holds ``uid`` (coursegrader.run.uids: a flock its grader keeps while it lives)."""
    descriptor = os.open(lock_folder() / f"{uid}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(descriptor)  # releases it, if it was taken here


def test_no_process_of_a_submission_outlives_its_grading(adversarial_course):
    # other tests may be grading right now, in sandboxes of their own, some killing their grader on purpose:
    # a leftover is one of the bank's `sleep 600`, or a process of a sandbox user id no running sandbox holds,
    # still there seconds later (a sandbox whose grader was just killed takes a moment to be torn down)
    candidates = [process for process in psutil.process_iter(["pid", "name", "cmdline", "uids"])
                  if (process.info["cmdline"] or [])[:2] == ["sleep", "600"]
                  or process.info["uids"] and FIRST_UID <= process.info["uids"].real < FIRST_UID + UID_COUNT
                  and not sandbox_uid_held(process.info["uids"].real)]
    _, alive = psutil.wait_procs(candidates, timeout=10)
    assert [process.info for process in alive] == []
    text = outputs_text(graded_notebook(adversarial_course.course, "bounds_many_processes"))
    assert "stopped after" in text and "Resource temporarily unavailable" in text


def test_printing_is_cut_and_the_graded_notebook_stays_small(adversarial_course):
    for student in ("bounds_prints_300_mb", "bounds_prints_forever"):
        path = adversarial_course.course / "autograded" / student / ASSIGNMENT / "demo.ipynb"
        assert path.stat().st_size < 3_000_000
        assert "output cut by the grader" in path.read_text()


def test_the_stopped_kernels_say_why(adversarial_course):
    reasons = {"bounds_memory_in_processes": "GiB of memory", "bounds_fills_disk": "No space left on device",
               "bounds_many_files": "more than 2,000 files and folders",
               "bounds_ignores_interrupt": "did not stop after the time limit", "forge_kill_kernel": "the kernel died"}
    for student, reason in reasons.items():
        assert reason in outputs_text(graded_notebook(adversarial_course.course, student)), student


def test_of_a_filled_disk_only_the_kept_allowance_comes_back_and_the_student_is_told(adversarial_course):
    from coursegrader.run.sandbox import Limits

    folder = adversarial_course.course / "autograded" / "bounds_fills_disk" / ASSIGNMENT
    kept = [path for path in folder.rglob("*") if path.is_file() and path.name != "demo.ipynb"]
    assert sum(path.stat().st_size for path in kept) <= Limits().kept_bytes
    notes = graded_notebook(adversarial_course.course, "bounds_fills_disk")["cells"][0]
    assert "Not kept with your graded notebook" in "".join(notes["source"]) and "filler-" in "".join(notes["source"])


# -----------------------------------------------------------------------------
# 6. bad input


def test_links_and_special_files_are_never_copied(adversarial_course):
    course = adversarial_course.course
    for student in ("bad_links", "bad_fifo", "bad_odd_files"):
        folder = course / "autograded" / student / ASSIGNMENT
        for path in folder.rglob("*"):
            assert path.is_dir() or (path.is_file() and not path.is_symlink()), path
        names = {path.name for path in folder.rglob("*")}
        assert not names & {"answers.ipynb.txt", "passwd.txt", "grades.db", "instructor", "results.csv"}
    assert (course / "autograded" / "bad_odd_files" / ASSIGNMENT / "data.bin").is_file()
    # nothing a student submitted was deleted; the unreadable timestamp was set aside, kept
    assert os.path.islink(course / "submitted" / "bad_links" / ASSIGNMENT / "passwd.txt")
    submitted = course / "submitted" / "bad_timestamp" / ASSIGNMENT
    assert [path.name for path in submitted.glob("timestamp.txt.unreadable-*")]


def test_a_notebook_that_links_to_the_solution_is_not_graded_as_one(adversarial_course):
    text = all_text(graded_notebook(adversarial_course.course, "bad_notebook_is_link"))
    assert "BEGIN SOLUTION" not in text and 'tokenizer.encode("he work I")' not in text
