"""The README's example runs as written, and its commands exist."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def python_blocks():
    return re.findall(r"```python\n(.*?)```", README, flags=re.DOTALL)


def test_minimodel_example_runs_and_prints_what_it_says(capsys):
    example = python_blocks()[0]
    exec(compile(example, "README.md", "exec"), {})
    printed = capsys.readouterr().out.split("\n")
    without_pe, with_pe, shape = float(printed[0]), float(printed[1]), printed[2]
    assert without_pe < 1e-15 and 0.1 < with_pe < 0.2 and shape == "(3, 8)"


def test_pytorch_snippet_loads_the_state_dict():
    import pytest
    torch = pytest.importorskip("torch", reason="the snippet needs torch; the golden-vector tests cover the layer")
    namespace = {}
    exec(compile(python_blocks()[0], "README.md", "exec"), namespace)
    exec(compile(python_blocks()[1], "README.md", "exec"), namespace)
    assert isinstance(namespace["ref"], torch.nn.MultiheadAttention)


def test_make_targets_named_in_the_readme_exist():
    targets = set(re.findall(r"`make ([a-z-]+)`", README)) | {"demo", "test"}
    listed = subprocess.run(["make", "-pn"], cwd=ROOT, capture_output=True, text=True).stdout
    for target in targets:
        assert re.search(rf"^{re.escape(target)}:", listed, flags=re.MULTILINE), target
