"""Taking a submission in: a notebook read without trusting it, a folder looked at without following links."""

import copy
import os

import nbformat
import pytest

from coursegrader.intake.notebook import IntakeLimits, NotANotebook, read_notebook
from coursegrader.intake.submission import scan_submission
from tests.examples.lab00 import BANK


@pytest.mark.parametrize("content, reason", [
    (b"", "is empty"),
    (b"print('hi')", "is not JSON"),
    (b"\xff\xfe\x00garbage", "is not UTF-8"),
    (b'{"hello": "world"}', "not a notebook"),
    (b'{"nbformat": 9, "nbformat_minor": 0, "cells": [], "metadata": {}}', "nbformat cannot read"),
    (b'{"nbformat": 4, "nbformat_minor": 5, "cells": [{"cell_type": "code"}], "metadata": {}}', "missing an expected key"),
])
def test_what_is_not_a_notebook_is_said_plainly(tmp_path, content, reason):
    (tmp_path / "demo.ipynb").write_bytes(content)
    with pytest.raises(NotANotebook, match=reason):
        read_notebook(tmp_path / "demo.ipynb")


def test_a_link_is_never_followed_and_size_is_checked_before_reading(tmp_path):
    os.symlink(BANK.source, tmp_path / "demo.ipynb")
    with pytest.raises(NotANotebook, match="is a link to"):
        read_notebook(tmp_path / "demo.ipynb")
    big = tmp_path / "big.ipynb"
    big.write_bytes(b" " * 2000)
    with pytest.raises(NotANotebook, match="more than"):
        read_notebook(big, IntakeLimits(notebook_bytes=1000))


def test_older_formats_are_upgraded(tmp_path):
    notebook = nbformat.read(BANK.path_of("solution"), as_version=4)
    (tmp_path / "demo.ipynb").write_text(nbformat.writes(nbformat.convert(copy.deepcopy(notebook), 3), version=3))
    upgraded = read_notebook(tmp_path / "demo.ipynb")
    assert upgraded.nbformat == 4
    assert [cell.metadata.get("nbgrader") for cell in upgraded.cells] == [cell.metadata.get("nbgrader") for cell in notebook.cells]


def test_a_folder_scan_names_every_problem_and_ignores_only_what_it_must(tmp_path):
    folder = tmp_path / "alice" / "lab"
    folder.mkdir(parents=True)
    nbformat.write(nbformat.read(BANK.path_of("solution"), as_version=4), folder / "Demo (1).ipynb")
    (folder / "data.bin").write_bytes(bytes(range(256)))
    os.symlink("/etc/passwd", folder / "passwd")
    os.mkfifo(folder / "pipe")
    (folder / "big.bin").write_bytes(b"\0" * 3000)
    with open(os.path.join(os.fsencode(folder), b"caf\xe9.txt"), "wb") as handle:
        handle.write(b"x")
    intake = scan_submission(folder, "alice", ["demo"], IntakeLimits(file_bytes=2000))
    assert intake.run_notebook and intake.notebook_source == {"demo.ipynb": folder / "Demo (1).ipynb"}
    problems = " ".join(intake.problems)
    assert "'Demo (1).ipynb' was graded in its place" in problems
    assert "'passwd' was not graded: it is a link to '/etc/passwd'" in problems
    assert "'pipe' was not graded: it is a special file" in problems
    assert "'big.bin' was not graded: it is larger than" in problems
    assert "'caf\\\\xe9.txt' was not graded: its name is not UTF-8 text" in problems
    assert sorted(path.name for path in intake.ignored) == sorted(["passwd", "pipe", "big.bin", "caf\udce9.txt"])


def test_without_a_folder_or_a_notebook_nothing_runs(tmp_path):
    (tmp_path / "file").write_text("x")
    assert not scan_submission(tmp_path / "file", "bob", ["demo"]).run_notebook
    (tmp_path / "empty").mkdir()
    intake = scan_submission(tmp_path / "empty", "bob", ["demo"])
    assert not intake.run_notebook and intake.problems == ["There was no demo.ipynb in your submission (found: no notebook at all)."]
    os.symlink(tmp_path / "empty", tmp_path / "link")
    assert "is a link to" in scan_submission(tmp_path / "link", "bob", ["demo"]).problems[0]
