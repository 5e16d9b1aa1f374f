"""Speed figures, measured side by side in one run (shared machines are noisy: compare ratios).

1. MultiHeadAttention.forward, vectorised over batch and heads, against a loop over heads written
   the obvious way, on the same weights (the two agree to 1e-12, checked here too).
2. Grading one submission: all 18 Lab 00 checks run in-process on handed-over results, against the
   cost of starting one Jupyter kernel, the floor of what `nbgrader autograde` pays per notebook.
3. Grading a class of 200: `nbgrader autograde` against `course autograde --jobs 2` (with the speedups
   and without), the floor of plain scripts, and peak memory at 50 and 200 submissions (benchmarks/class_grading.py).
4. Feedback right after submitting: `course watch`'s latency from `nbgrader submit` returning to the
   page being fetchable, one at a time and in a burst of 100 in 10 s, against `course autograde
   --jobs 2`'s cost per submission (benchmarks/watch_latency.py).
5. What a hostile submission costs the grading process, before and after the intake's limits
   (benchmarks/intake.py).
6. A process per submission, as `course autograde --scheduler` grades: in-process grading against the
   grading server's forks, on the same submissions (benchmarks/isolation.py).

    make benchmarks            # or: .venv/bin/python -m benchmarks
"""

from __future__ import annotations

import contextlib
import io
import os
import statistics
import tempfile
import time

import numpy as np

from minimodel import MultiHeadAttention


def best_of(function, repeats: int = 7, number: int = 1) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(number):
            function()
        times.append((time.perf_counter() - start) / number)
    return min(times)


def loop_over_heads(mha: MultiHeadAttention, X: np.ndarray) -> np.ndarray:
    """The same layer, one head and one batch item at a time."""
    H, D = mha.n_heads, mha.head_dim
    W_q, W_k, W_v = np.split(mha.in_proj_weight, 3)
    b_q, b_k, b_v = np.split(mha.in_proj_bias, 3)
    out = np.empty_like(X)
    for b in range(X.shape[0]):
        heads = []
        for h in range(H):
            cols = slice(h * D, (h + 1) * D)
            q = X[b] @ W_q[cols].T + b_q[cols]
            k = X[b] @ W_k[cols].T + b_k[cols]
            v = X[b] @ W_v[cols].T + b_v[cols]
            s = q @ k.T / np.sqrt(D)
            w = np.exp(s - s.max(axis=-1, keepdims=True))
            heads.append((w / w.sum(axis=-1, keepdims=True)) @ v)
        out[b] = np.concatenate(heads, axis=-1) @ mha.out_proj_weight.T + mha.out_proj_bias
    return out


def attention_benchmark() -> None:
    print("1. attention forward: vectorised vs loop over batch and heads (best of 7)")
    print(f"   {'B':>3} {'T':>4} {'E':>4} {'H':>3} {'vectorised':>12} {'loop':>12} {'loop/vectorised':>16}")
    rng = np.random.default_rng(0)
    for B, T, E, H in [(1, 3, 8, 1), (8, 32, 64, 4), (16, 64, 128, 8), (32, 128, 256, 16)]:
        mha = MultiHeadAttention(E, H, seed=0)
        X = rng.standard_normal((B, T, E))
        assert np.abs(mha(X) - loop_over_heads(mha, X)).max() < 1e-12
        number = 50 if B * T < 1000 else 3
        fast = best_of(lambda: mha(X), number=number)
        slow = best_of(lambda: loop_over_heads(mha, X), number=number)
        print(f"   {B:>3} {T:>4} {E:>4} {H:>3} {fast * 1e3:>10.3f}ms {slow * 1e3:>10.3f}ms {slow / fast:>15.1f}x")


def grading_benchmark() -> None:
    from jupyter_client.manager import start_new_kernel

    from coursegrader.labs import grading_checks
    from coursekit import handover
    from coursekit.checks import run
    from coursekit.labs.lab00 import LAB
    from coursekit.results import collect
    from tests.coursekit.test_checks import solved_namespace

    from coursekit.selfcheck import running_versions

    CHECKS = grading_checks(LAB)

    print("\n2. grading one submission: the 18 checks in-process vs one kernel start")
    with tempfile.TemporaryDirectory() as folder, contextlib.redirect_stdout(io.StringIO()):
        namespace = solved_namespace(folder)  # the solution's own printout is not the benchmark's
        def grade_all():
            results = handover.round_trip(collect(namespace, folder, LAB.results), LAB.results)
            results.runtime_versions = running_versions()
            return [run(check, results) for check in CHECKS]

        checks_time = best_of(grade_all, number=5)
    kernel_times = []
    for _ in range(3):
        start = time.perf_counter()
        manager, client = start_new_kernel(kernel_name="python3")
        client.execute_interactive("import numpy, minimodel, coursekit.labs.lab00", timeout=60)
        kernel_times.append(time.perf_counter() - start)
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    kernel_time = statistics.median(kernel_times)
    print(f"   18 checks, collected and run in-process: {checks_time * 1e3:8.1f} ms")
    print(f"   start a kernel and import the lab's modules: {kernel_time * 1e3:8.1f} ms (median of 3)")
    print(f"   ratio kernel/checks: {kernel_time / checks_time:.0f}x — the checks are not where grading time goes")


if __name__ == "__main__":
    from benchmarks import class_grading, intake, isolation, watch_latency

    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    attention_benchmark()
    grading_benchmark()
    class_grading.run()
    watch_latency.run()
    print("\n5. what a hostile submission costs the grading process (benchmarks/intake.py)")
    intake.run()
    isolation.run()
