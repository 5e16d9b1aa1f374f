"""A lab is described once: a second lab, which exists only in ``tests/labs/weights/`` (its module and its
source notebook), is released, graded by ``nbgrader autograde`` and by ``course autograde``, fed back and
reported, in a throwaway course that names its folder in ``COURSEKIT_LABS``, with no edit anywhere else.

Lab 90 is tiny: Block A (scores and softmax weights of one query over three keys) has a self-check
(1 point) and a hidden check (2 points); Block B is a written answer (1 point) graded by hand.
"""

import csv
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from coursegrader.commands.nbgrader import nbgrader_env
from coursekit.lab import LABS_VARIABLE
from tests import commands
from tests.assignment.conftest import ROOT, TEST_LIMITS, make_course, run_course

LAB_FOLDER = ROOT / "tests" / "labs" / "weights"
ASSIGNMENT = "90-attention-weights"
NOTEBOOK = "weights.ipynb"
CHECKS = ("test_block_a_scores", "test_block_a_weights")

ANSWER = "Scaling keeps the scores' spread independent of d, so the softmax does not saturate."
# What a submission sees of the lab's folder: its module, never its source notebook (the solution).
LOOK_AROUND = ("import pathlib, weights_lab\n"
               "print(sorted(path.name for path in pathlib.Path(weights_lab.__file__).parent.iterdir()))\n")
SUBMISSIONS = {  # student -> Block A's code, and the autograded points each check must earn
    "correct": (LOOK_AROUND + "scores = K @ q / np.sqrt(q.size)\nweights = np.exp(scores) / np.exp(scores).sum()\n",
                {"test_block_a_scores": 1.0, "test_block_a_weights": 2.0}),
    "unnormalised": ("scores = K @ q / np.sqrt(q.size)\nweights = np.exp(scores)  # forgot to divide by the sum\n",
                     {"test_block_a_scores": 1.0, "test_block_a_weights": 0.0}),
}


@dataclass
class Graded:
    course: Path
    env: dict
    scores: dict  # command -> student -> grade_id -> score
    verdicts: dict  # command -> student -> grade_id -> the test cell's one output


def submit(course, release) -> None:
    for student, (code, _expected) in SUBMISSIONS.items():
        notebook = nbformat.read(release, as_version=4)
        for cell in notebook.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if grade_id == "block_a":
                cell.source = "# TODO Block A: define scores and weights.\n" + code
            elif grade_id == "block_b":
                cell.source = ANSWER
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(notebook, folder / NOTEBOOK)


def gradebook_scores(course) -> dict:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        return {student: {grade.name: None if grade.needs_manual_grade else grade.score for grade in
                          gradebook.find_submission_notebook("weights", ASSIGNMENT, student).grades}
                for student in SUBMISSIONS}


def verdicts(course) -> dict:
    found = {}
    for student in SUBMISSIONS:
        notebook = nbformat.read(course / "autograded" / student / ASSIGNMENT / NOTEBOOK, as_version=4)
        found[student] = {cell.metadata.nbgrader["grade_id"]: cell.outputs for cell in notebook.cells
                          if cell.metadata.get("nbgrader", {}).get("grade_id") in ("block_a", *CHECKS)}
    return found


