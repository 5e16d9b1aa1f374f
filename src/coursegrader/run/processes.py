"""The processes of a sandbox, seen from the grader: find every one below a process, and kill them all."""

from __future__ import annotations

import os


def descendants(pid: int) -> list[int]:
    """The process ids of every process below ``pid``, parents before their children.

    Read from ``/proc/<pid>/task/<thread>/children``: a few small files per process of the tree, where
    psutil's ``children(recursive=True)`` reads the status of every process on the machine (5 ms each
    time, and the grader asks several times per submission). psutil answers where the kernel has no
    such files."""
    if not os.path.exists(f"/proc/{os.getpid()}/task/{os.getpid()}/children"):
        import psutil

        try:
            return [process.pid for process in psutil.Process(pid).children(recursive=True)]
        except psutil.Error:
            return []
    found: list[int] = []
    queue = [pid]
    while queue:
        parent = queue.pop(0)
        try:
            threads = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for thread in threads:
            try:
                with open(f"/proc/{parent}/task/{thread}/children", encoding="ascii") as handle:
                    children = [int(child) for child in handle.read().split()]
            except (OSError, ValueError):
                continue
            found += children
            queue += children
    return found


def process_name(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/comm", encoding="utf-8", errors="replace") as handle:
            return handle.read().strip()
    except OSError:
        return None


def kill_tree(pid: int, spare: frozenset[int] = frozenset()) -> None:
    """SIGKILL ``pid`` and every process below it, but those in ``spare`` (and ``pid`` itself, if spared)."""
    import psutil

    processes = []
    for member in (*descendants(pid), pid):
        if member in spare:
            continue
        try:
            processes.append(psutil.Process(member))
        except psutil.Error:
            continue
    for process in processes:
        try:
            process.kill()
        except psutil.Error:
            pass


def kill_user_processes(uid: int, wait: float = 5) -> None:
    """SIGKILL every process whose real user id is ``uid`` (a sandbox's own id, never a person's or root's),
    then wait up to ``wait`` seconds for them to be gone: whatever of a sandbox escaped its process tree ends
    before its id is given to another sandbox."""
    import psutil

    if uid < 1000:
        raise ValueError(f"user id {uid} is not a sandbox's")
    processes = []
    for process in psutil.process_iter(["uids"]):
        uids = process.info["uids"]
        if uids is not None and uids.real == uid:
            try:
                process.kill()
                processes.append(process)
            except psutil.Error:
                continue
    if processes and wait:
        psutil.wait_procs(processes, timeout=wait)
