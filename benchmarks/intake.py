"""What a hostile submission costs the grading process, before and after the intake's limits (issue 13).

Payloads, made in a temporary folder: a normal submission (the solution); the issue's 21 MB notebook of
200,000 cells; 250 MiB of saved outputs (just under the 256 MiB a notebook may take) three ways: lines of
1 KiB, one single text, 4.6 million tiny outputs; JSON nested 100,000 levels deep; 10,000 attachments; a notebook just within every structure
limit at once, with 200 MiB of outputs besides (the most the intake accepts, so the bound); and trees
beside the notebook: 1,500 levels deep, and 20,000 tiny files.

1. Reading the notebook alone, each in a fresh process: the reader before the limits (``json.loads``, then
   ``nbformat.reads``, as it was) against ``read_notebook``, peak memory above the interpreter's own and
   time, side by side, with their ratio.
2. The grading process: ``nbgrader autograde`` for that one submission, with the course's configuration
   (sandbox included): its own peak memory (not its kernels') and wall time, and the ratio of each to
   the normal submission's.

    .venv/bin/python -m benchmarks.intake        # about 10 minutes, 1.5 GB of temporary files, 6 GB of memory
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "16-permutation-equivariance"
MiB = 2**20
SOLUTION = ROOT / "tests" / "examples" / ASSIGNMENT / "class" / "solution" / "demo.ipynb"
PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="

# Each reader in a fresh process; on its last line, [KiB its peak rose while reading, seconds, outcome].
READ = """
import json, sys, time
from pathlib import Path
import nbformat
from coursegrader.intake.notebook import NotANotebook, read_notebook

def before(path):  # the intake's reader before the limits
    text = Path(path).read_bytes().decode("utf-8-sig")
    json.loads(text)
    notebook = nbformat.from_dict(nbformat.reads(text, as_version=4))
    nbformat.validate(notebook)
    return notebook

def status(field):  # kB, from /proc/self/status
    with open("/proc/self/status") as lines:
        return int(next(line for line in lines if line.startswith(field)).split()[1])

reader, path = sys.argv[1], sys.argv[2]
with open("/proc/self/clear_refs", "w") as clear:
    clear.write("5")  # the peak (VmHWM) starts again from here
baseline = status("VmRSS:")
started = time.perf_counter()
try:
    {"none": lambda path: None, "before": before, "after": read_notebook}[reader](Path(path))
    outcome = "read"
except NotANotebook as error:
    outcome = "refused: " + str(error)[:70]
except Exception as error:
    outcome = type(error).__name__
print(json.dumps([status("VmHWM:") - baseline, time.perf_counter() - started, outcome]))
"""

# nbgrader in this process, reporting its own peak: VmHWM, the process's alone (ru_maxrss would include the
# peak of the process that started it, which Linux carries across fork and exec).
GRADE = """
import atexit, os, sys

def peak():
    with open("/proc/self/status") as lines:
        kib = next(line for line in lines if line.startswith("VmHWM:")).split()[1]
    with open(os.environ["PEAK_FILE"], "w") as out:
        out.write(kib)

