"""Rebuild a range of days, and the hours they span: read, sum up, write."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from incidents.events import Kind, announce_quietly
from incidents.models import Component, ComponentStatusChange, Page
from probes.models import ProbeHour

from ..models import ComponentDay, ComponentLatencyHour
from ..selectors import SECONDS_FIELDS
from .base import (
    Summary,
    Window,
    day_of,
    days_between,
    utc,
)
from .days import day_incidents, days_build, incidents_by_component
from .results import Feeds, enabled_feeders, results_read

# A rebuild reads and writes this many days at a time, each in its own transaction:
# one day of 1,000 monitors holds about 15 MB of figures in memory.
CHUNK_DAYS = 1
WRITE_BATCH = 2000
DAY_FIELDS = (
    *SECONDS_FIELDS,
    "checks",
    "checks_up",
    "incidents",
    "computed_at",
)
HOUR_FIELDS = ("checks", "checks_up", "p50_ms", "p95_ms", "p99_ms")


def rollup_range(
    *,
    first: dt.date,
    last: dt.date,
    component_ids: Iterable[int] | None = None,
    now: dt.datetime | None = None,
) -> Summary:
    """Rebuild the days ``first``..``last`` (of the page's time zone, up to today) of
    the given components (default: all), with the hours they span; idempotent.
    Works ``CHUNK_DAYS`` at a time, each chunk in one transaction, and asks for a
    snapshot publish (``Kind.HISTORY_CHANGED``) once each is committed."""
    now = now or timezone.now()
    tz = Page.get().tzinfo
    days = list(days_between(first, min(last, day_of(now, tz))))
    scope = None if component_ids is None else set(component_ids)
    summary = Summary()
    for start in range(0, len(days), CHUNK_DAYS):
        window = Window.of(days[start : start + CHUNK_DAYS], now, tz)
        summary.add(_rollup_window(window, scope, now))
    return summary


def _rollup_window(window: Window, scope: set[int] | None, now: dt.datetime) -> Summary:
    components = _components(window, scope)
    # Only components that existed then are read for (no groups); the others' days
    # in the scope are still deleted.
    read = None if scope is None else {component.pk for component in components}
    feeds = (
        results_read(window, read, enabled_feeders(read)) if read != set() else Feeds()
    )
    rows = days_build(components, window, feeds, now)
    with transaction.atomic():
        summary = _days_write(rows, window, scope)
        summary.probe_hours = _hours_write(
            ProbeHour, feeds.probe_hours, ("probe_id", "region", "hour")
        )
        summary.latency_hours = _hours_write(
            ComponentLatencyHour, feeds.latency_hours, ("component_id", "hour")
        )
        # Every record changed: the snapshot's listener republishes them on commit.
        announce_quietly(Kind.HISTORY_CHANGED)
    summary.first, summary.last = window.days[0], window.days[-1]
    return summary


def incidents_refresh(
    *,
    first: dt.date,
    last: dt.date,
    component_ids: Iterable[int],
    now: dt.datetime | None = None,
) -> int:
    """Rewrite only the incident lists of the stored days ``first``..``last`` of
    these components: an incident edited or back-dated changes its days' lists, not
    their seconds (status changes are recorded when made). Returns the days changed.
    """
    now = now or timezone.now()
    tz = Page.get().tzinfo
    days = list(days_between(first, min(last, day_of(now, tz))))
    if not days:
        return 0
    window = Window.of(days, now, tz)
    incidents = incidents_by_component(window)
    index = {day: number for number, day in enumerate(days)}
    changed = []
    stored = ComponentDay.objects.filter(
        component_id__in=component_ids, day__gte=days[0], day__lte=days[-1]
    ).order_by()
    for row in stored:
        listed = day_incidents(
            incidents.get(row.component_id, []), window, index[row.day]
        )
        if row.incidents != listed:
            row.incidents = listed
            changed.append(row)
    with transaction.atomic():
        ComponentDay.objects.bulk_update(changed, ["incidents"], batch_size=WRITE_BATCH)
        announce_quietly(Kind.HISTORY_CHANGED)
    return len(changed)


def _components(window: Window, scope: set[int] | None) -> list[Component]:
    """The components that existed during the window (groups have no record), with
    their status when it began and before their first change."""
    start, end = utc(window.start), utc(window.end)
    changes = ComponentStatusChange.objects.filter(component=OuterRef("pk"))
    before = changes.filter(created_at__lt=start).order_by("-created_at", "-id")
    earliest = changes.order_by("created_at", "id")
    found = (
        Component.objects.filter(is_group=False)
        .filter(Q(deleted_at__isnull=True) | Q(deleted_at__gt=start))
        .filter(Q(created_at__lt=end) | Q(start_date__lte=window.days[-1]))
        .annotate(
            status_before=Subquery(before.values("new_status")[:1]),
            first_old_status=Subquery(earliest.values("old_status")[:1]),
        )
        .order_by("pk")
    )
    if scope is not None:
        found = found.filter(pk__in=scope)
    return list(found)


def _days_write(
    rows: list[ComponentDay], window: Window, scope: set[int] | None
) -> Summary:
    """Upsert the days, but never one that would lose checks (see ``_unpruned``),
    and delete the days of components that no longer existed then."""
    existing = ComponentDay.objects.filter(
        day__gte=window.days[0], day__lte=window.days[-1]
    ).order_by()
    if scope is not None:
        existing = existing.filter(component_id__in=scope)
    before = {
        (component_id, day): (pk, checks)
        for pk, component_id, day, checks in existing.values_list(
            "pk", "component_id", "day", "checks"
        )
    }
    written = _unpruned(
        rows,
        lambda row: (row.component_id, row.day),
        {key: checks for key, (_, checks) in before.items()},
    )
    ComponentDay.objects.bulk_create(
        written,
        batch_size=WRITE_BATCH,
        update_conflicts=True,
        unique_fields=("component", "day"),
        update_fields=DAY_FIELDS,
    )
    produced = {(row.component_id, row.day) for row in rows}
    stale = [pk for key, (pk, _) in before.items() if key not in produced]
    ComponentDay.objects.filter(pk__in=stale).delete()
    return Summary(days=len(written), kept=len(rows) - len(written))


def _unpruned(rows: list[Any], key: Any, checks_before: dict[Any, int]) -> list[Any]:
    """The rows to write: not those with fewer checks than their stored row. Raw
    results are only ever deleted by pruning, so fewer now means some were pruned,
    and the row made from all of them is the one to keep."""
    return [row for row in rows if checks_before.get(key(row), 0) <= row.checks]


def _hours_write(
    model: type[ProbeHour] | type[ComponentLatencyHour],
    rows: list[dict[str, Any]],
    columns: tuple[str, ...],
) -> int:
    """Upsert the hours, but never one that would lose checks. An hour without
    results now is left as it is: only pruning takes results away."""
    if not rows:
        return 0
    manager: Any = model.objects
    hours = [row["hour"] for row in rows]
    existing = manager.order_by().filter(
        hour__gte=min(hours),
        hour__lte=max(hours),
        **{
            f"{column}__in": {row[column] for row in rows}
            for column in columns
            if column != "hour"
        },
    )
    checks_before = {
        tuple(values[:-1]): values[-1]
        for values in existing.values_list(*columns, "checks")
    }
    written = _unpruned(
        [model(**row) for row in rows],
        lambda row: tuple(getattr(row, column) for column in columns),
        checks_before,
    )
    manager.bulk_create(
        written,
        batch_size=WRITE_BATCH,
        update_conflicts=True,
        unique_fields=[column.removesuffix("_id") for column in columns],
        update_fields=[name for name in HOUR_FIELDS if name in rows[0]],
    )
    return len(written)
