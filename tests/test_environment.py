"""What `make venv` leaves out of the environment, on purpose."""

import subprocess
import sys


def test_importing_jsonschema_builds_no_iri_grammar():
    """`make venv` removes rfc3987-syntax (jsonschema's optional "iri" format checker, 1.3 s of CPU at every
    import of jsonschema, so in every nbgrader, course, Jupyter and Dask process); the formats the Jupyter
    stack checks still work."""
    code = ("import sys, jsonschema\n"
            "checker = jsonschema.FormatChecker()\n"
            "print('rfc3987_syntax' in sys.modules, 'lark' in sys.modules, checker.conforms('a b', 'uri-reference'))")
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert found == ["False", "False", "False"]
