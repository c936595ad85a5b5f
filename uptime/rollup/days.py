"""A component's days: its status, maintenance and incidents over a window, cut
together with what the results cover into seconds of each kind."""

from __future__ import annotations

import bisect
import datetime as dt
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q, QuerySet

from incidents.models import (
    ACTIVE_MAINTENANCE_STATUSES,
    Component,
    ComponentStatus,
    ComponentStatusChange,
    Incident,
    IncidentUpdate,
)

from ..models import ComponentDay
from .base import STATUS_FIELDS, Interval, Window, day_bounds, island_add, utc
from .results import Feeds, Group


def days_build(
    components: list[Component], window: Window, feeds: Feeds, now: dt.datetime
) -> list[ComponentDay]:
    """Each component's rows for the window's days it existed in."""
    timelines = _timelines(components, window)
    maintenance = _maintenance(window)
    incidents = incidents_by_component(window)
    return [
        row
        for component in components
        for row in _component_days(
            component,
            window,
            timelines[component.pk],
            maintenance.get(component.pk, []),
            incidents.get(component.pk, []),
            feeds,
            now,
        )
    ]


def _timelines(
    components: list[Component], window: Window
) -> dict[int, tuple[list[float], list[str]]]:
    """Per component: the times its status changed in the window and the status from
    each (the first from the beginning of time)."""
    timelines = {
        c.pk: (
            [float("-inf")],
            [c.status_before or c.first_old_status or c.status],  # type: ignore[attr-defined]
        )
        for c in components
    }
    changes = ComponentStatusChange.objects.filter(
        component_id__in=timelines,
        created_at__gte=utc(window.start),
        created_at__lt=utc(window.end),
    ).order_by("created_at", "id")
    for component_id, at, status in changes.values_list(
        "component_id", "created_at", "new_status"
    ):
        times, statuses = timelines[component_id]
        times.append(at.timestamp())
        statuses.append(status)
    return timelines


def _overlapping(queryset: QuerySet[Incident], window: Window) -> QuerySet[Incident]:
    start = utc(window.start)
    end = utc(window.end)
    return (
        queryset.filter(started_at__lt=end)
        .filter(Q(resolved_at__isnull=True) | Q(resolved_at__gt=start))
        .prefetch_related("components")
        .order_by("started_at", "id")
    )


def _maintenance(window: Window) -> dict[int, list[Interval]]:
    """Per component: the merged time of the maintenances that really started."""
    started = IncidentUpdate.objects.filter(
        incident=OuterRef("pk"), status__in=ACTIVE_MAINTENANCE_STATUSES
    )
    spans: dict[int, list[Interval]] = defaultdict(list)
    for maintenance in _overlapping(
        Incident.objects.maintenances().filter(Exists(started)), window
    ):
        end = maintenance.resolved_at.timestamp() if maintenance.resolved_at else None
        span = (maintenance.started_at.timestamp(), end or window.now)
        for component in maintenance.components.all():
            spans[component.pk].append(span)
    return {pk: _merged(intervals) for pk, intervals in spans.items()}


Listed = list[tuple[Interval, dict[str, str]]]


def incidents_by_component(window: Window) -> dict[int, Listed]:
    """Per component: the incidents that touched it in the window, oldest first."""
    found: dict[int, Listed] = defaultdict(list)
    for incident in _overlapping(Incident.objects.incidents(), window):
        end = incident.resolved_at.timestamp() if incident.resolved_at else window.now
        entry = {
            "id": incident.public_id,
            "name": incident.name,
            "impact": incident.impact,
        }
        for component in incident.components.all():
            found[component.pk].append(((incident.started_at.timestamp(), end), entry))
    return found


def _merged(intervals: list[Interval]) -> list[Interval]:
    merged: list[list[float]] = []
    for start, end in sorted(intervals):
        island_add(merged, start, end - start)
    return [(start, end) for start, end in merged]


