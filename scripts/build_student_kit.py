"""Build the student kit: what students install, and nothing only the grader may have.

    python scripts/build_student_kit.py [OUT_DIR]      # default: dist/student-kit (`make student-kit`)

The kit is a wheel named like the course's project (``minimodel-course``, same version, same
``student`` extra) that holds exactly two packages: ``minimodel`` (the library) and ``coursekit``
(each lab's description and self-checks, ``course export``). It is built from a staging folder
into which only those two packages are copied, so ``coursegrader`` — hidden checks, reference
computations, the grader — cannot end up in it whatever the project's own packaging says. Its
``course`` command is the students' (``coursekit.cli``). ``constraints.txt`` is copied beside it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KIT_PACKAGES = ("minimodel", "coursekit")


def kit_pyproject(project: dict) -> str:
    student = project["optional-dependencies"]["student"]
    listed = lambda items: ", ".join(f'"{item}"' for item in items)  # noqa: E731
    return f"""[build-system]
requires = ["setuptools==80.9.0"]
build-backend = "setuptools.build_meta"

[project]
name = "{project['name']}"
version = "{project['version']}"
description = "The student kit of the course: the minimodel library and each lab's self-checks"
requires-python = "{project['requires-python']}"
dependencies = [{listed(project['dependencies'])}]

[project.optional-dependencies]
student = [{listed(student)}]

[project.scripts]
course = "coursekit.cli:main"

[tool.setuptools]
packages = {{find = {{where = ["."], include = [{listed(package + suffix for package in KIT_PACKAGES for suffix in ("", ".*"))}]}}}}

[tool.setuptools.package-data]
minimodel = ["data/*.txt"]
coursekit = ["labs/*.json", "locale/*/LC_MESSAGES/*.mo"]
"""


def build(out_dir: Path) -> Path:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="student-kit-") as folder:
        stage = Path(folder)
        for package in KIT_PACKAGES:
            shutil.copytree(ROOT / "src" / package, stage / package,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        (stage / "pyproject.toml").write_text(kit_pyproject(project))
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out_dir), str(stage)],
                       check=True)
    shutil.copy(ROOT / "constraints.txt", out_dir / "constraints.txt")
    wheels = sorted(out_dir.glob("*.whl"))
    if len(wheels) != 1:
        raise SystemExit(f"expected one wheel in {out_dir}, found {[wheel.name for wheel in wheels]}")
    return wheels[0]


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "dist" / "student-kit"
    if target.exists():
        shutil.rmtree(target)
    wheel = build(target)
    print(f"wrote {wheel.relative_to(ROOT) if wheel.is_relative_to(ROOT) else wheel} and constraints.txt")
