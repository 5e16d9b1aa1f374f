"""Run ``nbgrader <command>`` as an instructor would, from the course root, keeping its full log.

nbgrader is driven through its own command line (never re-implemented), in the Python that runs
this code, with that Python's bin/ first on PATH (nbgrader calls ``alembic`` by name to set up
the gradebook). Its output goes to ``logs/nbgrader-<command>.log``; each line can also be handed
to a callback, for progress.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path


class NbgraderFailed(RuntimeError):
    def __init__(self, args: list[str], returncode: int, log_path: Path, tail: str):
        super().__init__(f"`nbgrader {' '.join(args)}` exited with {returncode}; last lines of {log_path}:\n{tail}")


def nbgrader_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.setdefault("PYTHONWARNINGS", "ignore::DeprecationWarning")
    return env


def run_nbgrader(args: list[str], course_root: Path, on_line: Callable[[str], None] | None = None,
                 check: bool = True) -> Path:
    """Run ``nbgrader *args`` in ``course_root``; return the log path, or raise ``NbgraderFailed`` (``check``)."""
    log_dir = course_root / "logs"
    log_dir.mkdir(exist_ok=True)
    log_path = log_dir / f"nbgrader-{args[0]}.log"
    (log_dir / f"nbgrader-{args[0]}.exitcode").unlink(missing_ok=True)
    lines: list[str] = []
    with log_path.open("w", encoding="utf-8") as log, subprocess.Popen(
        [sys.executable, "-m", "nbgrader", *args], cwd=course_root, env=nbgrader_env(),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    ) as process:
        for line in process.stdout:
            log.write(line)
            lines.append(line)
            if on_line is not None:
                on_line(line.rstrip("\n"))
        returncode = process.wait()
    (log_dir / f"nbgrader-{args[0]}.exitcode").write_text(f"{returncode}\n")
    if returncode != 0 and check:
        raise NbgraderFailed(args, returncode, log_path, "".join(lines[-20:]))
    return log_path
