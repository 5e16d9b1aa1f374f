"""Whether the student accounts' interpreter is current: nbgrader is in it, and every package it holds is at the
version constraints.txt pins (a pin of a package it does not hold, an instructor-only one, does not matter; nor
does the venv's own pip).

Run by scripts/install_student_python.sh with that interpreter: ``python student_python_current.py PINS``;
exit 0 when it is current.
"""

import re
import sys
from importlib.metadata import distributions


VENV_TOOLS = {"pip", "setuptools", "wheel"}  # what the venv came with, not what was installed from the pins


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def main(pins_path: str) -> int:
    pins = {}
    for line in open(pins_path, encoding="utf-8"):
        if "==" in line:
            name, version = line.strip().split("==", 1)
            pins[canonical(name)] = version
    held = {canonical(dist.metadata["Name"]): dist.version for dist in distributions()
            if canonical(dist.metadata["Name"]) not in VENV_TOOLS}
    stale = sorted(name for name, version in held.items() if pins.get(name, version) != version)
    if stale:
        print(f"the student accounts' interpreter is out of date: {', '.join(stale)}")
    return 0 if "nbgrader" in held and not stale else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
