"""Taking a submission in: a notebook read without trusting it, a folder looked at without following links."""

import codecs
import copy
import json
import os
import stat

import nbformat
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coursegrader.intake.notebook import IntakeLimits, NotANotebook, read_notebook
from coursegrader.files import trees
from coursegrader.intake.notebook_json import JsonLimits, parse_notebook_json
from coursegrader.intake.setaside import SetAside, remove_graded_folder
from coursegrader.intake.submission import scan_submission
from tests.coursegrader.files.test_trees import deep_tree
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


# -----------------------------------------------------------------------------
# a notebook's structure, within limits: each limit named, with how to fix it


def notebook(cells, metadata=None) -> dict:
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": metadata or {}, "cells": cells}


def code(source="x = 1", outputs=(), index=0) -> dict:
    return {"cell_type": "code", "id": f"c{index}", "metadata": {}, "source": source, "outputs": list(outputs),
            "execution_count": 3}


def markdown(source="text", attachments=None, index=0) -> dict:
    cell = {"cell_type": "markdown", "id": f"m{index}", "metadata": {}, "source": source}
    if attachments is not None:
        cell["attachments"] = attachments
    return cell


def stream(text) -> dict:
    return {"output_type": "stream", "name": "stdout", "text": text}


def nested(depth: int) -> list:
    value: list = []
    for _ in range(depth - 1):
        value = [value]
    return value


SMALL = IntakeLimits(cells=5, source_bytes=1000, attachments=3, attachment_bytes=2000, json_depth=10, values=400,
                     metadata_bytes=1500, output_values=500, text_bytes=4096)


@pytest.mark.parametrize("document, phrases", [
    (notebook([code(index=i) for i in range(6)]), ["has more than 5 cells", "merge or delete the cells you added"]),
    (notebook([code("x" * 600), markdown("y" * 401)]), ["of code and text in its cells", "keep data in a file"]),
    (notebook([markdown(attachments={f"{i}.png": {"image/png": "AA=="} for i in range(4)})]),
     ["has more than 3 attachments", "delete some"]),
    (notebook([markdown(attachments={"a.png": {"image/png": "A" * 2001}})]),
     ["has more than 1.953 KiB of attachments (images pasted into markdown cells)", "paste fewer or smaller"]),
    (notebook([code()], metadata={"deep": nested(9)}), ["nested more than 10 levels deep outside its outputs",
                                                          "fresh copy of the released notebook"]),
    (notebook([code(outputs=[{"output_type": "execute_result", "data": {"application/json": nested(6)},
                              "metadata": {}, "execution_count": 1}])]),
     ["nested more than 10 levels deep in its saved outputs", "Restart Kernel and Clear Outputs"]),
    (notebook([code()], metadata={"many": list(range(401))}), ["more than 400 lines and values outside its outputs"]),
    (notebook([code(outputs=[stream(["line\n"] * 501)])]),
     ["more than 500 lines and values of saved outputs", "Restart Kernel and Clear Outputs"]),
    (notebook([code()], metadata={"note": "z" * 1501}), ["has more than 1.465 KiB of metadata", "fresh copy"]),
])
def test_each_structure_limit_is_named_with_how_to_fix_it(tmp_path, document, phrases):
    (tmp_path / "demo.ipynb").write_text(json.dumps(document))
    with pytest.raises(NotANotebook) as refused:
        read_notebook(tmp_path / "demo.ipynb", SMALL)
    for phrase in phrases:
        assert phrase in str(refused.value)
    assert str(refused.value).startswith("'demo.ipynb' ")


def test_a_notebook_just_within_every_limit_is_read(tmp_path):
    document = notebook([code("x" * 300, outputs=[stream(["line\n"] * 400)], index=0), code("y", index=1),
                         markdown("z" * 300, attachments={f"{i}.png": {"image/png": "A" * 600} for i in range(3)})],
                        metadata={"deep": nested(7), "note": "n" * 1000})
    (tmp_path / "demo.ipynb").write_text(json.dumps(document))
    read = read_notebook(tmp_path / "demo.ipynb", SMALL)
    assert [cell.cell_type for cell in read.cells] == ["code", "code", "markdown"]
    assert len(read.cells[2].attachments) == 3 and read.metadata.note == "n" * 1000


def test_saved_outputs_are_dropped_and_an_over_long_text_is_skipped_unread(tmp_path):
    """A 60 kB output text (escaped quotes and backslashes, characters of 2 to 4 bytes) is past a 4 kB text limit:
    cut, skipped, dropped with its outputs; the cells around it are read exactly."""
    text = ('a"b\\c\n' + "é€😀" * 3) * 2000
    document = notebook([code("before = 1", outputs=[stream(text), stream("short")], index=0),
                         markdown("after **this**", index=1)])
    (tmp_path / "demo.ipynb").write_text(json.dumps(document, ensure_ascii=False))
    read = read_notebook(tmp_path / "demo.ipynb", SMALL)
    assert read.cells[0].outputs == [] and read.cells[0].execution_count == 3
    assert read.cells[0].source == "before = 1" and read.cells[1].source == "after **this**"


