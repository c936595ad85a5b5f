"""The uptime record moved from the incidents app to the uptime app without losing a
row: a database filled at the old layout is migrated forward, and every row, its
foreign key to the component and the roles' grants on it are still there."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from uptime.models import ComponentDay, ComponentLatencyHour

# The layout before the move: the record's models are the incidents app's.
BEFORE = [("incidents", "0006_single_line_names"), ("uptime", None)]
DAY = dt.date(2026, 3, 1)
HOUR = dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC)


def migrate(targets: list[tuple[str, str | None]]) -> Any:
    """Migrate the test database to ``targets``; the (historical) apps it is at."""
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()  # the applied migrations changed
    return executor.loader.project_state(list(executor.loader.applied_migrations)).apps


@pytest.fixture
def leaves() -> Iterator[list[tuple[str, str | None]]]:
    """The latest migrations; the database is back at them after the test, whatever
    happened (the next tests need its tables)."""
    latest = list(MigrationExecutor(connection).loader.graph.leaf_nodes())
    yield latest
    migrate(latest)
    ContentType.objects.clear_cache()


def old_rows(apps: Any) -> tuple[list[Any], list[Any]]:
    component_model = apps.get_model("incidents", "Component")
    day_model = apps.get_model("incidents", "ComponentDay")
    hour_model = apps.get_model("incidents", "ComponentLatencyHour")
    api = component_model.objects.create(name="API", public_id="api000000000")
    web = component_model.objects.create(name="Web", public_id="web000000000")
    days = [
        day_model.objects.create(
            component=component,
            day=DAY + dt.timedelta(days=n),
            operational_seconds=86_400 - 60 * n,
            partial_seconds=60 * n,
            checks=1_440,
            checks_up=1_440 - n,
            incidents=[{"id": "inc000000001", "name": "Slow", "impact": "minor"}],
        )
        for component in (api, web)
        for n in range(3)
    ]
    hours = [
        hour_model.objects.create(
            component=api,
            hour=HOUR + dt.timedelta(hours=n),
            checks=60,
            p50_ms=40.0 + n,
            p95_ms=90.0,
            p99_ms=None if n else 120.0,
        )
        for n in range(4)
    ]
    return days, hours


def grant_viewing(apps: Any) -> None:
    """A role that may read the record, as ``access``'s roles migration made it."""
    permission = apps.get_model("auth", "Permission")
    granted = permission.objects.filter(
        content_type__app_label="incidents",
        codename__in=["view_componentday", "view_componentlatencyhour"],
    )
    assert granted.count() == 2
    apps.get_model("auth", "Group").objects.create(name="readers").permissions.set(
        granted
    )


DAY_FIELDS = (
    "id",
    "component_id",
    "day",
    "operational_seconds",
    "degraded_seconds",
    "partial_seconds",
    "major_seconds",
    "maintenance_seconds",
    "no_data_seconds",
    "checks",
    "checks_up",
    "incidents",
    "computed_at",
)
HOUR_FIELDS = ("id", "component_id", "hour", "checks", "p50_ms", "p95_ms", "p99_ms")


def values(rows: Any, fields: tuple[str, ...]) -> list[tuple[Any, ...]]:
    return sorted(tuple(getattr(row, name) for name in fields) for row in rows)


@pytest.mark.schema
@pytest.mark.django_db(transaction=True)
def test_it_moves_every_row_of_the_old_layout_to_the_uptime_app(
    leaves: list[tuple[str, str | None]],
) -> None:
    apps = migrate(BEFORE)
    assert "incidents_componentday" in connection.introspection.table_names()
    days, hours = old_rows(apps)
    grant_viewing(apps)

    migrate(leaves)
    ContentType.objects.clear_cache()

    tables = connection.introspection.table_names()
    assert {"uptime_componentday", "uptime_componentlatencyhour"} <= set(tables)
    assert not {"incidents_componentday", "incidents_componentlatencyhour"} & set(
        tables
    )
    assert ComponentDay.objects.count() == len(days) == 6
    assert ComponentLatencyHour.objects.count() == len(hours) == 4
    assert values(ComponentDay.objects.all(), DAY_FIELDS) == values(days, DAY_FIELDS)
    assert values(ComponentLatencyHour.objects.all(), HOUR_FIELDS) == values(
        hours, HOUR_FIELDS
    )
    # The foreign keys still lead to the components, both ways.
    moved = ComponentDay.objects.select_related("component").get(pk=days[0].pk)
    assert moved.component.public_id == "api000000000"
    assert moved.component.latency_hours.count() == 4
    # New rows take ids after the moved ones (the table's sequence came along).
    newer = ComponentDay.objects.create(
        component=moved.component, day=DAY.replace(year=2027)
    )
    assert newer.pk > max(day.pk for day in days)
    # The grants followed the models' permissions to their new app.
    readers = Group.objects.get(name="readers")
    held = {
        f"{p.content_type.app_label}.{p.codename}" for p in readers.permissions.all()
    }
    assert held == {"uptime.view_componentday", "uptime.view_componentlatencyhour"}
    assert not ContentType.objects.filter(
        app_label="incidents", model__in=["componentday", "componentlatencyhour"]
    ).exists()
