"""Three floors, no cycle: the write side (perf/services) and the read side
(perf/selectors) never import an entry point (tasks, views, api, admin, management).

A service that must start a task returns what to enqueue or takes an ``enqueue``
callback; relative imports (``from ..tasks import x``) are resolved before checking,
and so are imports inside functions (the lazy ``import`` that hid a cycle before).
"""

import ast
from pathlib import Path

import pytest

PERF = Path(__file__).resolve().parents[1] / "perf"
LOWER_FLOORS = [PERF / "services", PERF / "selectors"]
ENTRY_POINTS = (
    "perf.tasks",
    "perf.views",
    "perf.api",
    "perf.admin",
    "perf.management",
    "lntsite.celery",
)


def module_name(path: Path, root: Path = PERF) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, root: Path = PERF) -> list[str]:
    """Absolute names of everything ``path`` imports, anywhere in the module."""
    package = module_name(path, root).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            names.append(module)
            names.extend(f"{module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call) and getattr(
            node.func, "attr", getattr(node.func, "id", None)
        ) in ("import_module", "__import__"):
            names.extend(
                arg.value
                for arg in node.args
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str)
            )
    return names


def is_entry_point(name: str) -> bool:
    return any(name == bad or name.startswith(bad + ".") for bad in ENTRY_POINTS)


MODULES = sorted(p for floor in LOWER_FLOORS for p in floor.rglob("*.py"))


def test_both_lower_floors_have_modules_to_check() -> None:
    assert {p.parent.name for p in MODULES} == {"services", "selectors"}
    assert len(MODULES) >= 8


@pytest.mark.parametrize("path", MODULES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_service_or_selector_imports_an_entry_point(path: Path) -> None:
    bad = [name for name in imported_modules(path) if is_entry_point(name)]
    assert bad == [], f"{path} imports {bad}"


@pytest.mark.parametrize(
    ("source", "caught"),
    [
        ("from ..tasks import detect_run_task", True),
        ("def f():\n    from ..tasks import detect_run_task", True),
        ("from .. import tasks", True),
        ("from ..views.pages import home", True),
        ("import perf.api.submit", True),
        ("from perf.management.commands import import_run", True),
        ("import importlib\nimportlib.import_module('perf.admin')", True),
        ("from ..models import Run\nfrom .grouping import regressions_group", False),
        ("from ..analysis import find_change_points", False),
        ("from .tasks_helper import x", False),
    ],
)
def test_the_layer_check_catches_imports_of_entry_points(
    tmp_path: Path, source: str, caught: bool
) -> None:
    module = tmp_path / "perf" / "services" / "probe.py"
    module.parent.mkdir(parents=True)
    module.write_text(source)
    names = imported_modules(module, root=tmp_path / "perf")
    assert any(is_entry_point(name) for name in names) is caught
