"""What students receive: the kit's wheel holds the library and the self-checks, never the grader's half.

Students install the kit (``make student-kit``: a wheel of ``minimodel`` and ``coursekit``) with the
``student`` extra, without nbgrader. The self-check and export paths must run there, every
third-party package they import must be declared in that extra, and no hidden check, reference
computation or grader module may be in the wheel.
"""

import ast
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
STUDENT_FILES = [*sorted((SRC / "minimodel").rglob("*.py")), *sorted((SRC / "coursekit").rglob("*.py"))]
GRADER_ONLY = SRC / "coursegrader"


def imported_top_level_names(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def grader_only_names() -> set[str]:
    """Names defined at the top of the grader's lab modules: hidden checks, the reference, their tables."""
    names = set()
    for path in (GRADER_ONLY / "labs").glob("lab*.py"):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.Assign):
                names.update(target.id for target in node.targets if isinstance(target, ast.Name))
    return names


@pytest.fixture(scope="module")
def kit(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("kit")
    subprocess.run([sys.executable, str(ROOT / "scripts" / "build_student_kit.py"), str(out)], check=True,
                   capture_output=True)
    (wheel,) = out.glob("*.whl")
    return wheel


def test_student_modules_import_only_declared_packages():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {requirement.split(">")[0].split("=")[0].split("<")[0].split("[")[0].strip()
                for requirement in project["optional-dependencies"]["student"] + project["dependencies"]}
    third_party = set().union(*map(imported_top_level_names, STUDENT_FILES))
    third_party -= set(sys.stdlib_module_names) | {"minimodel", "coursekit", "coursegrader", "__future__"}
    assert third_party <= declared, third_party - declared


def test_the_wheel_holds_the_library_and_the_self_checks_only(kit):
    with zipfile.ZipFile(kit) as wheel:
        names = wheel.namelist()
        top_level = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
        assert top_level == {"minimodel", "coursekit"}
        assert "coursekit/labs/lab00.py" in names and "coursekit/labs/lab00_manifest.schema.json" in names
        # the self-checks' Spanish catalog, compiled; the grader's catalog (hidden checks' messages) is not there
        assert [name for name in names if "/locale/" in name] == ["coursekit/locale/es/LC_MESSAGES/coursekit.mo"]
        source = "\n".join(wheel.read(name).decode("utf-8") for name in names if name.endswith(".py"))
        entry_points = next(wheel.read(name).decode() for name in names if name.endswith("entry_points.txt"))
    assert "course = coursekit.cli:main" in entry_points
    hidden = grader_only_names()
    assert {"recompute", "HIDDEN_CHECKS", "RECOMPUTED_ARRAYS", "block_e_results_match"} <= hidden
    leaked = {name for name in hidden if f"def {name}(" in source or f"{name} =" in source}
    assert not leaked
    # the grader's package is never named: an instructor's environment offers its checks by an entry point
    grader_imports = [line.strip() for line in source.splitlines() if re.match(r"\s*(from|import) coursegrader", line)]
    assert grader_imports == []
    assert "coursegrader" not in entry_points


def test_the_kit_runs_self_checks_and_hides_hidden_ones_without_the_grader(kit, tmp_path):
    """With only the wheel's packages importable (and no nbgrader), a self-check runs and a hidden one says so."""
    with zipfile.ZipFile(kit) as wheel:
        wheel.extractall(tmp_path / "kit")
    code = f"""
import sys
sys.modules["nbgrader"] = None
sys.path = [{str(tmp_path / 'kit')!r}] + [path for path in sys.path if not path.endswith("src")]
import coursekit, minimodel
assert coursekit.__file__.startswith({str(tmp_path / 'kit')!r}), coursekit.__file__
from coursekit.labs.lab00 import run_check
from minimodel import default_tokenizer
tokenizer = default_tokenizer()
namespace = {{"token_ids": tokenizer.encode("he work I")}}
run_check("test_block_a_token_ids", namespace)
run_check("test_block_e_results_match", namespace)
from coursekit.i18n import set_language
set_language("es")  # what the Spanish edition's first cell does
run_check("test_block_a_token_ids", namespace)
set_language("en")
try:
    import coursegrader.labs
except ImportError:
    print("no grader here")
from coursekit.cli import main
main(["checks"])
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path).stdout
    assert "✔ passed (1 point): token_ids decode to 'he work I'" in out
    assert "✔ superada (1 punto): " in out and "'he work I'" in out.split("superada")[1]
    assert "test_block_e_results_match is a hidden check: it runs only when your notebook is graded" in out
    assert "no grader here" in out
    assert "test_block_e_schema" in out and "test_block_e_results_match" not in out.split("no grader here")[1]
