"""perf.formats stays pure: no Django (or other project layer) import anywhere below it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

FORMATS = Path(__file__).resolve().parents[2] / "perf" / "formats"
FORBIDDEN = ("django", "celery", "perf.models", "perf.services", "perf.analysis", "lntsite")


def imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            modules.add(node.module)
    return modules


@pytest.mark.parametrize(
    "path", sorted(FORMATS.rglob("*.py")), ids=lambda p: str(p.relative_to(FORMATS))
)
def test_no_module_of_perf_formats_imports_django_or_other_layers(path: Path) -> None:
    bad = {
        module for module in imported_modules(path)
        if any(module == f or module.startswith(f + ".") for f in FORBIDDEN)
    }
    assert bad == set()