atexit.register(peak)
from nbgrader.apps.nbgraderapp import main
sys.argv[0] = "nbgrader"
main()
"""


# -----------------------------------------------------------------------------
# payloads


def solution() -> dict:
    return json.loads(nbformat.writes(nbformat.read(SOLUTION, as_version=4)))


def write(path: Path, document: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(document, handle)
    return path


def first_code(document: dict) -> dict:
    return next(cell for cell in document["cells"] if cell["cell_type"] == "code")


def with_outputs(path: Path, outputs_json: str) -> Path:
    """The solution, its first code cell holding ``outputs_json`` (written as it comes, never built)."""
    document = solution()
    first_code(document)["outputs"] = "OUTPUTS"
    before, after = json.dumps(document).split('"OUTPUTS"')
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(before)
        handle.write(outputs_json)
        handle.write(after)
    return path


def many_cells(path: Path) -> Path:
    document = solution()
    document["cells"][-1:-1] = [{"cell_type": "code", "id": f"x{index}", "metadata": {}, "source": "x = 1",
                                 "outputs": [], "execution_count": None} for index in range(200_000)]
    return write(path, document)


def lines_of_output(path: Path) -> Path:
    line = json.dumps("x" * 1023 + "\n")
    return with_outputs(path, '[{"output_type": "stream", "name": "stdout", "text": [' +
                        ",".join([line] * (250 * 1024)) + "]}]")


def one_text(path: Path) -> Path:
    return with_outputs(path, '[{"output_type": "stream", "name": "stdout", "text": "' + "x" * (250 * MiB) + '"}]')


def tiny_values(path: Path) -> Path:
    tiny = '{"output_type": "stream", "name": "stdout", "text": ["x"]}'
    return with_outputs(path, "[" + ",".join([tiny] * (250 * MiB // (len(tiny) + 1))) + "]")


def deep_json(path: Path) -> Path:
    return with_outputs(path, '[{"output_type": "execute_result", "execution_count": 1, "metadata": {}, "data": '
                              '{"application/json": ' + "[" * 100_000 + "]" * 100_000 + "}}]")


def many_attachments(path: Path) -> Path:
    document = solution()
    answer = next(cell for cell in document["cells"] if cell["metadata"].get("nbgrader", {}).get("grade_id") == "block_d")
    answer["attachments"] = {f"image-{index}.png": {"image/png": PIXEL} for index in range(10_000)}
    return write(path, document)


def at_the_limits(path: Path) -> Path:
    """Just within every structure limit at once (IntakeLimits' defaults), and 200 MiB of outputs besides."""
    from coursegrader.intake.notebook import IntakeLimits

    limits = IntakeLimits()
    document = solution()
    room = limits.cells - len(document["cells"]) - 1
    source = ["# " + "s" * 38 + "\n"] * ((limits.source_bytes - 100_000) // 41 // room)  # 41 characters a line
    images = {f"image-{index}.png": {"image/png": "A" * ((limits.attachment_bytes - 2**16) // limits.attachments)}
              for index in range(limits.attachments - 1)}
    extra = [{"cell_type": "code", "id": f"x{index}", "metadata": {}, "source": source, "outputs": [],
              "execution_count": None} for index in range(room - 1)]
    extra.append({"cell_type": "markdown", "id": "images", "metadata": {}, "source": "images", "attachments": images})
    document["cells"][-1:-1] = extra
    document["metadata"]["padding"] = {f"key-{index:06d}": "m" * 200 for index in range((limits.metadata_bytes - 2**17) // 211)}
    first_code(document)["outputs"] = "OUTPUTS"
    line = json.dumps("x" * 1023 + "\n")
    before, after = json.dumps(document).split('"OUTPUTS"')
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(before + '[{"output_type": "stream", "name": "stdout", "text": [')
        handle.write(",".join([line] * 200 * 1024) + "]}]" + after)
    return path


def deep_tree(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(1_500):
        os.mkdir("d", dir_fd=fd)
        child = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = child
    os.close(fd)


def many_files(folder: Path) -> None:
    (folder / "data").mkdir()
    for index in range(20_000):
        (folder / "data" / f"{index:05d}.txt").write_text("x")


NOTEBOOKS = {  # name -> how it is made
    "normal (the solution)": lambda path: write(path, solution()),
    "200,000 cells (21 MB)": many_cells,
    "250 MiB outputs, 1 KiB lines": lines_of_output,
    "250 MiB outputs, one text": one_text,
    "250 MiB outputs, tiny values": tiny_values,
    "JSON 100,000 levels deep": deep_json,
    "10,000 attachments": many_attachments,
    "just within every limit": at_the_limits,
}
TREES = {"tree 1,500 levels deep": deep_tree, "20,000 tiny files": many_files}


# -----------------------------------------------------------------------------
# measuring


def environment() -> dict[str, str]:
    from coursegrader.commands.nbgrader import nbgrader_env

    return {name: value for name, value in nbgrader_env().items() if name != "NBGRADER_DB_URL"}


def read_once(reader: str, path: Path) -> tuple[float, float, str]:
    """(MiB above the interpreter's own peak, seconds, outcome) of reading ``path`` in a fresh process."""
    result = subprocess.run([sys.executable, "-c", READ, reader, str(path)], capture_output=True, text=True,
                            env=environment(), timeout=1800)
    if result.returncode != 0:
        return float("nan"), float("nan"), f"crashed ({result.stderr.strip().splitlines()[-1][:60]})"
    kib, seconds, outcome = json.loads(result.stdout.strip().splitlines()[-1])
    return kib / 1024, seconds, outcome


def grade_once(course: Path, student: str) -> tuple[float, float, str]:
    """(peak MiB of the grading process, seconds, outcome) of ``nbgrader autograde`` for one student."""
    peak_file = course / f"peak-{student}.txt"
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", GRADE, "autograde", ASSIGNMENT, "--student", student], cwd=course,
                            capture_output=True, text=True, env={**environment(), "PEAK_FILE": str(peak_file)},
                            timeout=1800)
    seconds = time.perf_counter() - started
    outcome = "graded" if result.returncode == 0 else f"exit {result.returncode}"
    note = next((line for line in result.stderr.splitlines() if f"Submission {student}/" in line), None)
    if note is not None:  # its first note, shortened
        outcome += ": " + note.split(": ", 1)[1][:60]
    return int(peak_file.read_text()) / 1024, seconds, outcome


def make_course(folder: Path) -> Path:
    folder.mkdir(parents=True)
    shutil.copy(ROOT / "nbgrader_config.py", folder / "nbgrader_config.py")
    shutil.copytree(ROOT / "source", folder / "source")
    subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", ASSIGNMENT, "--force"], cwd=folder,
                   check=True, capture_output=True, env=environment())
    return folder


def student_id(name: str) -> str:
    return "".join(character if character.isalnum() else "_" for character in name).strip("_")


def run() -> None:
    from coursegrader.files import trees

    with tempfile.TemporaryDirectory(prefix="intake-benchmark-", dir=os.environ.get("BENCHMARK_TMP")) as folder:
        work = Path(folder)
        course = make_course(work / "course")
        paths = {}
        for name, make in NOTEBOOKS.items():
            paths[name] = make(course / "submitted" / student_id(name) / ASSIGNMENT / "demo.ipynb")
        for name, make in TREES.items():
            submission = course / "submitted" / student_id(name) / ASSIGNMENT
            write(submission / "demo.ipynb", solution())
            make(submission)

        print("1. reading the notebook alone, in a fresh process: before the limits (json.loads, nbformat.reads) "
              "and after (read_notebook)")
        print(f"   {'payload':<30} {'size':>9} | {'before':>18} | {'after':>18} | {'memory':>7} {'time':>7} | after: outcome")
        for name, path in paths.items():
            size = path.stat().st_size / MiB
            before_mib, before_s, before_outcome = read_once("before", path)
            after_mib, after_s, after_outcome = read_once("after", path)
            print(f"   {name:<30} {size:>5.0f} MiB | {before_mib:>6.0f} MiB {before_s:>6.1f} s | {after_mib:>6.0f} MiB "
                  f"{after_s:>6.1f} s | {before_mib / max(after_mib, 1):>6.1f}× {before_s / max(after_s, 1e-3):>6.1f}× "
                  f"| {after_outcome}" + ("" if before_outcome == "read" else f" (before: {before_outcome})"))

        print("\n2. the grading process: `nbgrader autograde` for that one submission, its own peak memory and wall time")
        print(f"   {'payload':<30} {'peak':>9} {'time':>8} | {'× normal':>8} {'× normal':>8} | outcome")
        normal = None
        for name in [*NOTEBOOKS, *TREES]:
            peak, seconds, outcome = grade_once(course, student_id(name))
            normal = normal or (peak, seconds)
            print(f"   {name:<30} {peak:>5.0f} MiB {seconds:>6.1f} s | {peak / normal[0]:>7.2f}× {seconds / normal[1]:>7.2f}× "
                  f"| {outcome}")
        trees.remove_tree(course)  # it holds a tree 1,500 levels deep, set aside: TemporaryDirectory's rmtree would fail


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    run()
