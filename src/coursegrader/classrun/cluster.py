"""``course autograde --scheduler ADDRESS``: the same grading, on the workers of a Dask cluster.

The workers share no folder with the instructor. Each task carries what grading one submission
needs, as bytes: the course's ``nbgrader_config.py``, the assignment's files from ``source/``
(notebooks excepted, as nbgrader copies them) and its release notebook, and the submission folder
as a tar archive that keeps what the student sent as it is — links, FIFOs and odd names included,
so the worker's intake reports them exactly as a local run does. The worker grades it with
nbgrader's converter in a throwaway course folder, writing grades to the shared gradebook (the
``db_url``: PostgreSQL; a SQLite file on the instructor's disk cannot be shared), and returns the
autograded folder as a tar archive, which is unpacked here into ``autograded/``.
"""

from __future__ import annotations

import io
import os
import shutil
import stat
import tarfile
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from coursegrader.classrun.app import make_app
from coursegrader.classrun.grade import Outcome, grade_one
from coursegrader.intake import ledger


@dataclass(frozen=True)
class CourseFiles:
    """What a worker needs of the course to grade one assignment."""

    config: bytes  # nbgrader_config.py
    files: dict[str, bytes]  # relative path (source/..., release/...) -> content


def course_files(app, course_root: Path, assignment: str) -> CourseFiles:
    coursedir = app.coursedir
    files = {}
    for step in (coursedir.source_directory, coursedir.release_directory):
        folder = Path(coursedir.format_path(step, ".", assignment))
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not path.is_symlink() and (step != coursedir.source_directory or path.suffix != ".ipynb"):
                files[str(path.relative_to(course_root))] = path.read_bytes()
    return CourseFiles((Path(course_root) / "nbgrader_config.py").read_bytes(), files)


def pack(path: Path) -> bytes:
    """``path`` as a tar archive, links and special files kept as they are; '' stands for ``path`` itself."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        if os.path.lexists(path):
            archive.add(str(path), arcname=".", recursive=False, filter=lambda info: None if info.isdev() else info)
            if path.is_dir() and not path.is_symlink():
                for child in sorted(os.listdir(path)):
                    archive.add(str(path / child), arcname=child, filter=lambda info: None if info.isdev() else info)
    return buffer.getvalue()


def unpack(data: bytes, destination: Path) -> None:
    """Recreate what ``pack`` archived at ``destination`` (nothing, if it archived nothing)."""
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        members = archive.getmembers()
        top = next((member for member in members if member.name == "."), None)
        if top is None:
            return
        destination.parent.mkdir(parents=True, exist_ok=True)
        if top.isdir():
            destination.mkdir(exist_ok=True)
            archive.extractall(destination, members=[member for member in members if member.name != "."],
                               filter="fully_trusted")  # our own archive; links must stay links for the intake
        elif top.issym():
            os.symlink(top.linkname, destination)
        elif top.isfifo():
            os.mkfifo(destination)
        else:
            destination.write_bytes(archive.extractfile(top).read())


def grade_remotely(files: CourseFiles, assignment: str, student: str, submission: bytes, db_url: str):
    """On a Dask worker: grade one submission in a throwaway course folder; return (Outcome, autograded tar)."""
    import warnings

    warnings.simplefilter("ignore")  # nbgrader's SQLAlchemy warnings
    with tempfile.TemporaryDirectory(prefix="coursekit-worker-") as folder:
        root = Path(folder)
        (root / "nbgrader_config.py").write_bytes(files.config)
        for relative, content in files.files.items():
            (root / relative).parent.mkdir(parents=True, exist_ok=True)
            (root / relative).write_bytes(content)
        # reading the course's nbgrader_config.py applies the speedups, or removes them, as it says
        app = make_app(root, assignment, force=True, extra=[f"--CourseDirectory.db_url={db_url}"])
        app.config.SandboxedExecute.fork_kernels = True
        unpack(submission, Path(app.coursedir.format_path(app.coursedir.submitted_directory, student, assignment)))
        outcome = grade_one(app, assignment, student)
        graded = Path(app.coursedir.format_path(app.coursedir.autograded_directory, student, assignment))
        return outcome, pack(graded) if graded.is_dir() else b""


def _already_graded(app, course_root: Path, assignment: str, student: str) -> bool:
    """What ``nbgrader autograde`` skips: a finished graded folder, not older than the submission."""
    coursedir = app.coursedir
    graded = coursedir.format_path(coursedir.autograded_directory, student, assignment)
    if not (os.path.isdir(graded) and ledger.finished(course_root, assignment, student)):
        return False
    submitted = coursedir.format_path(coursedir.submitted_directory, student, assignment)
    new, old = coursedir.get_existing_timestamp(submitted), coursedir.get_existing_timestamp(graded)
    return not (new is not None and old is not None and new > old)


def run_on_cluster(app, course_root: Path, assignment: str, students: list[str], scheduler: str, force: bool,
                   on_outcome: Callable) -> None:
    from distributed import Client, as_completed

    db_url = app.coursedir.db_url
    if db_url.startswith("sqlite"):
        raise SystemExit("course autograde --scheduler: the workers need a gradebook they can all reach; "
                         "set NBGRADER_DB_URL (or --db-url) to a PostgreSQL URL")
    coursedir = app.coursedir
    todo = []
    for student in students:
        if not force and _already_graded(app, course_root, assignment, student):
            on_outcome(Outcome(student, "skipped", 0.0, "Skipping existing assignment (graded earlier)\n"))
        else:
            todo.append(student)
    if not todo:
        return
    run = uuid.uuid4().hex[:8]
    with Client(scheduler, timeout=30) as client:
        files = client.scatter(course_files(app, course_root, assignment), broadcast=True)
        started: dict = {}
        futures = {}
        for student in todo:
            submission = pack(Path(coursedir.format_path(coursedir.submitted_directory, student, assignment)))
            future = client.submit(grade_remotely, files, assignment, student, submission, db_url, pure=False,
                                   key=f"autograde-{assignment}-{student}-{run}")
            futures[future], started[student] = student, time.monotonic()
        for future in as_completed(futures):
            student = futures[future]
            try:
                outcome, graded = future.result()
            except Exception as error:  # noqa: BLE001 — a worker lost, a task that raised: this submission only
                on_outcome(Outcome(student, "failed", time.monotonic() - started[student], "",
                                   f"the cluster could not grade it ({type(error).__name__}: {error})"))
                continue
            destination = Path(coursedir.format_path(coursedir.autograded_directory, student, assignment))
            if destination.is_dir() and not destination.is_symlink():
                shutil.rmtree(destination)
            if graded:
                ledger.start(course_root, assignment, student)
                unpack(graded, destination)
                for path in destination.rglob("*"):
                    if path.is_file():
                        path.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)  # as nbgrader leaves them
                if outcome.status == "graded":
                    ledger.finish(course_root, assignment, student)
            on_outcome(outcome)