@dataclass(frozen=True)
class Spans:
    """Sorted, disjoint intervals, asked whether they hold a moment."""

    starts: list[float]
    ends: list[float]

    @classmethod
    def of(cls, intervals: Iterable[Iterable[float]]) -> Spans:
        pairs = [tuple(interval) for interval in intervals]
        return cls([p[0] for p in pairs], [p[1] for p in pairs])

    def holds(self, moment: float) -> bool:
        index = bisect.bisect_right(self.starts, moment) - 1
        return index >= 0 and moment < self.ends[index]

    def edges(self) -> Iterator[float]:
        yield from self.starts
        yield from self.ends


def _existence(component: Component, tz: zoneinfo.ZoneInfo) -> Interval:
    if component.start_date is not None:
        since = day_bounds(component.start_date, tz)[0].timestamp()
    else:
        since = component.created_at.timestamp()
    until = component.deleted_at.timestamp() if component.deleted_at else float("inf")
    return since, until


@dataclass(frozen=True)
class Record:
    """Everything a component's day is cut from."""

    exists: Interval
    times: list[float]  # when the status changed (the first: the beginning of time)
    statuses: list[str]  # the status from each of those times
    maintenance: Spans
    covered: Spans | None  # None: not fed by probes that day
    fed_since: float

    def edges(self) -> Iterator[float]:
        yield from self.exists
        yield from self.times[1:]
        yield from self.maintenance.edges()
        if self.covered is not None:
            yield self.fed_since
            yield from self.covered.edges()

    def field_at(self, moment: float) -> str:
        status = self.statuses[bisect.bisect_right(self.times, moment) - 1]
        if not self.exists[0] <= moment < self.exists[1]:
            return "no_data_seconds"
        if status == ComponentStatus.UNDER_MAINTENANCE or self.maintenance.holds(
            moment
        ):
            return "maintenance_seconds"
        if self.covered is not None and moment >= self.fed_since:
            if not self.covered.holds(moment):
                return "no_data_seconds"
        return STATUS_FIELDS[status]

    def seconds(self, start: float, end: float) -> dict[str, int]:
        """Cut [start, end) at every change of anything, in whole seconds, and give
        each piece to one field: they add up to the elapsed seconds."""
        first, last = round(start), int(end)
        inside = (round(edge) for edge in self.edges() if first < edge < last)
        cuts = sorted({first, last, *inside})
        totals = dict.fromkeys([*STATUS_FIELDS.values(), "no_data_seconds"], 0)
        for low, high in zip(cuts, cuts[1:], strict=False):
            totals[self.field_at((low + high) / 2)] += high - low
        return totals


def _component_days(
    component: Component,
    window: Window,
    timeline: tuple[list[float], list[str]],
    maintenance: list[Interval],
    incidents: Listed,
    feeds: Feeds,
    now: dt.datetime,
) -> Iterator[ComponentDay]:
    exists = _existence(component, window.tz)
    covered = Spans.of(feeds.covered.get(component.pk, []))
    for index, day in enumerate(window.days):
        start, end = window.day_window(index)
        if end <= start or exists[1] <= start or exists[0] >= end:
            continue
        fed = feeds.enabled.get(component.pk, set())
        fed = fed | feeds.reporters.get((component.pk, index), set())
        fed_since = min(
            (feeds.probes[p][2].timestamp() for p in fed if p in feeds.probes),
            default=None,
        )
        record = Record(
            exists,
            *timeline,
            Spans.of(maintenance),
            covered if fed_since is not None else None,
            fed_since or 0.0,
        )
        checks = feeds.checks.get((component.pk, index), Group())
        yield ComponentDay(
            component=component,
            day=day,
            **record.seconds(start, end),
            checks=checks.checks,
            checks_up=checks.up,
            incidents=day_incidents(incidents, window, index),
            computed_at=now,
        )


def day_incidents(
    incidents: Listed, window: Window, index: int
) -> list[dict[str, str]]:
    """The entries of the incidents that overlapped the window's day ``index``."""
    start, end = window.starts[index], window.starts[index + 1]
    return [
        entry for (begin, until), entry in incidents if begin < end and until > start
    ]