@pytest.mark.parametrize("where", ["source", "attachment", "metadata"])
def test_an_over_long_text_outside_outputs_is_refused_not_cut(tmp_path, where):
    """900 astral characters written as \\uXXXX pairs: 900 characters, within every limit on what is kept, but
    10,800 bytes in the file, past the 4 kB text limit. Cut short, the text would pass: it is refused."""
    text = "😀" * 900
    cell = markdown(text) if where == "source" else markdown(attachments={"a.png": {"image/png": text}})
    document = notebook([cell], metadata={"note": text} if where == "metadata" else {})
    if where == "metadata":
        document["cells"] = [markdown()]
    (tmp_path / "demo.ipynb").write_text(json.dumps(document))  # ensure_ascii: \\ud83d\\ude00
    with pytest.raises(NotANotebook, match="holds a single text of more than 4 KiB outside its outputs"):
        read_notebook(tmp_path / "demo.ipynb", SMALL)


def test_a_byte_order_mark_is_accepted_and_bad_bytes_are_located(tmp_path):
    (tmp_path / "demo.ipynb").write_bytes(codecs.BOM_UTF8 + json.dumps(notebook([code()])).encode())
    assert read_notebook(tmp_path / "demo.ipynb").cells[0].source == "x = 1"
    (tmp_path / "demo.ipynb").write_bytes(b'{"cells": ["\xc3\xa9", "\xff"]}')
    with pytest.raises(NotANotebook, match=r"not UTF-8 text \(byte 18\)"):
        read_notebook(tmp_path / "demo.ipynb")


KEPT_TEXT = st.text(st.characters(codec="utf-8"), max_size=5)  # escaped, ≤ 60 bytes: never cut
ANY_TEXT = st.text(st.characters(codec="utf-8"), max_size=300)


@settings(max_examples=150, deadline=None)
@given(cells=st.lists(st.tuples(KEPT_TEXT, st.lists(ANY_TEXT, max_size=3), st.dictionaries(KEPT_TEXT, KEPT_TEXT)),
                      max_size=4),
       ascii_only=st.booleans())
def test_the_stream_reads_what_json_loads_reads_outputs_aside(cells, ascii_only):
    """With 16-byte chunks and a 64-byte text limit, escapes, UTF-8 characters and cut texts fall across
    every chunk boundary; what is kept must equal json.loads's document, outputs emptied."""
    document = notebook([{**code(source, [stream(text) for text in texts], index), "metadata": metadata}
                         for index, (source, texts, metadata) in enumerate(cells)])
    data = json.dumps(document, ensure_ascii=ascii_only).encode()
    expected = json.loads(data)
    for cell in expected["cells"]:
        cell["outputs"] = []
    read_fd, write_fd = os.pipe()
    os.write(write_fd, data)
    os.close(write_fd)
    limits = JsonLimits(file_bytes=10**6, text_bytes=64, depth=64, values=10**6, output_values=10**6, cells=100,
                        source_bytes=10**6, attachments=100, attachment_bytes=10**6, metadata_bytes=10**6)
    try:
        parsed, dropped = parse_notebook_json(read_fd, limits)
    finally:
        os.close(read_fd)
    assert parsed == expected
    assert dropped.outputs == sum(len(texts) for _, texts, _ in cells)


# -----------------------------------------------------------------------------
# a submission folder's tree: what lies past the limits is moved out of nbgrader's way, never deleted

FOLDER_LIMITS = IntakeLimits(entries=500)


@pytest.fixture
def deep_tmp(tmp_path):
    """tmp_path, emptied without recursion afterwards: pytest removes old ones with shutil.rmtree, which a
    deep tree left there would stop (in this session or another one)."""
    yield tmp_path
    fd = trees.open_folder(tmp_path)
    try:
        assert trees.empty_folder(fd) == []
    finally:
        os.close(fd)


def odd_submission(folder):
    """A correct-looking submission with a tree 1,500 levels deep, paths past 4,096 bytes, 600 tiny files and a
    folder with mode 000."""
    folder.mkdir(parents=True)
    (folder / "demo.ipynb").write_text("{}")
    (folder / "timestamp.txt").write_text("2026-11-29 12:00:00.000000 UTC")
    deep_tree(folder / "deep", depth=1_500, name="d")
    deep_tree(folder / "long", depth=20, name="L" * 250)
    (folder / "zdata").mkdir()
    for index in range(600):
        (folder / "zdata" / f"{index:04d}.txt").write_text("x")
    (folder / "locked").mkdir()
    (folder / "locked" / "secret.txt").write_text("mine")
    os.chmod(folder / "locked", 0)


def descend(top, names):
    """Open the folder ``names`` below ``top`` one level at a time (a path that long cannot be opened whole)."""
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    for name in names:
        child = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = child
    return fd


