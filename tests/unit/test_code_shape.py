"""The shape the design card asks of `trainer/` and `launcher/`: small modules, short functions, no import circles.

Read from the source with `ast` (nothing is imported), so it also guards rooms that need TensorFlow.
"""

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("trainer", "launcher")
MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 60


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            found[name] = path
    return found


MODULES = _modules()


def _functions(tree: ast.AST) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


def _imported(tree: ast.AST, module: str) -> set[str]:
    """Project modules `module` imports anywhere in its body (function-local imports count: a lazy import still
    makes a circle)."""
    targets = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                targets.add(full if full in MODULES else node.module)
        elif isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
    return {target for target in targets if target in MODULES and target != module}


def test_both_packages_are_found() -> None:
    assert "trainer.cli" in MODULES and "launcher.cli" in MODULES


@pytest.mark.parametrize("module", sorted(MODULES))
def test_module_is_small(module: str) -> None:
    lines = len(MODULES[module].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES, f"{module} has {lines} lines: split it by responsibility"


def test_no_function_is_long() -> None:
    long = [
        f"{module}.{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for module, path in MODULES.items()
        for node in _functions(ast.parse(path.read_text(encoding="utf-8")))
        if node.end_lineno is not None and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines: {long}"


def test_no_import_circles() -> None:
    graph = {
        module: _imported(ast.parse(path.read_text(encoding="utf-8")), module)
        for module, path in MODULES.items()
    }
    circles = []
    for start in graph:
        stack = [(start, [start])]
        seen = set()
        while stack:
            node, trail = stack.pop()
            for target in graph[node]:
                if target == start:
                    circles.append(" -> ".join([*trail, start]))
                elif target not in seen:
                    seen.add(target)
                    stack.append((target, [*trail, target]))
    assert not circles, f"import circles: {sorted(set(circles))[:5]}"
