"""The layout's rules (ARCHITECTURE.md), read from the source: the project package
holds the project only, the kit imports no app, the status domain imports none of
the apps that react to it, and no import is hidden in a function to dodge a circle."""

from __future__ import annotations

import ast
import fnmatch
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from statuspage.celery import app as celery_app

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "statuspage"
APPS = [
    "kit",
    "incidents",
    "uptime",
    "probes",
    "notifications",
    "tokens",
    "integrations",
    "access",
    "audit",
    "accounts",
    "configfile",
    "metrics",
    "visitor",
    "audience",
]
PACKAGES = [PROJECT, *APPS]
# What each package must never import (the kit: no app at all).
FORBIDDEN = {
    "kit": set(PACKAGES) - {"kit"},
    "incidents": {
        "probes",
        "notifications",
        "integrations",
        "configfile",
        "metrics",
        "visitor",
        "uptime",
    },
}


def modules() -> dict[str, Path]:
    """Every module of the project's packages, by dotted name (migrations aside)."""
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts or "node_modules" in path.parts:
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = modules()


def imported(module: str, node: ast.Import | ast.ImportFrom) -> Iterator[str]:
    """The dotted names an import statement of ``module`` reaches."""
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
        return
    base = node.module or ""
    if node.level:
        package = module.split(".")
        if MODULES[module].name != "__init__.py":
            package = package[:-1]
        package = package[: len(package) - (node.level - 1)]
        base = ".".join([*package, base] if base else package)
    yield base
    yield from (f"{base}.{alias.name}" for alias in node.names)


def known(name: str) -> str | None:
    """The project module ``name`` is, or is inside; None for anything else."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def top_level_imports(module: str) -> set[str]:
    tree = ast.parse(MODULES[module].read_text())
    reached = set()
    # ``if TYPE_CHECKING:`` imports too: a circle only the type checker walks is
    # still two modules that each need the other.
    body = [
        n for top in tree.body for n in (top.body if isinstance(top, ast.If) else [top])
    ]
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            for name in imported(module, node):
                target = known(name)
                if target and target != module:
                    reached.add(target)
    return reached


def all_imports(module: str) -> Iterator[tuple[int, str]]:
    for node in ast.walk(ast.parse(MODULES[module].read_text())):
        if isinstance(node, ast.Import | ast.ImportFrom):
            for name in imported(module, node):
                yield node.lineno, name


def test_the_project_package_holds_settings_urls_celery_and_wsgi_only() -> None:
    held = {path.name for path in (ROOT / PROJECT).iterdir() if path.name[0] != "_"}
    held.discard("__pycache__")
    assert held == {"settings.py", "urls.py", "celery.py", "wsgi.py"}


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_package_never_imports_what_it_must_not(package: str) -> None:
    wrong = [
        f"{module}:{line} imports {name}"
        for module in MODULES
        if module.split(".")[0] == package
        for line, name in all_imports(module)
        if name.split(".")[0] in FORBIDDEN[package]
    ]
    assert wrong == []


def test_no_import_hides_in_a_function() -> None:
    # An AppConfig's ready() is where Django wants signal wiring: the one exception.
    hidden = []
    for module, path in MODULES.items():
        if path.name == "apps.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import | ast.ImportFrom):
                    hidden.append(f"{module}:{inner.lineno}")
    assert hidden == []


def test_no_modules_import_each_other_in_a_circle() -> None:
    graph = {module: top_level_imports(module) for module in MODULES}
    circles = []
    state: dict[str, str] = {}  # module -> "open" while on the path, "done" after

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for target in sorted(graph[module]):
            if state.get(target) == "open":
                circles.append(" -> ".join([*path[path.index(target) :], target]))
            elif target not in state:
                visit(target, [*path, target])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert circles == []


def test_the_rules_see_the_imports_they_judge() -> None:
    # The checks above pass on an empty tree too: prove they read real imports.
    assert "incidents.models" in top_level_imports("incidents.services.components")
    assert any(
        name.startswith("kit.") for _, name in all_imports("incidents.api.v1.views")
    )


def test_it_judges_every_app_the_project_installs() -> None:
    local = {
        name.split(".")[0]
        for name in settings.INSTALLED_APPS
        if (ROOT / name.split(".")[0]).is_dir()
    }
    assert local == set(APPS) - {"kit"}  # the kit is a package, not an app


def test_every_task_named_anywhere_is_registered() -> None:
    named = set()
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call) or _called(node) != "enqueue":
                continue
            given = node.args[0] if node.args else None
            given = given or next(
                (k.value for k in node.keywords if k.arg == "name"), None
            )
            if isinstance(given, ast.Constant):
                named.add(given.value)
            elif isinstance(given, ast.Name):
                named.add(_constant(module, given.id))
            else:
                raise AssertionError(f"{module}:{node.lineno}: name the task plainly")
    named |= {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    celery_app.loader.import_default_modules()
    assert "visitor.tasks.snapshot_publish" in named, "the check reads nothing"
    assert named - set(celery_app.tasks) == set()
    for route in settings.CELERY_TASK_ROUTES:
        assert fnmatch.filter(celery_app.tasks, route), f"route {route} routes nothing"


def _called(call: ast.Call) -> str:
    function = call.func
    if isinstance(function, ast.Attribute):
        return function.attr
    return getattr(function, "id", "")


def _constant(module: str, name: str) -> str:
    for node in ast.parse(MODULES[module].read_text()).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == name:
            value = node.value
            assert isinstance(value, ast.Constant), f"{module}.{name}"
            return str(value.value)
    raise AssertionError(f"{module}.{name} is not a module constant")
