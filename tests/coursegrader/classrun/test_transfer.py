"""What travels to and from a grading worker (coursegrader.classrun.transfer).

A submission goes to the worker as the student left it (links, FIFOs, odd names, deep trees), so the
worker's intake judges what a local run would. The graded folder that comes back holds what student
code wrote, so the instructor's side takes only folders and regular files, inside the destination,
within limits, and never follows a link, whatever the archive holds.
"""

import io
import os
import stat
import tarfile

import pytest

from coursegrader.files.trees import remove_tree
from coursegrader.classrun.transfer import PackLimits, TooLarge, install_graded, pack, unpack_submission

DEPTH = 1_500  # deeper than Python's recursion limit: tarfile.add and rglob would fail on it


def deep_tree(top, depth):
    """``top/d/d/.../d/bottom.txt``, made by descriptor (its path is longer than PATH_MAX)."""
    os.makedirs(top, exist_ok=True)
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(depth):
        os.mkdir("d", dir_fd=fd)
        inner = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = inner
    bottom = os.open("bottom.txt", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
    os.write(bottom, b"bottom")
    os.close(bottom)
    os.close(fd)


def tree(top) -> dict[str, str]:
    """Every entry below ``top`` (depth within the OS's path limit): relative path -> kind."""
    kinds = {}
    for folder, folders, files in os.walk(top):
        for name in folders + files:
            path = os.path.join(folder, name)
            mode = os.lstat(path).st_mode
            kinds[os.path.relpath(path, top)] = ("link" if stat.S_ISLNK(mode) else "dir" if stat.S_ISDIR(mode)
                                                 else "file" if stat.S_ISREG(mode) else "fifo" if stat.S_ISFIFO(mode)
                                                 else "other")
    return kinds


def test_a_submission_travels_as_the_student_left_it(tmp_path):
    submission = tmp_path / "submitted"
    (submission / "helper").mkdir(parents=True)
    (submission / "demo.ipynb").write_text("{}")
    (submission / "helper" / "values.npy").write_bytes(b"\x93NUMPY")
    os.symlink("/etc/passwd", submission / "passwd.txt")
    os.symlink("../../../gradebook.db", submission / "grades.db")
    os.mkfifo(submission / "results.csv")
    with open(os.path.join(os.fsencode(submission), b"caf\xe9.txt"), "wb") as handle:
        handle.write(b"latin-1 name")
    deep_tree(submission / "deep", 40)

    archive, left = pack(submission, links=True)
    unpack_submission(archive, tmp_path / "worker" / "submitted")
    assert not left
    assert tree(tmp_path / "worker" / "submitted") == tree(submission)
    assert os.readlink(tmp_path / "worker" / "submitted" / "passwd.txt") == "/etc/passwd"


@pytest.mark.parametrize("kind", ["file", "link", "fifo", "nothing"])
def test_a_submission_that_is_no_folder_travels_as_what_it_is(tmp_path, kind):
    submission = tmp_path / "submitted"
    if kind == "file":
        submission.write_text("my notebook is in my other folder\n")
    elif kind == "link":
        os.symlink("../solution/lab", submission)
    elif kind == "fifo":
        os.mkfifo(submission)
    archive, _ = pack(submission, links=True)
    arrived = tmp_path / "worker" / "submitted"
    unpack_submission(archive, arrived)
    if kind == "nothing":
        assert not os.path.lexists(arrived)
    else:
        assert tree(tmp_path / "worker") == {"submitted": kind if kind != "nothing" else None}


def test_a_tree_deeper_than_the_recursion_limit_is_packed_down_to_the_limit(tmp_path):
    deep_tree(tmp_path / "graded", DEPTH)
    (tmp_path / "graded" / "demo.ipynb").write_text("{}")
    try:
        archive, left = pack(tmp_path / "graded", links=False, limits=PackLimits(max_depth=64))
    finally:
        assert remove_tree(tmp_path / "graded") == []  # pytest's own clean-up of old folders recurses
    with tarfile.open(fileobj=io.BytesIO(archive)) as opened:
        names = opened.getnames()
    assert "demo.ipynb" in names and max(name.count("/") for name in names) == 63
    assert any("more than 64 folders deep" in note for note in left)


def test_a_folder_too_large_to_send_says_so(tmp_path):
    (tmp_path / "graded").mkdir()
    (tmp_path / "graded" / "big.bin").write_bytes(b"x" * 5000)
    with pytest.raises(TooLarge, match="more than"):
        pack(tmp_path / "graded", links=False, limits=PackLimits(max_bytes=4000))


def hostile_archive(secret_link_target) -> bytes:
    """What a compromised worker could send back: every kind of entry tar knows, and paths that leave."""
    buffer = io.BytesIO()

    def add(name, kind=tarfile.REGTYPE, data=b"", **fields):
        member = tarfile.TarInfo(name)
        member.type, member.size, member.mode = kind, len(data), fields.pop("mode", 0o644)
        for field, value in fields.items():
            setattr(member, field, value)
        archive.addfile(member, io.BytesIO(data) if data else None)

    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        add(".", tarfile.DIRTYPE, mode=0o777)
        add("demo.ipynb", data=b"{}", mode=0o4777)  # setuid, world-writable
        add("folder", tarfile.DIRTYPE)
        add("folder/kept.txt", data=b"kept")
        add("link", tarfile.SYMTYPE, linkname=str(secret_link_target))
        add("inner-link", tarfile.SYMTYPE, linkname="demo.ipynb")
        add("hard", tarfile.LNKTYPE, linkname="demo.ipynb")
        add("through-link", tarfile.SYMTYPE, linkname=str(secret_link_target.parent))
        add("through-link/written.txt", data=b"through a link")
        add("../escaped.txt", data=b"escaped")
        add("/absolute.txt", data=b"absolute")
        add("fifo", tarfile.FIFOTYPE)
        add("device", tarfile.CHRTYPE, devmajor=1, devminor=3)
        add("big.bin", data=b"x" * 3000)
        add("/".join(["d"] * 20) + "/bottom.txt", data=b"deep")
    return buffer.getvalue()


def test_a_graded_folder_from_a_worker_brings_only_folders_and_regular_files_inside_its_place(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    course = tmp_path / "course" / "autograded" / "alice"
    course.mkdir(parents=True)
    destination = course / "lab"
    destination.mkdir()  # an earlier graded folder, with a link a careless tool would follow when removing it
    os.symlink(outside, destination / "to-outside")

    left = install_graded(hostile_archive(outside / "secret.txt"), destination,
                          PackLimits(max_depth=8, max_bytes=2000))

    # a leading / is dropped, and a file under a refused link lands in a plain folder of that name: both inside
    assert tree(destination) == {"demo.ipynb": "file", "folder": "dir", "folder/kept.txt": "file", "absolute.txt": "file",
                                 "through-link": "dir", "through-link/written.txt": "file"}
    assert (destination / "folder" / "kept.txt").read_text() == "kept"
    assert stat.S_IMODE(os.stat(destination / "demo.ipynb").st_mode) == 0o444  # as nbgrader leaves graded files
    assert stat.S_IMODE(os.stat(destination).st_mode) == 0o755
    assert sorted(os.listdir(outside)) == ["secret.txt"] and (outside / "secret.txt").read_text() == "secret"
    assert not (tmp_path / "course" / "autograded" / "escaped.txt").exists()
    assert sorted(os.listdir(course)) == ["lab"]  # nothing half-made left beside it
    reasons = " ".join(left)
    for name in ("link", "inner-link", "through-link ", "hard", "fifo", "device", "escaped.txt", "big.bin", "bottom.txt"):
        assert name in reasons, name


def test_a_graded_folder_replaces_a_link_in_its_place_without_writing_through_it(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "autograded" / "alice").mkdir(parents=True)
    destination = tmp_path / "autograded" / "alice" / "lab"
    os.symlink(outside, destination)
    graded = tmp_path / "graded"
    graded.mkdir()
    (graded / "demo.ipynb").write_text("{}")
    archive, _ = pack(graded, links=False)
    install_graded(archive, destination)
    assert not destination.is_symlink() and tree(destination) == {"demo.ipynb": "file"}
    assert os.listdir(outside) == []
