"""tests.commands: a command forked from the server ends as the same command started as a new interpreter.

The reference is ``subprocess.run([python, "-m", module, ...])``, or for alembic its console script: exit
status, standard output and standard error, for a command that refuses with a message (SystemExit with a
text), one that argparse refuses, and one that fails in nbgrader; alembic's ``heads`` and an unknown command;
and the working folder, environment and arguments the command sees."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests import commands
from tests.assignment.conftest import make_course


def as_new_process(program: str, args: list[str], cwd, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", commands.MODULES[program], *args], cwd=cwd,
                          env=commands.command_env(env), capture_output=True, text=True, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("program, args", [
    ("course", ["autograde", "no-such-assignment"]),   # refused: SystemExit("course: no lab ...")
    ("course", ["--no-such-option"]),                  # argparse: usage on standard error, exit 2
    ("nbgrader", ["autograde", "no-such-assignment"]),  # nbgrader's own failure, in its log lines
])
def test_a_forked_command_ends_as_a_new_process_of_it(tmp_path, program, args):
    course = make_course(tmp_path / "course")
    forked = commands.run(program, args, course)
    new = as_new_process(program, args, course)
    assert (forked.returncode, forked.stdout, forked.stderr) == (new.returncode, new.stdout, new.stderr)


def test_the_child_has_the_commands_folder_environment_and_a_fresh_sys_path(tmp_path):
    course = make_course(tmp_path / "course")
    with (course / "nbgrader_config.py").open("a") as config:  # the course's own, with the speedups: no alembic
        config.write("\nimport os, sys\n"
                     "print('cwd', os.getcwd(), 'path0', sys.path[0], 'argv0', sys.argv[0].endswith('__main__.py'), "
                     "'secret', os.environ.get('COURSEKIT_TEST_SECRET'), file=sys.stderr)\n")
    forked = commands.nbgrader(["db", "student", "list"], course, {"COURSEKIT_TEST_SECRET": "s3"})
    assert f"cwd {course} path0 {course} argv0 True secret s3" in forked.stdout
    again = commands.nbgrader(["db", "student", "list"], course)
    assert "secret None" in again.stdout  # nothing of one command's environment stays for the next


def test_an_interpreter_setting_that_differs_gets_a_new_process(tmp_path):
    course = make_course(tmp_path / "course")
    with (course / "nbgrader_config.py").open("a") as config:
        config.write("\nimport sys\nprint('warnings', sys.warnoptions, file=sys.stderr)\n")
    done = commands.nbgrader(["db", "student", "list"], course, {"PYTHONWARNINGS": "ignore::UserWarning"})
    assert "warnings ['ignore::UserWarning']" in done.stdout


@pytest.mark.parametrize("command", [["heads"], ["no-such-command"]])
def test_a_forked_alembic_ends_as_a_new_alembic_process(tmp_path, command):
    """The `alembic` that nbgrader runs for each new gradebook (test_speedups.py forks it to compare with)."""
    from nbgrader.dbutil import _temp_alembic_ini

    with _temp_alembic_ini(f"sqlite:///{tmp_path / 'gradebook.db'}") as ini:
        args = ["-c", ini, *command]
        forked = commands.run("alembic", args, tmp_path)
        new = subprocess.run([str(Path(sys.executable).parent / "alembic"), *args], cwd=tmp_path,
                             env=commands.command_env(), capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert (forked.returncode, forked.stdout, forked.stderr) == (new.returncode, new.stdout, new.stderr)
    assert forked.stdout.startswith("e43177bfe90b (head)") if command == ["heads"] else forked.returncode == 2


@pytest.mark.parametrize("env", [None, {"PYTHONWARNINGS": "ignore::UserWarning"}])  # forked; a new interpreter
def test_a_started_command_is_read_line_by_line_while_it_runs(tmp_path, env):
    course = make_course(tmp_path / "course")
    go_on = tmp_path / "go-on"
    with (course / "nbgrader_config.py").open("a") as config:  # the command waits for the test to read its line
        config.write(f"\nimport os, sys, time\nprint('waiting', file=sys.stderr, flush=True)\n"
                     f"while not os.path.exists({str(go_on)!r}):\n    time.sleep(0.05)\n"
                     f"print('went on', file=sys.stderr, flush=True)\n")
    started = commands.start("nbgrader", ["db", "student", "list"], course, env)
    lines = started.lines()
    for line in lines:  # up to its line, read as it came
        if line == "waiting\n":
            break
    else:
        pytest.fail(f"it ended without writing its line:\n{started.wait(10).stdout}")
    assert started.running()  # still waiting for the test
    go_on.touch()
    rest = "".join(lines)
    done = started.wait(60)
    assert done.returncode == 0 and "went on\n" in rest and done.stdout.endswith(rest)


def test_a_started_command_ends_as_run_ends_it(tmp_path):
    course = make_course(tmp_path / "course")
    args = ["autograde", "no-such-assignment"]
    started = commands.start("course", args, course)
    lines = list(started.lines())
    done = started.wait(60)
    ran = commands.run("course", args, course, merge_stderr=True)
    assert (done.returncode, done.stdout) == (ran.returncode, ran.stdout) and "".join(lines) == done.stdout
    assert done.returncode != 0 and "no-such-assignment" in done.stdout
