"""What students run (self-checks, `course export`) works with the `student` extra alone.

Students install `minimodel-course[student]`, without nbgrader. The self-check and export code
paths must run where importing nbgrader fails, and every third-party package their modules
import must be declared in the student extra (or the library's own dependencies).
"""

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
STUDENT_FILES = [*sorted((SRC / "minimodel").rglob("*.py")), *sorted((SRC / "coursekit" / "lab00").glob("*.py")),
                 SRC / "coursekit" / "checks.py", SRC / "coursekit" / "notebook.py",
                 SRC / "coursekit" / "deliverables.py", SRC / "coursekit" / "cli.py"]


def imported_top_level_names(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_student_modules_import_only_declared_packages():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {requirement.split(">")[0].split("=")[0].split("<")[0].split("[")[0].strip()
                for requirement in project["optional-dependencies"]["student"] + project["dependencies"]}
    third_party = set().union(*map(imported_top_level_names, STUDENT_FILES))
    third_party -= set(sys.stdlib_module_names) | {"minimodel", "coursekit", "__future__"}
    # cli.py reaches the instructor-only modules (demo, nbgrader_run) only inside their own commands
    assert third_party <= declared, third_party - declared


def test_self_checks_and_export_paths_run_without_nbgrader():
    code = ("import sys; sys.modules['nbgrader'] = None\n"  # any `import nbgrader` now raises ImportError
            "import coursekit.lab00, coursekit.deliverables\n"
            "from coursekit.cli import main\n"
            "main(['checks'])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "test_block_e_results_match" in out
