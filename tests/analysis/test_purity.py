"""perf/analysis is pure math: no module below it may import Django or the ORM layer."""

import ast
from pathlib import Path

import pytest

ANALYSIS = Path(__file__).resolve().parents[2] / "perf" / "analysis"
FORBIDDEN = ("django", "perf.models", "perf.services", "perf.selectors",
             "perf.tasks", "perf.views", "perf.api", "perf.admin", "lntsite", "celery")


def imported_modules(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
            names.extend(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(
                node.func, "id", None)) in ("import_module", "__import__"):
            names.extend(arg.value for arg in node.args
                         if isinstance(arg, ast.Constant) and isinstance(arg.value, str))
    return names


def is_forbidden(name: str) -> bool:
    return any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN)


def test_the_analysis_package_has_modules_to_check() -> None:
    assert len(list(ANALYSIS.rglob("*.py"))) >= 3


@pytest.mark.parametrize("path", sorted(ANALYSIS.rglob("*.py")), ids=lambda p: p.name)
def test_no_analysis_module_imports_django(path: Path) -> None:
    bad = [name for name in imported_modules(path) if is_forbidden(name)]
    assert bad == [], f"{path} imports {bad}"


@pytest.mark.parametrize(
    ("source", "caught"),
    [
        ("import django", True),
        ("from django.db import models", True),
        ("from perf import models", True),
        ("import perf.models as m", True),
        ("import importlib\nimportlib.import_module('django.conf')", True),
        ("import numpy\nfrom perf.analysis import changepoints", False),
        ("import djangoish", False),
    ],
)
def test_the_purity_check_catches_django_imports(tmp_path: Path, source: str,
                                                 caught: bool) -> None:
    module = tmp_path / "module.py"
    module.write_text(source)
    assert any(is_forbidden(name) for name in imported_modules(module)) is caught