def run(args, course, env) -> subprocess.CompletedProcess:
    done = subprocess.run(args, cwd=course, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{args}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = make_course(tmp_path_factory.mktemp("second-lab"), TEST_LIMITS)
    shutil.copytree(LAB_FOLDER / "source" / ASSIGNMENT, course / "source" / ASSIGNMENT)  # where nbgrader looks
    env = {key: value for key, value in nbgrader_env().items() if key != "NBGRADER_DB_URL"}
    env[LABS_VARIABLE] = str(LAB_FOLDER)
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # the graders import the lab's module: leave no __pycache__ beside it
    released = run_course(["release", ASSIGNMENT], course, env)
    assert released.returncode == 0, released.stdout + released.stderr
    submit(course, course / "release" / ASSIGNMENT / NOTEBOOK)
    scores, outputs = {}, {}
    commands.nbgrader(["autograde", ASSIGNMENT], course, env)
    scores["nbgrader"], outputs["nbgrader"] = gradebook_scores(course), verdicts(course)
    done = run_course(["autograde", ASSIGNMENT, "--force", "--jobs", "1"], course, env)
    assert done.returncode == 0 and "2 graded, 0 failed" in done.stdout, done.stdout + done.stderr
    scores["course"], outputs["course"] = gradebook_scores(course), verdicts(course)
    commands.nbgrader(["generate_feedback", ASSIGNMENT, "--force"], course, env)
    reported = run_course(["report", ASSIGNMENT], course, env)
    assert reported.returncode == 0, reported.stdout + reported.stderr
    return Graded(course, env, scores, outputs)


def test_the_lab_is_only_its_own_files():
    files = {path.relative_to(LAB_FOLDER).as_posix() for path in LAB_FOLDER.rglob("*")
             if path.is_file() and "__pycache__" not in path.parts}
    assert files == {"weights_lab.py", f"source/{ASSIGNMENT}/{NOTEBOOK}"}
    for path in [ROOT / "nbgrader_config.py", *(ROOT / "src").rglob("*.py")]:
        text = path.read_text(encoding="utf-8")
        assert ASSIGNMENT not in text and "weights_lab" not in text, path


def test_it_is_released_without_its_solution_or_hidden_test(graded):
    notebook = nbformat.read(graded.course / "release" / ASSIGNMENT / NOTEBOOK, as_version=4)
    release = "\n".join(cell.source for cell in notebook.cells)
    assert 'run_check("test_block_a_scores", globals())' in release
    assert "test_block_a_weights" not in release and "np.exp(scores).sum()" not in release
    assert "YOUR ANSWER HERE" in release


@pytest.mark.parametrize("command", ["nbgrader", "course"])
def test_both_autograders_grade_it_with_its_own_checks(graded, command):
    for student, (_code, expected) in SUBMISSIONS.items():
        assert {grade_id: graded.scores[command][student][grade_id] for grade_id in CHECKS} == expected, student
        assert graded.scores[command][student]["block_b"] is None  # awaits a grader
        for grade_id in CHECKS:
            (output,) = graded.verdicts[command][student][grade_id]
            assert output.output_type == ("stream" if expected[grade_id] else "error"), (student, grade_id)
    (listing,) = graded.verdicts[command]["correct"]["block_a"]  # the sandbox shows the lab's module alone
    assert listing.output_type == "stream" and listing.text == "['weights_lab.py']\n"
    (failed,) = graded.verdicts[command]["unnormalised"]["test_block_a_weights"]
    assert "weights that sum to 1" in failed.evalue and "divide the exponentials by their sum" in failed.evalue


def test_feedback_and_the_report_count_it_one_way(graded):
    folder = graded.course / "reports" / ASSIGNMENT
    assert (folder / "report.html").is_file()
    with open(folder / "checks.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {(row["student"], row["grade_id"], row["visibility"]) for row in rows} == \
        {(student, grade_id, visibility) for student in SUBMISSIONS
         for grade_id, visibility in [("test_block_a_scores", "self-check"), ("test_block_a_weights", "hidden"),
                                      ("block_b", "manual")]}
    results = json.loads((folder / "results" / "unnormalised" / "results.json").read_text())
    assert results["score"] == 1 and results["extra_data"]["pending_manual_points"] == 1
    tests = {test["number"]: test for test in results["tests"]}
    assert tests["test_block_a_weights"]["visibility"] == "after_published"
    assert tests["test_block_a_weights"]["status"] == "failed" and tests["test_block_a_scores"]["status"] == "passed"
    for student in SUBMISSIONS:
        page = (graded.course / "feedback" / student / ASSIGNMENT / "weights.html").read_text()
        assert "weights are the softmax of scores" in page and "awaits a grader" in page
        assert "BEGIN HIDDEN TESTS" not in page


def test_the_kernel_factory_warms_up_with_each_labs_own_cell(graded):
    probe = ("import json, coursegrader.run.zygote as zygote\ncells = []\nzygote.warm_up = cells.append\n"
             "zygote.preload()\nprint(json.dumps(cells))")
    env = {"PATH": graded.env["PATH"], LABS_VARIABLE: graded.env[LABS_VARIABLE],  # as KernelFactory starts it
           "PYTHONDONTWRITEBYTECODE": "1"}
    done = run([sys.executable, "-c", probe], "/", env)
    cells = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(cells) == 2 and "np.exp(scores).sum(axis=1)" in cells[1] and 'encode("he work I")' in cells[0]
