"""What a student submitted, taken in without trusting it: the notebook and the files beside it.

``scan_submission`` looks at one ``submitted/<student>/<assignment>`` entry without following a
link and says what is wrong with it: no folder, no notebook, a notebook under another name, files
that must not be copied (links, FIFOs and devices, files too large, names that are not UTF-8, files a
browser would run, such as HTML or SVG: ``coursegrader.files.inert``), a ``timestamp.txt`` nbgrader
cannot read. The notebook itself is read by ``coursegrader.intake.notebook``.

Every problem becomes a sentence for the student (at the top of their graded notebook, hence their
feedback) and a line in the run's log. Nothing here deletes what a student submitted.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from coursegrader.files.inert import served_inert, why_not_inert
from coursegrader.intake.notebook import MiB, IntakeLimits, describe, is_utf8_name, shown


@dataclass
class Intake:
    """What grading found wrong with one student's submission, and what it did about it."""

    student: str
    problems: list[str] = field(default_factory=list)  # sentences for the student and the log
    ignored: list[Path] = field(default_factory=list)  # files not copied into the graded folder
    notebook_source: dict[str, Path] = field(default_factory=dict)  # expected notebook -> file it is read from
    run_notebook: bool = True  # False: there is nothing of the student's to run

    def summary(self) -> str:
        return " ".join(self.problems) if self.problems else "nothing to report"




def _valid_timestamp(path: Path) -> str | None:
    """Why nbgrader could not read this ``timestamp.txt`` (it would stop the whole run), or None."""
    from nbgrader.utils import parse_utc

    if not stat.S_ISREG(os.lstat(path).st_mode):
        return f"timestamp.txt is {describe(path)}"
    if os.path.getsize(path) > 1000:
        return "timestamp.txt is not a timestamp (too long)"
    try:
        text = path.read_text(encoding="utf-8").strip()
        if text:
            parse_utc(text)
    except (UnicodeDecodeError, ValueError, OverflowError):
        return "timestamp.txt does not hold a readable time"
    return None


def scan_submission(path: Path, student: str, notebooks: list[str], limits: IntakeLimits = IntakeLimits()) -> Intake:
    """Look at ``submitted/<student>/<assignment>`` (``path``); ``notebooks`` are the names it should hold."""
    intake = Intake(student)
    if path.is_symlink() or path.parent.is_symlink() or not path.is_dir():
        what = describe(path) if os.path.lexists(path) else "missing"
        intake.problems.append(f"Your submission is {what}, not a folder: nothing in it could be graded.")
        intake.ignored.append(path)
        intake.run_notebook = False
        return intake

    present = {entry.name: entry for entry in os.scandir(path)}
    expected = {f"{name}.ipynb" for name in notebooks}
    others = sorted(name for name, entry in present.items()
                    if name.endswith(".ipynb") and name not in expected and entry.is_file(follow_symlinks=False))
    missing = sorted(name for name in expected if name not in present)
    for name in sorted(expected - set(missing)):
        intake.notebook_source[name] = path / name
    if missing:
        if len(missing) == 1 and len(others) == 1:
            intake.notebook_source[missing[0]] = path / others[0]
            intake.problems.append(f"There was no {missing[0]} in your submission; {shown(others[0])} was graded in its place.")
        else:
            found = ", ".join(map(shown, others)) if others else "no notebook at all"
            intake.problems.append(f"There was no {', '.join(missing)} in your submission (found: {found}).")
            if len(missing) == len(expected):
                intake.run_notebook = False

    total = 0
    for folder, dirs, files in os.walk(path):  # does not follow links
        for name in sorted(dirs + files):
            full = Path(folder) / name
            relative = full.relative_to(path)
            if not is_utf8_name(name):
                reason = "its name is not UTF-8 text"
            else:
                mode = os.lstat(full).st_mode
                if stat.S_ISDIR(mode):
                    continue
                if not stat.S_ISREG(mode):
                    reason = f"it is {describe(full)}"
                elif name.endswith(".ipynb"):
                    continue
                elif name == "timestamp.txt" and folder == str(path):
                    reason = _valid_timestamp(full)
                    if reason is None:
                        continue
                else:
                    size = os.lstat(full).st_size
                    if not served_inert(name):
                        reason = why_not_inert(name)
                    elif size > limits.file_bytes:
                        reason = f"it is larger than {limits.file_bytes / MiB:g} MiB"
                    elif total + size > limits.total_file_bytes:
                        reason = f"the files before it already take {limits.total_file_bytes / MiB:g} MiB"
                    else:
                        total += size
                        continue
            intake.ignored.append(full)
            intake.problems.append(f"{shown(relative)} was not graded: {reason}.")
    return intake
