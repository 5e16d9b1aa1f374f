"""Sandbox user ids: never two running sandboxes with one id, across threads and processes of the machine."""

import multiprocessing
import threading

import pytest

from coursegrader.run.uids import NoFreeUid, SandboxUid


def test_ids_held_at_once_differ_across_threads_and_processes():
    held = [SandboxUid(70_000, 8) for _ in range(3)]
    taken = [uid.take() for uid in held]
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        other_process = pool.apply(_take_and_report, (70_000, 8))
    in_threads = [SandboxUid(70_000, 8) for _ in range(3)]
    threads = [threading.Thread(target=uid.take) for uid in in_threads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seen = [uid.uid for uid in in_threads]
    assert len(set(taken)) == 3 and other_process not in taken and not set(seen) & set(taken)
    assert len(set(seen)) == 3
    for uid in held + in_threads:
        uid.release()


def _take_and_report(first, count):
    return SandboxUid(first, count).take()  # the process ends: its lock goes with it


def test_a_released_id_is_taken_again_and_a_full_range_says_so():
    first = SandboxUid(71_000, 1)
    assert first.take() == 71_000
    with pytest.raises(NoFreeUid, match="all 1 sandbox user ids from 71000 are in use"):
        SandboxUid(71_000, 1).take()
    first.release()
    with SandboxUid(71_000, 1) as uid:
        assert uid == 71_000


def test_whatever_runs_as_a_sandbox_id_is_stopped_before_the_id_is_given_back():
    import subprocess
    import time

    import psutil
    import pytest

    from coursegrader.run.processes import kill_user_processes

    escaped = subprocess.Popen(["/usr/bin/setpriv", "--reuid=71500", "--regid=71500", "--clear-groups",
                                "/usr/bin/sleep", "600"], start_new_session=True)
    try:
        deadline = time.monotonic() + 5
        while psutil.Process(escaped.pid).uids().real != 71500 and time.monotonic() < deadline:
            time.sleep(0.01)  # until setpriv has become that user and started sleep
        kill_user_processes(71500)
        assert not psutil.pid_exists(escaped.pid)  # killed and reaped: gone before kill_user_processes returned
    finally:
        escaped.kill()
    with pytest.raises(ValueError):
        kill_user_processes(0)
