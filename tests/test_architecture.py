"""Imports run one way: down the layers of the grading pipeline, never back up, and never in a circle.

Read from the source with ``ast`` (every import, those inside functions included), so an arrow that
runs back up fails here whether or not it runs during the suite:

    commands → service → classrun / reports / editions → adapters → verdicts / results → intake / run
             → labs / language / speedups / files → coursekit → minimodel

A module may import its own layer's package freely (without a cycle), and any package of a lower
layer; two packages of one layer do not import each other. The README's "Architecture" section draws
the same tree.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"

# Lowest first. A package is a top-level package, or a subpackage of coursegrader.
LAYERS: list[tuple[str, ...]] = [
    ("minimodel",),
    ("coursekit",),
    ("coursegrader",),  # the package itself: its __init__ registers its translations
    ("coursegrader.labs", "coursegrader.language", "coursegrader.speedups", "coursegrader.files"),
    ("coursegrader.intake", "coursegrader.run"),
    ("coursegrader.verdicts", "coursegrader.results"),
    ("coursegrader.adapters",),
    ("coursegrader.classrun", "coursegrader.reports", "coursegrader.editions"),
    ("coursegrader.service",),
    ("coursegrader.commands",),
]
RANK = {package: rank for rank, packages in enumerate(LAYERS) for package in packages}


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def read_modules(root: Path = SRC) -> dict[str, str]:
    """Every module of the project's packages: name -> source."""
    return {module_name(path, root): path.read_text(encoding="utf-8")
            for package in ("minimodel", "coursekit", "coursegrader") for path in sorted((root / package).rglob("*.py"))}


def imports_of(name: str, source: str, known: set[str]) -> set[str]:
    """The project's modules that ``source`` (module ``name``) imports, wherever the import statement sits."""
    found = set()
    package = name if f"{name}.__init__" in known else name.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:  # `import a.b.c` of a module: its deepest known part
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def package_of(module: str) -> str:
    parts = module.split(".")
    if parts[0] != "coursegrader" or len(parts) == 1:
        return parts[0]
    return ".".join(parts[:2])


def back_arrows(modules: dict[str, str]) -> list[str]:
    """Every import that runs sideways or back up the layers, or whose package has no layer."""
    known = set(modules) | {f"{name}.__init__" for name in modules}
    problems = []
    for name, source in sorted(modules.items()):
        here = package_of(name)
        if here not in RANK:
            problems.append(f"{name}: its package {here} has no layer in LAYERS")
            continue
        for target in sorted(imports_of(name, source, known)):
            there = package_of(target)
            if there == here:
                continue
            if RANK.get(there, len(LAYERS)) >= RANK[here]:
                problems.append(f"{name} imports {target}: {there} is not below {here}")
    return problems


def cycles(modules: dict[str, str]) -> list[list[str]]:
    """The import cycles among the modules (each as the list of modules around it)."""
    known = set(modules) | {f"{name}.__init__" for name in modules}
    graph = {name: imports_of(name, source, known) for name, source in modules.items()}
    found, state, stack = [], {}, []

    def visit(node: str) -> None:
        state[node] = "open"
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                found.append(stack[stack.index(target):] + [target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


# -----------------------------------------------------------------------------


def test_every_import_runs_down_the_layers():
    problems = back_arrows(read_modules())
    assert not problems, "\n".join(problems)


def test_no_module_imports_itself_round_a_circle():
    found = cycles(read_modules())
    assert not found, "\n".join(" → ".join(cycle) for cycle in found)


def test_a_planted_back_arrow_or_circle_is_caught():
    modules = read_modules()
    planted = dict(modules)
    planted["coursegrader.run.planted"] = "def later():\n    from coursegrader.commands.cli import main\n"
    planted["coursekit.planted"] = "import coursegrader.labs\n"
    planted["coursegrader.results.planted"] = "from coursegrader.reports import console\n"
    problems = back_arrows(planted)
    assert any(problem.startswith("coursegrader.run.planted imports coursegrader.commands.cli") for problem in problems)
    assert any(problem.startswith("coursekit.planted imports coursegrader.labs") for problem in problems)
    assert any(problem.startswith("coursegrader.results.planted imports coursegrader.reports") for problem in problems)
    circled = dict(modules)
    circled["coursegrader.run.one"] = "from coursegrader.run import two\n"
    circled["coursegrader.run.two"] = "def f():\n    from coursegrader.run.one import x\n"
    assert ["coursegrader.run.one", "coursegrader.run.two", "coursegrader.run.one"] in cycles(circled)


def test_every_package_has_a_layer_and_every_layer_a_package():
    packages = {package_of(name) for name in read_modules()}
    assert packages == set(RANK)
