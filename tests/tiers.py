"""Test tiers: every test gets exactly one, from what it uses (tests/conftest.py's
``pytest_collection_modifyitems`` calls ``tier_assign``).

The tiers, fastest first: ``unit``, ``schema`` and ``database`` are the fast ones that
``make test`` runs first, stopping on the first failure; ``worker``, ``browser`` and
``outage`` the slow ones it runs after. The precedence, first match wins:

1. A tier marker on the test itself, its class or its module (``@pytest.mark.outage``):
   an override, for what no fixture shows (a test that kills the worker it started,
   a test that checks the API's schema). The closest one counts; two different tier
   markers on the same test are an error, since ``-m`` would then select it twice.
2. The strongest tier among the fixtures it uses, directly or through other
   fixtures: ``outage`` (servers or workers the test stops, ``@tier("outage")``),
   then ``browser`` (Chromium), then ``worker`` (a real Celery worker), then
   ``schema``, then ``database`` (pytest-django's database fixtures, ``live_server``,
   or a server of the test's own, ``@tier("database")``). A slower resource decides:
   a test that stops PostgreSQL under a live worker is an outage test first.
3. The ``django_db`` marker: ``database``.
4. Otherwise ``unit``.

A fixture says its tier with ``@tier(name)`` under ``@pytest.fixture``; pytest-django's
fixtures are known by name (``DATABASE_FIXTURES``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import pytest

FAST = ("unit", "schema", "database")
SLOW = ("worker", "browser", "outage")
TIERS = FAST + SLOW
# Fixtures whose tier decides, strongest first (rule 2 of the module's docstring).
STRENGTH = ("outage", "browser", "worker", "schema", "database")
DATABASE_FIXTURES = frozenset(
    {
        "db",
        "transactional_db",
        "django_db_reset_sequences",
        "django_db_serialized_rollback",
        "live_server",
    }
)

F = TypeVar("F", bound=Callable[..., Any])


def tier(name: str) -> Callable[[F], F]:
    """Mark a fixture's function with the tier of every test that uses it."""
    if name not in TIERS:
        raise ValueError(f"unknown tier {name!r}: one of {', '.join(TIERS)}")

    def mark(function: F) -> F:
        function.tier = name  # type: ignore[attr-defined]
        return function

    return mark


def _explicit(item: pytest.Item) -> str | None:
    """The closest tier marker, or None; an error if one node carries two."""
    for node in item.listchain()[::-1]:
        found = {mark.name for mark in node.own_markers if mark.name in TIERS}
        if len(found) > 1:
            raise pytest.UsageError(
                f"{item.nodeid}: more than one tier marker: {', '.join(sorted(found))}"
            )
        if found:
            return found.pop()
    return None


def _fixture_tiers(item: pytest.Item) -> set[str]:
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return set()
    found = set()
    for name in item.fixturenames:  # type: ignore[attr-defined]
        if name in DATABASE_FIXTURES:
            found.add("database")
        # The definition in effect, and the one it overrides if it asks for it.
        definitions = list(info.name2fixturedefs.get(name, ()))
        while definitions:
            definition = definitions.pop()
            declared = getattr(definition.func, "tier", None)
            if declared in TIERS:
                found.add(declared)
            if name not in definition.argnames:
                break
    return found


def tier_of(item: pytest.Item) -> str:
    """The one tier of a collected test, by the module docstring's precedence."""
    if explicit := _explicit(item):
        return explicit
    used = _fixture_tiers(item)
    for name in STRENGTH:
        if name in used:
            return name
    if item.get_closest_marker("django_db") is not None:
        return "database"
    return "unit"


def tier_assign(items: list[pytest.Item]) -> None:
    """Give every test without an explicit tier marker the one it derives."""
    for item in items:
        name = tier_of(item)
        if item.get_closest_marker(name) is None:
            item.add_marker(name)
