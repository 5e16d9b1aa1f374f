"""The kernel-side output cap (coursekit.outputlimit), in a real ipykernel started with the grader's own
startup argument: a cell that prints without end stops at the cap, even when it catches ``Exception``,
the cells after it run; quit() does not stop it."""

from __future__ import annotations

import sys
import time

import pytest
from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import KernelManager

from coursegrader.run.kernel import ipykernel_command

LIMIT = 10_000


@pytest.fixture
def kernel():
    manager = KernelManager()
    manager._kernel_spec = KernelSpec(argv=ipykernel_command(sys.executable, LIMIT), language="python",
                                      display_name="Python 3")
    manager.start_kernel()
    client = manager.client()
    client.start_channels()
    client.wait_for_ready(timeout=60)
    yield client
    client.stop_channels()
    manager.shutdown_kernel(now=True)


def run(client, code: str) -> tuple[str, dict]:
    """Run ``code``; return what it printed and its execute reply."""
    printed = []
    reply = client.execute_interactive(code, timeout=60, output_hook=lambda message: printed.append(
        message["content"].get("text", "") if message["msg_type"] == "stream" else ""))
    return "".join(printed), reply["content"]


@pytest.mark.parametrize("loop", [
    "while True:\n    print('x' * 999)",
    "while True:\n    try:\n        print('x' * 999)\n    except Exception:\n        pass",
    "import sys\nwhile True:\n    sys.stderr.write('y' * 5000)",
    "print('z' * 50_000_000)",
])
def test_a_runaway_cell_stops_at_the_cap_and_the_kernel_goes_on(kernel, loop):
    printed, reply = run(kernel, loop)
    assert reply["status"] == "error" and reply["ename"] == "OutputLimitExceeded"
    assert LIMIT <= len(printed) < LIMIT + 5_000  # the cap, plus the error's own report
    printed, reply = run(kernel, "print('next cell', sum(range(4)))")
    assert reply["status"] == "ok" and printed == "next cell 6\n"


def test_the_cap_is_per_cell(kernel):
    for _ in range(3):
        printed, reply = run(kernel, f"print('a' * {LIMIT // 2})")
        assert reply["status"] == "ok" and len(printed) == LIMIT // 2 + 1


def test_quit_does_not_stop_a_grading_kernel(kernel):
    for stop in ("quit()", "exit()", "quit(keep_kernel=False)"):
        _, reply = run(kernel, stop)
        assert reply["status"] == "ok"
        time.sleep(0.3)  # IPython would stop the kernel's loop 0.1 s after
        printed, reply = run(kernel, "print('still here')")
        assert reply["status"] == "ok" and printed == "still here\n"


@pytest.mark.parametrize("cell_cap, notebook_cap, where",
                         [(1500, 10**6, "in this cell"), (10**6, 1200, "in this notebook")])
def test_a_cut_stream_keeps_the_same_characters_however_the_kernel_split_it(cell_cap, notebook_cap, where):
    """The grader's own cap: what it keeps of a cell that prints past it is the cap's first characters, whether
    the kernel sent the printing in one message or many (ipykernel flushes every 0.2 s: the split depends on
    the machine's load, and two graders of one submission must keep the same notebook)."""
    from nbformat.v4 import new_output

    from coursegrader.run.outputs import OutputBudget, coalesce_streams

    text = "".join(chr(ord("a") + index % 26) for index in range(5000))
    cap = min(cell_cap, notebook_cap)

    def kept(chunks: list[int]) -> list:
        budget, outputs, start = OutputBudget(cell_cap, notebook_cap), [], 0
        for size in chunks:
            message = {"msg_type": "stream", "content": {"name": "stdout", "text": text[start:start + size]}}
            start += size
            instead = budget.spend(message)
            outputs += [new_output("stream", **message["content"])] if instead is None else instead
        return coalesce_streams(outputs)

    whole = kept([5000])
    assert whole == [new_output("stream", name="stdout", text=(
        f"{text[:cap]}\n[output cut by the grader: more than {cap:,} characters {where}]\n"))]
    for chunks in ([1000, 1000, 3000], [1, cap - 1, 5000 - cap], [cap, 1, 4999 - cap], [700] * 7 + [100]):
        assert kept(chunks) == whole, chunks


@pytest.mark.parametrize("content", [["x"] * 50, "x" * 50, {"name": ["stdout"], "text": "x" * 50},
                                     {"name": "<b>stdout</b>", "text": "x" * 50}, {"text": "x" * 50}])
def test_a_message_of_another_shape_past_the_cap_leaves_only_the_note(content):
    """What a kernel sends may have any shape: past the cap, only a stream named stdout or stderr keeps a part."""
    from coursegrader.run.outputs import OutputBudget

    kept = OutputBudget(10, 10**6).spend({"msg_type": "stream", "content": content})
    assert [output["text"] for output in kept] == ["\n[output cut by the grader: more than 10 characters in this cell]\n"]


def test_streams_coalesce_as_nbclient_does_in_linear_time():
    """nbclient's coalescing, compared on random cells; ours takes a line of a million characters in stride."""
    import copy
    import random

    from nbclient.client import _RGX_CARRIAGERETURN

    from coursegrader.run.outputs import coalesce_streams

    def nbclients(outputs):  # nbclient 0.11's coalescing (client.py), with its regular expression
        new, streams = [], {}
        for output in outputs:
            if output["output_type"] == "stream" and output["name"] in streams:
                streams[output["name"]]["text"] += output["text"]
                continue
            if output["output_type"] == "stream":
                streams[output["name"]] = output
            new.append(output)
        for output in streams.values():
            output["text"] = _RGX_CARRIAGERETURN.sub("", output["text"])
        for index, output in enumerate(new):
            if (output["output_type"] == "stream" and output["name"] == "stderr" and len(new) >= index + 2
                    and new[index + 1]["output_type"] == "stream" and new[index + 1]["name"] == "stdout"):
                new.insert(index, new.pop(index + 1))
        return new

    chooser = random.Random(7)
    for _ in range(3000):
        outputs = [{"output_type": "display_data", "data": {}} if chooser.random() < 0.2 else
                   {"output_type": "stream", "name": chooser.choice(["stdout", "stderr"]),
                    "text": "".join(chooser.choice("ab\r\n\b") for _ in range(chooser.randint(0, 10)))}
                   for _ in range(chooser.randint(0, 5))]
        assert coalesce_streams(copy.deepcopy(outputs)) == nbclients(copy.deepcopy(outputs))
    long_line = [{"output_type": "stream", "name": "stdout", "text": "x" * 1_000_000 + "\r\n"},
                 {"output_type": "stream", "name": "stdout", "text": "progress 1\rprogress 2\n"}]
    assert coalesce_streams(long_line)[0]["text"] == "x" * 1_000_000 + "\r\nprogress 2\n"
