"""The library stands alone: importing minimodel pulls in numpy and nothing of the course tooling."""

import subprocess
import sys


def test_minimodel_imports_no_tooling():
    code = ("import sys, minimodel, minimodel.tokenizer, minimodel.embedding, minimodel.attention, minimodel.positional\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in {'coursekit', 'nbgrader', 'jsonschema', 'rich', 'torch'})\n"
            "print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""
