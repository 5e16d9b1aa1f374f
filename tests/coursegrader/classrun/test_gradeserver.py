"""The grading server: every call in a process of its own, whatever thread makes it; nothing of it outlives it.

The functions below run in the server's children (they are imported there by this module's name).
"""

import os
import threading
import time
from pathlib import Path

import psutil
import pytest

from coursegrader.classrun.gradeserver import CallFailed, GradingProcessDied, GradingServer, work_folder


def change_the_process(folder: str, value: str, pid_file: str | None = None) -> tuple[int, str, str, str]:
    """What grading does to a process: change its directory and its environment; then wait a little."""
    if pid_file:
        Path(pid_file).write_text(str(os.getpid()))
    before = os.environ.get("COURSEKIT_TEST_VALUE", "")
    os.chdir(folder)
    os.environ["COURSEKIT_TEST_VALUE"] = value
    time.sleep(1)
    return os.getpid(), os.getcwd(), os.environ["COURSEKIT_TEST_VALUE"], before


def raise_an_error() -> None:
    raise ValueError("the reason")


def die() -> None:
    os._exit(7)


def sleep(seconds: float, pid_file: str) -> None:
    Path(pid_file).write_text(f"{os.getpid()} {work_folder()}")
    (work_folder() / "left-behind.txt").write_text("a file")
    time.sleep(seconds)


@pytest.fixture(scope="module")
def server():
    server = GradingServer()
    yield server
    server.close()


def test_calls_from_several_threads_each_run_in_a_process_of_their_own(server, tmp_path):
    folders = [tmp_path / f"f{index}" for index in range(4)]
    for folder in folders:
        folder.mkdir()
    results = {}

    def call(index):
        results[index] = server.call(change_the_process, str(folders[index]), str(index))

    threads = [threading.Thread(target=call, args=(index,)) for index in range(4)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert time.monotonic() - started < 4  # side by side, not one after the other (each waits 1 s)
    assert len({pid for pid, *_ in results.values()}) == 4 and os.getpid() not in {pid for pid, *_ in results.values()}
    for index, (_, cwd, value, before) in results.items():
        assert (cwd, value, before) == (str(folders[index]), str(index), "")  # nobody else's directory or value
    assert "COURSEKIT_TEST_VALUE" not in os.environ and os.getcwd() != str(folders[0])
    *_, before = server.call(change_the_process, str(folders[0]), "again")
    assert before == ""  # the server kept nothing of the earlier calls


def test_a_call_that_raises_dies_or_overruns_says_why_and_leaves_nothing(server, tmp_path):
    with pytest.raises(CallFailed, match="ValueError: the reason") as raised:
        server.call(raise_an_error)
    assert "raise_an_error" in raised.value.details
    with pytest.raises(GradingProcessDied, match="exit 7"):
        server.call(die)
    pid_file = tmp_path / "pid"
    with pytest.raises(GradingProcessDied, match="took longer than 1 s"):
        server.call(sleep, 60, str(pid_file), deadline=1)
    pid, folder = pid_file.read_text().split()
    assert not psutil.pid_exists(int(pid)) and not os.path.exists(folder)  # its work folder went with it
    assert os.listdir(server.spool) == ["server.sock"]  # no job or result left in the spool


def test_a_server_whose_caller_goes_away_ends_its_children(server, tmp_path):
    pid_file = tmp_path / "pid"
    died = []

    def call():
        try:
            server.call(sleep, 60, str(pid_file))
        except GradingProcessDied as error:
            died.append(str(error))

    thread = threading.Thread(target=call)
    thread.start()
    for _ in range(100):
        if pid_file.exists() and pid_file.read_text():
            break
        time.sleep(0.1)
    child = int(pid_file.read_text().split()[0])
    server_pid = server.process.pid
    server.process.stdin.close()  # as when the process that started it dies
    server.process.wait(30)
    thread.join(30)
    assert died and "stopped" in died[0]
    assert not psutil.pid_exists(child) and not psutil.pid_exists(server_pid)
