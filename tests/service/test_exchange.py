"""The exchange as ``course watch`` reads it: what it trusts, what it collects, where it releases.

Submissions are made here the way ``nbgrader submit`` lays them out (or the way a student could by hand),
owned by accounts that exist on every Debian machine (``nobody``, ``daemon``), which needs root; the
tests that change owners are skipped elsewhere. nbgrader's own collect is the reference for an honest
submission.
"""

from __future__ import annotations

import os
import pwd
import secrets
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from coursegrader.service.exchange import Exchange, ExchangeUnsafe, parse_name, submitted_timestamp

ASSIGNMENT = "ps1"
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="makes files owned by other accounts: needs root")


def stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M:%S.%f %Z")


def submit(exchange: Exchange, student: str, when: datetime | None = None, owner: str | None = None,
           secret: str | None = None, files: dict[str, bytes] | None = None, finish: bool = True) -> str:
    """A folder in inbound as ``nbgrader submit`` leaves it (``finish=False``: before its last step)."""
    when = when or datetime.now(timezone.utc)
    name = f"{student}+{ASSIGNMENT}+{stamp(when)}+{secrets.token_urlsafe(9)}"
    folder = exchange.inbound / name
    folder.mkdir()
    for relative, content in (files or {"ps1.ipynb": b"{}"}).items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_bytes(content)
    (folder / "timestamp.txt").write_text(stamp(when))
    if finish:
        (folder / "submission_secret.txt").write_text(secret or secrets.token_hex(64))
        folder.chmod(0o777)
    uid = pwd.getpwnam(owner or student).pw_uid
    for path in [folder, *folder.rglob("*")]:
        os.lchown(path, uid, uid)
    return name


@pytest.fixture
def exchange(tmp_path):
    exchange = Exchange(tmp_path / "exchange", "course101", ASSIGNMENT, quiet=0.0)
    exchange.inbound.mkdir(parents=True)
    exchange.root.chmod(0o777)
    exchange.inbound.chmod(0o2733)
    return exchange


@pytest.fixture
def coursedir():
    from nbgrader.coursedir import CourseDirectory

    return CourseDirectory()


def test_a_name_parses_as_nbgraders_collect_reads_it():
    record = parse_name("al+ice+ps1+2026-11-30 00:48:44.245927 UTC+5T91Ly5F9s6r")
    assert (record.student, record.assignment, record.stamp) == ("al+ice", "ps1", "2026-11-30 00:48:44.245927 UTC")
    assert record.when == datetime(2026, 11, 30, 0, 48, 44, 245927, tzinfo=timezone.utc).timestamp()
    assert parse_name("alice+ps1+not a time+x") is None and parse_name("alice+ps1") is None
    assert parse_name("..+ps1+2026-11-30 00:48:44.245927 UTC+x") is None  # submitted/../ps1
    assert parse_name("al\x1bice+ps1+2026-11-30 00:48:44.245927 UTC+x") is None


def test_secure_adds_the_sticky_bits_nbgrader_leaves_off(exchange):
    said = []
    exchange.secure(said.append)
    assert exchange.root.stat().st_mode & 0o1000 and exchange.inbound.stat().st_mode & 0o1000
    assert len(said) == 2
    assert exchange.feedback.stat().st_mode & 0o777 == 0o711


def test_secure_refuses_without_a_course_id(tmp_path):
    with pytest.raises(ExchangeUnsafe, match="course id"):
        Exchange(tmp_path, "", ASSIGNMENT).secure(print)


@as_root
def test_an_honest_submission_is_complete_once_nbgrader_submit_made_it_0777(exchange):
    name = submit(exchange, "nobody", finish=False)
    [record] = exchange.scan()
    assert exchange.inspect(record).state == "waiting"
    (exchange.inbound / name / "submission_secret.txt").write_text(secrets.token_hex(64))
    (exchange.inbound / name).chmod(0o777)
    inspection = exchange.inspect(record)
    assert inspection.state == "complete" and inspection.owner == pwd.getpwnam("nobody").pw_uid


@as_root
def test_quiet_period_waits_for_the_last_change(exchange):
    submit(exchange, "nobody")
    exchange.quiet = 30.0
    [record] = exchange.scan()
    inspection = exchange.inspect(record)
    assert inspection.state == "waiting" and inspection.settles_at > time.time() + 25


@as_root
@pytest.mark.parametrize("forgery, why", [
    ("another account", "made by daemon"),
    ("far future", "in the future"),
    ("backdated", "long before the folder was made"),
    ("timestamp.txt disagrees", "does not say what its name says"),
    ("no such account", "no Unix account"),
])
def test_untrusted_submissions_are_rejected(exchange, forgery, why):
    now = datetime.now(timezone.utc)
    if forgery == "another account":
        submit(exchange, "nobody", owner="daemon")
    elif forgery == "far future":
        submit(exchange, "nobody", when=now + timedelta(days=365))
    elif forgery == "backdated":
        submit(exchange, "nobody", when=now - timedelta(days=2))
    elif forgery == "timestamp.txt disagrees":
        name = submit(exchange, "nobody")
        (exchange.inbound / name / "timestamp.txt").write_text(stamp(now - timedelta(seconds=5)))
    else:
        name = f"no-such-student-here+{ASSIGNMENT}+{stamp(now)}+abc"
        (exchange.inbound / name).mkdir(mode=0o777)
    [record] = exchange.scan()
    inspection = exchange.inspect(record)
    assert inspection.state == "rejected" and why in inspection.why