def test_a_tree_past_the_folder_limits_is_set_aside_whole_and_nbgrader_can_walk_the_rest(deep_tmp):
    from nbgrader.utils import find_all_files

    folder = deep_tmp / "submitted" / "alice" / "lab"
    odd_submission(folder)
    aside = SetAside(deep_tmp, "lab", "alice")
    intake = scan_submission(folder, "alice", ["demo"], FOLDER_LIMITS, set_aside=aside)
    problems = " ".join(intake.problems)
    assert "'deep/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d' held files or folders more than 16 levels deep" in problems
    assert "paths longer than 1,024 bytes" in problems and "'long/LLL" in problems
    # walked in name order: deep/ (16 levels and a file), demo.ipynb, locked/ and its file (which only root can
    # read), long/ (5 levels and a file), timestamp.txt, zdata/: 29 entries, then zdata's first 471 files make 500
    kept = 471 if os.geteuid() == 0 else 472
    assert f"the {600 - kept} files and folders past the first 500 ('zdata/{kept:04d}.txt', 'zdata/{kept + 1:04d}.txt', " \
           f"'zdata/{kept + 2:04d}.txt' and {600 - kept - 3} more) were set aside, not graded (your instructor keeps them)" \
           in problems
    assert intake.unsafe is None and intake.run_notebook

    files = find_all_files(str(folder), ["*.ipynb"])  # nbgrader's own walk now meets a bounded tree
    assert len(files) < 520 and max(len(os.fsencode(os.path.relpath(file, folder))) for file in files) <= 1024
    assert os.path.exists(folder / "timestamp.txt") and os.path.exists(folder / "demo.ipynb")

    # nothing deleted: each moved entry is in the set-aside folder, recorded in moved.txt
    moved = (aside.folder / "moved.txt").read_text().splitlines()
    assert len(moved) == len(intake.set_aside) == 1 + 1 + 600 - kept
    assert all(path.parent == aside.folder and os.path.lexists(path) for path in intake.set_aside)
    assert moved[0].split("\t") == ["0001", "deep/" + "d/" * 14 + "d", "more than 16 levels deep"]
    assert len(os.listdir(folder / "zdata")) + sum("zdata/" in line for line in moved) == 600
    deepest = descend(intake.set_aside[0], ["d"] * (1_500 - 15))  # the rest of the chain, down to its end
    try:
        assert {"link", "locked"} <= set(os.listdir(deepest))
    finally:
        os.close(deepest)
    # a folder without permissions stays where it is; only a grader that is not root cannot read it
    assert os.path.isdir(folder / "locked") and stat.S_IMODE(os.lstat(folder / "locked").st_mode) == 0
    assert ("'locked' could not be read" in problems) == (os.geteuid() != 0)


def test_a_second_scan_finds_nothing_more_to_move(deep_tmp):
    folder = deep_tmp / "submitted" / "alice" / "lab"
    odd_submission(folder)
    scan_submission(folder, "alice", ["demo"], FOLDER_LIMITS, set_aside=SetAside(deep_tmp, "lab", "alice"))
    again = SetAside(deep_tmp, "lab", "alice")
    intake = scan_submission(folder, "alice", ["demo"], FOLDER_LIMITS, set_aside=again)
    assert intake.set_aside == [] and again.folder is None and not any("set aside" in p for p in intake.problems)


def test_what_cannot_be_moved_stops_the_walk_and_says_so(deep_tmp, monkeypatch):
    folder = deep_tmp / "submitted" / "alice" / "lab"
    odd_submission(folder)

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(SetAside, "move", refuse)
    intake = scan_submission(folder, "alice", ["demo"], FOLDER_LIMITS, set_aside=SetAside(deep_tmp, "lab", "alice"))
    assert intake.unsafe == "'deep/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d' could not be set aside (Permission denied)"


def test_an_earlier_graded_folder_is_removed_however_deep_or_moved_aside_when_it_cannot_be(deep_tmp, monkeypatch):
    graded = deep_tmp / "autograded" / "alice" / "lab"
    graded.parent.mkdir(parents=True)
    deep_tree(graded, depth=1_500)  # 300 kB of path, a link and a locked folder at the end
    assert remove_graded_folder(graded, SetAside(deep_tmp, "lab", "alice")) is None
    assert not os.path.lexists(graded) and os.listdir(graded.parent) == []

    deep_tree(graded, depth=50)
    monkeypatch.setattr(trees, "remove_tree", lambda path: ["immutable.txt"])
    aside = SetAside(deep_tmp, "lab", "alice")
    where = remove_graded_folder(graded, aside)
    assert where == aside.folder / "0001" and where.is_dir() and not os.path.lexists(graded)
    assert "not all removable: immutable.txt" in (aside.folder / "moved.txt").read_text()


def test_a_notebook_the_grader_wrote_from_one_within_the_limits_is_read_back():
    """The sanitized notebook holds the student's, the notes and the cells put back from the release."""
    for limits in (IntakeLimits(), SMALL):
        graded = limits.for_graded()
        assert graded.cells > 2 * limits.cells and graded.source_bytes > 2 * limits.source_bytes
        assert all(getattr(graded, field) >= getattr(limits, field) for field in limits.__dataclass_fields__)
