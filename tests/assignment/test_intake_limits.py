"""Issue 13: submissions past the intake's limits, graded by the real `nbgrader autograde` and `course autograde`.

The bank's examples (tests/examples/lab00.py: trees too deep, too long, too many files, a locked folder;
notebooks of too many cells, too deep JSON, too many attachments) are graded with the rest of the
adversarial class (by `course autograde`); test_adversarial.py checks their scores and notes, and
the real `nbgrader autograde` grades some of them here. Here: what was set aside is
kept and recorded, nothing else moved, and the next run starts and resumes as usual, even over a
graded folder that holds a tree 1,500 levels deep.
"""

import os
import re
import stat

from coursegrader.files import trees
from coursegrader.intake import ledger
from tests import commands
from tests.assignment.conftest import ASSIGNMENT, TEST_LIMITS
from tests.assignment.generated import generated_course
from tests.assignment.test_adversarial import graded_notebook, grades_of
from tests.coursegrader.files.test_trees import deep_tree
from tests.examples.lab00 import BANK, INTAKE_TEST_LIMITS

MANY = 10 * INTAKE_TEST_LIMITS["entries"]  # the files bad_tree_many_files submits


def set_aside_of(course, student) -> list[list[str]]:
    """The lines of moved.txt (number, where it was, why) of each run that set something of ``student`` aside."""
    folder = course / ".coursekit" / "set-aside" / ASSIGNMENT / student
    return [(run / "moved.txt").read_text().splitlines() for run in sorted(folder.iterdir())]


def full_marks(course, student) -> bool:
    return all(score == max_score for name, (score, max_score) in grades_of(course, student).items() if name != "block_d")


def test_what_was_set_aside_is_kept_and_recorded_and_nothing_else_moved(adversarial_course):
    course = adversarial_course.course
    [deep] = set_aside_of(course, "bad_tree_deep")
    # results/ and 15 levels of d/ stay; the 16th level is set aside, with the 1,485 levels below it
    assert [line.split("\t")[1:] for line in deep] == [["results/" + "d/" * 14 + "d", "more than 16 levels deep"]]
    bottom = os.open(course / ".coursekit" / "set-aside" / ASSIGNMENT / "bad_tree_deep", os.O_RDONLY | os.O_DIRECTORY)
    for name in [os.listdir(bottom)[0], "0001", *["d"] * (1_500 - 15)]:  # down the rest of the chain, one level at a time
        child = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=bottom)
        os.close(bottom)
        bottom = child
    assert os.listdir(bottom) == ["bottom.txt"]
    os.close(bottom)

    [long] = set_aside_of(course, "bad_tree_long_path")
    assert len(long) == 1 and long[0].endswith("a path longer than 1,024 bytes")

    [many] = set_aside_of(course, "bad_tree_many_files")
    kept = os.listdir(course / "submitted" / "bad_tree_many_files" / ASSIGNMENT / "data")
    assert len(kept) + len(many) == MANY and len(kept) < INTAKE_TEST_LIMITS["entries"]
    assert len(os.listdir(course / "autograded" / "bad_tree_many_files" / ASSIGNMENT / "data")) == len(kept)

    everyone_else = set(os.listdir(course / ".coursekit" / "set-aside" / ASSIGNMENT))
    assert everyone_else == {"bad_tree_deep", "bad_tree_long_path", "bad_tree_many_files"}


def test_a_locked_folder_is_left_as_it_is_and_the_work_graded(adversarial_course):
    course = adversarial_course.course
    locked = course / "submitted" / "bad_tree_locked_folder" / ASSIGNMENT / "private"
    assert stat.S_IMODE(os.lstat(locked).st_mode) == 0 and full_marks(course, "bad_tree_locked_folder")
    copied = (course / "autograded" / "bad_tree_locked_folder" / ASSIGNMENT / "private" / "notes.txt").is_file()
    notes = graded_notebook(course, "bad_tree_locked_folder").cells[0].source
    # root reads it as any folder; another grader cannot, and says so
    assert (copied, "'private' could not be read" in notes) == ((True, False) if os.geteuid() == 0 else (False, True))


def test_the_next_runs_start_and_resume_over_a_graded_folder_1500_levels_deep(adversarial_course):
    course = adversarial_course.course
    student = "rerun_after_a_deep_tree"
    BANK.place("solution", course / "submitted" / student / ASSIGNMENT, course)
    graded = course / "autograded" / student / ASSIGNMENT
    graded.parent.mkdir(parents=True)
    deep_tree(graded)  # an earlier run stopped while grading it, its kernel having left this (300 kB of path)

    log = commands.nbgrader(["autograde", ASSIGNMENT], course).stdout
    assert f"Submission {student}/{ASSIGNMENT}: an earlier run stopped while grading it" in log
    assert re.findall(r"Sanitizing \S+/submitted/(\w+)/", log) == [student]  # everyone else: skipped, as graded
    assert ledger.finished(course, ASSIGNMENT, student) and full_marks(course, student)

    deep_tree(graded / "left-by-an-old-kernel")  # in a finished graded folder: --force must remove it
    log = commands.nbgrader(["autograde", ASSIGNMENT, "--force", "--student", student], course).stdout
    assert f"Submission {student}/{ASSIGNMENT}: graded again (--force)" in log
    assert not (graded / "left-by-an-old-kernel").exists() and full_marks(course, student)


def test_nbgrader_autograde_takes_them_in_alike(tmp_path, tmp_path_factory):
    """The adversarial class is graded by `course autograde`; the real `nbgrader autograde` takes in a tree too
    deep, a path too long and a notebook of too many cells alike (its resuming over deep trees: the test above)."""
    names = ["bad_tree_deep", "bad_tree_long_path", "bad_many_cells"]
    course = generated_course(tmp_path / "course", tmp_path_factory, TEST_LIMITS, names)
    try:
        log = commands.nbgrader(["autograde", ASSIGNMENT], course).stdout
        assert all(f"Graded {name}/{ASSIGNMENT} completely" in log for name in names), log[-3000:]
        for name in names:
            notes = graded_notebook(course, name).cells[0].source
            assert all(phrase in notes for phrase in BANK.examples[name].notes), (name, notes)
        assert full_marks(course, "bad_tree_deep") and set_aside_of(course, "bad_tree_deep")
        assert full_marks(course, "bad_tree_long_path") and set_aside_of(course, "bad_tree_long_path")
        assert not any(score for score, _ in grades_of(course, "bad_many_cells").values())
    finally:
        trees.remove_tree(course / ".coursekit" / "set-aside")