@as_root
def test_a_link_in_place_of_the_folder_is_rejected(exchange, tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (exchange.inbound / f"nobody+{ASSIGNMENT}+{stamp(datetime.now(timezone.utc))}+abc").symlink_to(tmp_path / "elsewhere")
    [record] = exchange.scan()
    assert exchange.inspect(record).state == "rejected"


@as_root
def test_collect_copies_what_nbgraders_collect_would_and_never_follows_a_link(exchange, coursedir, tmp_path):
    secret_file = tmp_path / "root-only.txt"
    secret_file.write_text("the grader's secret")
    secret_file.chmod(0o600)
    name = submit(exchange, "nobody", files={"ps1.ipynb": b"{}", "data/table.csv": b"1,2\n",
                                             "__pycache__/x.pyc": b"", "big.bin": b"x" * 3000})
    folder = exchange.inbound / name
    (folder / "extra.txt").symlink_to(secret_file)
    os.lchown(folder / "extra.txt", pwd.getpwnam("nobody").pw_uid, -1)
    (folder / "planted.txt").write_text("from another account")
    os.chown(folder / "planted.txt", pwd.getpwnam("daemon").pw_uid, -1)
    coursedir.max_file_size = 2  # kB
    [record] = exchange.scan()
    inspection = exchange.inspect(record)
    destination = tmp_path / "submitted" / "nobody" / ASSIGNMENT
    copied = exchange.collect(record, inspection.owner, destination, coursedir)
    assert sorted(copied.files) == ["data/table.csv", "ps1.ipynb", "submission_secret.txt", "timestamp.txt"]
    left = dict(copied.left)
    assert left["extra.txt"] == "it is a link" and "not made by the student" in left["planted.txt"]
    assert "max_file_size" in left["big.bin"] and "ignore" in left["__pycache__"]
    assert not (destination / "extra.txt").exists()
    assert submitted_timestamp(destination) == record.when
    assert not [path for path in destination.parent.iterdir() if path.name != ASSIGNMENT]  # no copy left half-way


@as_root
def test_collect_replaces_an_older_submission_in_one_step(exchange, coursedir, tmp_path):
    destination = tmp_path / "submitted" / "nobody" / ASSIGNMENT
    first = submit(exchange, "nobody", when=datetime.now(timezone.utc) - timedelta(seconds=30),
                   files={"ps1.ipynb": b"1", "old-only.txt": b"old"})
    second = submit(exchange, "nobody", files={"ps1.ipynb": b"2"})
    records = {record.name: record for record in exchange.scan()}
    for name in (first, second):
        exchange.collect(records[name], exchange.inspect(records[name]).owner, destination, coursedir)
    assert (destination / "ps1.ipynb").read_bytes() == b"2" and not (destination / "old-only.txt").exists()
    assert submitted_timestamp(destination) == records[second].when
    assert [path.name for path in destination.parent.iterdir()] == [ASSIGNMENT]


@as_root
def test_an_honest_submission_collects_as_nbgraders_own_collect_does(exchange, tmp_path, monkeypatch):
    from coursegrader.commands.nbgrader import nbgrader_env
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config

    name = submit(exchange, "nobody", files={"ps1.ipynb": b'{"cells": []}', "helper.py": b"x = 1\n",
                                             "data/a.csv": b"1\n"})
    config = Config()
    config.CourseDirectory.root, config.CourseDirectory.course_id = str(tmp_path / "theirs"), "course101"
    config.Exchange.root = str(exchange.root)
    config.CourseDirectory.db_url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    (tmp_path / "theirs").mkdir()
    monkeypatch.setenv("PATH", nbgrader_env()["PATH"])  # nbgrader runs alembic by name to make the gradebook
    cwd = os.getcwd()
    os.chdir(tmp_path / "theirs")
    try:
        result = NbGraderAPI(config=config).collect(ASSIGNMENT, update=True)
    finally:
        os.chdir(cwd)
    assert result["success"], result
    [record] = exchange.scan()
    ours = tmp_path / "ours" / "nobody" / ASSIGNMENT
    exchange.collect(record, exchange.inspect(record).owner, ours, CourseDirectory(config=config))
    theirs = tmp_path / "theirs" / "submitted" / "nobody" / ASSIGNMENT

    def tree(top: Path) -> dict[str, bytes]:
        return {str(path.relative_to(top)): path.read_bytes() for path in sorted(top.rglob("*")) if path.is_file()}

    assert tree(ours) == tree(theirs) and name


def test_release_puts_the_page_where_fetch_feedback_looks_and_nowhere_else(exchange):
    from nbgrader.utils import notebook_hash

    exchange.feedback.mkdir(mode=0o711)
    secret = secrets.token_hex(64)
    path = exchange.release(b"<html>page</html>", secret, "demo")
    assert path.name == notebook_hash(secret=secret, notebook_id="demo") + ".html"
    assert path.read_bytes() == b"<html>page</html>" and path.stat().st_mode & 0o777 == 0o644
    assert [entry.name for entry in exchange.feedback.iterdir()] == [path.name]  # no partial file left
    exchange.release(b"<html>again</html>", secret, "demo")
    assert path.read_bytes() == b"<html>again</html>"
