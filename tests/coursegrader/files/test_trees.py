"""coursegrader.files.trees: trees of any depth, path length and kind, walked, copied and removed without
recursion and without following a link (Python's os.walk, rglob and rmtree raise on such trees)."""

import os
import shutil
import stat

import pytest

from coursegrader.files import trees

DEPTH = 1_500  # deeper than Python's recursion limit
NAME = "d" * 200  # DEPTH of them: a path of 300 kB, far past PATH_MAX


def deep_tree(top, depth=DEPTH, name=NAME):
    """A chain of ``depth`` folders below ``top``, a file every 500 levels, a link and a locked folder at the end."""
    top.mkdir()
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for level in range(depth):
            os.mkdir(name, dir_fd=fd)
            child = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = child
            if level % 500 == 0:
                handle = os.open("f.txt", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
                os.write(handle, b"x" * 5000)
                os.close(handle)
        os.symlink("/etc/passwd", "link", dir_fd=fd)
        os.mkdir("locked", dir_fd=fd)
        os.chmod("locked", 0, dir_fd=fd)
    finally:
        os.close(fd)


def test_pythons_own_tools_fail_on_such_a_tree(tmp_path):
    deep_tree(tmp_path / "top")
    try:
        with pytest.raises((RecursionError, OSError)):
            list(os.walk(tmp_path / "top"))
            shutil.rmtree(tmp_path / "top")
    finally:
        assert trees.remove_tree(tmp_path / "top") == []  # pytest's own clean-up of old temporary folders recurses


def test_a_deep_tree_is_measured_copied_within_limits_and_removed(tmp_path):
    deep_tree(tmp_path / "top")
    fd = trees.open_folder(tmp_path / "top")
    try:
        usage = trees.measure(fd, max_bytes=2**30, max_entries=10**6, max_depth=64)
        assert usage.deepest == 65 and usage.over(2**30, 10**6, 64) == "folders more than 64 levels deep"
        (tmp_path / "out").mkdir()
        out = trees.open_folder(tmp_path / "out")
        copied = trees.copy_regular_files(fd, out, trees.CopyLimits(max_depth=4, max_path_bytes=10**6))
        os.close(out)
    finally:
        os.close(fd)
    assert copied.files == [f"{NAME}/f.txt"]
    assert copied.left[0][1] == "it is more than 4 folders deep"
    assert "…" in copied.note() and len(copied.note()) < 200
    assert trees.remove_tree(tmp_path / "top") == []
    assert not os.path.lexists(tmp_path / "top")


def test_measure_counts_blocks_on_disk_and_stops_past_a_limit(tmp_path):
    top = tmp_path / "top"
    top.mkdir()
    with open(top / "sparse", "wb") as handle:
        handle.truncate(10**9)  # a gigabyte that takes no disk
    (top / "real").write_bytes(b"x" * 300_000)
    for index in range(50):
        (top / f"f{index}").touch()
    fd = trees.open_folder(top)
    try:
        usage = trees.measure(fd, max_bytes=2**30, max_entries=10**6, max_depth=8)
        assert 300_000 <= usage.bytes < 2_000_000 and usage.entries == 52
        assert trees.measure(fd, max_bytes=2**30, max_entries=10, max_depth=8).over(2**30, 10, 8) \
            == "more than 10 files and folders"
    finally:
        os.close(fd)


def test_copying_never_follows_or_copies_a_link_fifo_or_odd_name(tmp_path):
    source, out = tmp_path / "source", tmp_path / "out"
    (source / "sub").mkdir(parents=True)
    (source / "ok.txt").write_text("ok")
    (source / "sub" / "inner.txt").write_text("inner")
    secret = tmp_path / "secret"
    secret.write_text("secret")
    os.symlink(secret, source / "link.txt")
    os.symlink(tmp_path, source / "linked_folder")
    os.mkfifo(source / "pipe")
    (source / os.fsdecode(b"bad\xffname")).write_text("x")
    out.mkdir()
    (out / "ok.txt").symlink_to(secret)  # a link waiting at the destination is replaced, never written through
    source_fd, out_fd = trees.open_folder(source), trees.open_folder(out)
    try:
        copied = trees.copy_regular_files(source_fd, out_fd)
    finally:
        os.close(source_fd)
        os.close(out_fd)
    assert sorted(copied.files) == ["ok.txt", "sub/inner.txt"]
    reasons = dict(copied.left)
    assert reasons["link.txt"] == reasons["linked_folder"] == "it is a link"
    assert reasons["pipe"] == "it is not a regular file"
    assert reasons["bad\\xffname"] == "its name is not UTF-8 text"
    assert secret.read_text() == "secret" and not (out / "ok.txt").is_symlink() and (out / "ok.txt").read_text() == "ok"


def test_copying_stops_at_the_byte_and_entry_allowances(tmp_path):
    source, out = tmp_path / "source", tmp_path / "out"
    source.mkdir()
    out.mkdir()
    for index in range(5):
        (source / f"f{index}").write_bytes(b"x" * 1000)
    source_fd, out_fd = trees.open_folder(source), trees.open_folder(out)
    try:
        copied = trees.copy_regular_files(source_fd, out_fd, trees.CopyLimits(max_bytes=2500))
        assert copied.files == ["f0", "f1"] and copied.left[0] == ("f2", "the files before it already take 0.00238419 MiB")
        assert sorted(os.listdir(out)) == ["f0", "f1"]
    finally:
        os.close(source_fd)
        os.close(out_fd)


def test_removing_a_file_a_link_or_nothing(tmp_path):
    (tmp_path / "file").write_text("x")
    os.symlink(tmp_path / "file", tmp_path / "link")
    assert trees.remove_tree(tmp_path / "link") == [] and (tmp_path / "file").exists()
    assert trees.remove_tree(tmp_path / "file") == [] and not (tmp_path / "file").exists()
    assert trees.remove_tree(tmp_path / "missing") == []
    folder = tmp_path / "folder"
    (folder / "a" / "b").mkdir(parents=True)
    os.chmod(folder / "a", stat.S_IRUSR)  # no search permission
    assert trees.remove_tree(folder) == [] and not folder.exists()
