"""The results of a window, read once in time order and summed up: what each
component's days need (covered time, checks) and each hour's figures."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import Max, Q, QuerySet

from probes.kinds.base import Outcome
from probes.models import Probe, ProbeKindName, ProbeResult, RegionState

from .base import (
    COVER_INTERVALS,
    HOUR,
    UP_OUTCOMES,
    Epoch,
    Interval,
    Window,
    island_add,
    utc,
)


@dataclass(slots=True)
class Group:
    checks: int = 0
    up: int = 0
    latencies: list[float] = field(default_factory=list)


@dataclass
class Feeds:
    """What the results say: per component, the covered time, the day's checks and
    the probes that reported; per probe and region, and per component, each hour."""

    covered: dict[int, list[list[float]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    checks: dict[tuple[int, int], Group] = field(
        default_factory=lambda: defaultdict(Group)
    )
    reporters: dict[tuple[int, int], set[int]] = field(
        default_factory=lambda: defaultdict(set)
    )
    probe_hours: list[dict[str, Any]] = field(default_factory=list)
    latency_hours: list[dict[str, Any]] = field(default_factory=list)
    probes: dict[int, tuple[int, float, dt.datetime]] = field(default_factory=dict)
    enabled: dict[int, set[int]] = field(default_factory=dict)


def enabled_feeders(scope: set[int] | None) -> dict[int, set[int]]:
    """Component id -> the enabled probes feeding it (its own, or a journey step)."""
    feeders: dict[int, set[int]] = defaultdict(set)
    own = Probe.objects.filter(enabled=True).values_list("component_id", "pk")
    steps = RegionState.objects.filter(probe__enabled=True).values_list(
        "component_id", "probe_id"
    )
    if scope is not None:
        own, steps = (
            own.filter(component_id__in=scope),
            steps.filter(component_id__in=scope),
        )
    for component_id, probe_id in [*own, *steps.distinct()]:
        feeders[component_id].add(probe_id)
    return feeders


def results_read(
    window: Window, scope: set[int] | None, enabled: dict[int, set[int]]
) -> Feeds:
    """Read the window's results once, in time order, and sum them up.

    1. Seed each component's covered time with the last result before the window.
    2. For each result: its hour's groups (a finished hour is summed up as soon as
       the pass leaves it), its day's checks, and the covered time it extends.
       The loop is the rollup's hot path (1.44 million rows a day for 1,000
       monitors): plain tuples from the cursor, no per-row calls.
    """
    feeds = Feeds(enabled=enabled)
    # Not alert probes: they report only when an alert fires or resolves, so their
    # results cover no time, and a component they alone feed is told by its status.
    feeds.probes = {
        pk: (component_id, COVER_INTERVALS * interval, created_at)
        for pk, component_id, interval, created_at in Probe.objects.exclude(
            kind=ProbeKindName.ALERT
        ).values_list("pk", "component_id", "interval_seconds", "created_at")
    }
    probe_scope = _probe_scope(window, scope, enabled)
    _cover_from_before(feeds, window, scope, probe_scope)
    hour = window.start - window.start % HOUR
    by_probe: dict[tuple[int, str], Group] = defaultdict(Group)
    by_component: dict[int, Group] = defaultdict(Group)
    own = {pk: component_id for pk, (component_id, _, _) in feeds.probes.items()}
    cover = {pk: length for pk, (_, length, _) in feeds.probes.items()}
    covered, checks, reporters = feeds.covered, feeds.checks, feeds.reporters
    day, day_end = -1, window.start
    for probe_id, region, component_id, started, outcome, latency in _rows(
        window, scope, probe_scope
    ):
        if started >= hour + HOUR:
            _hour_flush(feeds, hour, by_probe, by_component)
            hour = started - started % HOUR
        if probe_id not in cover:
            continue  # a probe created since the pass began: the next run counts it
        component_id = component_id or own[probe_id]
        up = outcome in UP_OUTCOMES
        if probe_scope is None or probe_id in probe_scope:
            group = by_probe[(probe_id, region)]
            group.checks += 1
            group.up += up
            if latency is not None:
                group.latencies.append(latency)
        if scope is not None and component_id not in scope:
            continue
        group = by_component[component_id]
        group.checks += 1
        if latency is not None:
            group.latencies.append(latency)
        if not window.start <= started < window.end:
            continue
        if started >= day_end:
            day = window.day_at(started)
            day_end = window.starts[day + 1]
        group = checks[(component_id, day)]
        group.checks += 1
        group.up += up
        reporters[(component_id, day)].add(probe_id)
        islands = covered[component_id]
        if islands and started <= islands[-1][1]:
            islands[-1][1] = max(islands[-1][1], started + cover[probe_id])
        else:
            islands.append([started, started + cover[probe_id]])
    _hour_flush(feeds, hour, by_probe, by_component)
    return feeds


def _rows(
    window: Window, scope: set[int] | None, probe_scope: set[int] | None
) -> Iterator[tuple[Any, ...]]:
    """The results of the window's whole UTC hours, oldest first, as plain tuples
    read in batches from a server-side cursor (Django's iterator and its per-row
    converters cost more than the whole rollup)."""
    start = utc(window.start - window.start % HOUR)
    end = utc(window.end + (-window.end % HOUR))  # the end of its last hour
    query = (
        _ran(start, end, scope, probe_scope)
        .order_by("started_at")
        .values_list(
            "probe_id",
            "region",
            "component_id",
            Epoch("started_at"),
            "outcome",
            "latency_ms",
        )
    )
    sql, params = query.query.sql_with_params()
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(20_000):
            yield from batch


def _ran(
    start: dt.datetime,
    end: dt.datetime,
    scope: set[int] | None,
    probe_scope: set[int] | None,
) -> QuerySet[ProbeResult]:
    """The results that ran (a skipped step measured nothing) in [start, end)."""
    results = ProbeResult.objects.filter(started_at__gte=start, started_at__lt=end)
    results = results.exclude(outcome=Outcome.SKIPPED)
    if scope is not None:
        results = results.filter(
            Q(component_id__in=scope) | Q(probe_id__in=probe_scope or ())
        )
    return results


def _probe_scope(
    window: Window, scope: set[int] | None, enabled: dict[int, set[int]]
) -> set[int] | None:
    """The probes whose hours a rebuild of some components rewrites: those feeding
    them now, and those that reported on them in the window."""
    if scope is None:
        return None
    start = utc(window.start - window.start % HOUR)
    end = utc(window.end + HOUR)
    reported = ProbeResult.objects.filter(
        component_id__in=scope, started_at__gte=start, started_at__lt=end
    ).values_list("probe_id", flat=True)
    own = Probe.objects.filter(component_id__in=scope).values_list("pk", flat=True)
    return {*reported.distinct(), *own, *(p for c in scope for p in enabled.get(c, ()))}


def _cover_from_before(
    feeds: Feeds, window: Window, scope: set[int] | None, probe_scope: set[int] | None
) -> None:
    """A result shortly before the window still covers its first minutes: the last
    one of each probe and component, read per interval so a daily probe does not make
    the others read two days back."""
    by_cover: dict[float, list[int]] = defaultdict(list)
    for pk, (_, cover, _) in feeds.probes.items():
        by_cover[cover].append(pk)
    start = utc(window.start)
    seeds: dict[int, list[Interval]] = defaultdict(list)
    for cover, probe_ids in by_cover.items():
        last = (
            _ran(start - dt.timedelta(seconds=cover), start, scope, probe_scope)
            .filter(probe_id__in=probe_ids)
            .order_by()
            .values("probe_id", "component_id")
            .annotate(last=Max(Epoch("started_at")))
        )
        for row in last:
            if row["probe_id"] not in feeds.probes:
                continue
            component_id = row["component_id"] or feeds.probes[row["probe_id"]][0]
            if scope is None or component_id in scope:
                seeds[component_id].append((row["last"], row["last"] + cover))
    for component_id, intervals in seeds.items():
        for begin, end in sorted(intervals):
            island_add(feeds.covered[component_id], begin, end - begin)


def _hour_flush(
    feeds: Feeds,
    hour: float,
    by_probe: dict[tuple[int, str], Group],
    by_component: dict[int, Group],
) -> None:
    at = utc(hour)
    for (probe_id, region), group in by_probe.items():
        feeds.probe_hours.append(
            {
                "probe_id": probe_id,
                "region": region,
                "hour": at,
                "checks_up": group.up,
                **_hour_figures(group),
            }
        )
    for component_id, group in by_component.items():
        feeds.latency_hours.append(
            {"component_id": component_id, "hour": at, **_hour_figures(group)}
        )
    by_probe.clear()
    by_component.clear()


def _hour_figures(group: Group) -> dict[str, Any]:
    p50, p95, p99 = percentiles(group.latencies, (0.5, 0.95, 0.99))
    return {"checks": group.checks, "p50_ms": p50, "p95_ms": p95, "p99_ms": p99}


def percentiles(values: list[float], fractions: Iterable[float]) -> list[float | None]:
    """Linear interpolation between the closest ranks, as ``percentile_cont``."""
    if not values:
        return [None for _ in fractions]
    ordered = sorted(values)
    found: list[float | None] = []
    for fraction in fractions:
        position = (len(ordered) - 1) * fraction
        low = int(position)
        high = min(low + 1, len(ordered) - 1)
        value = ordered[low] + (ordered[high] - ordered[low]) * (position - low)
        found.append(round(value, 3))
    return found
