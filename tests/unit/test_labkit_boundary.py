"""benchmarks/ stand on their own: what they share with the tests comes from labkit/, never from tests/."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def imported_modules(source: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
    return modules


def test_benchmarks_import_nothing_from_tests() -> None:
    scripts = sorted((REPO / "benchmarks").glob("*.py"))
    assert scripts, "no benchmark scripts found"
    offending = {
        str(script.relative_to(REPO)): sorted(
            m for m in imported_modules(script) if m.split(".")[0] == "tests"
        )
        for script in scripts
    }
    assert {k: v for k, v in offending.items() if v} == {}


def test_labkit_imports_nothing_from_tests() -> None:
    for module in sorted((REPO / "labkit").glob("*.py")):
        assert not [m for m in imported_modules(module) if m.split(".")[0] == "tests"], module
