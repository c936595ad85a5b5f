"""The record's figures, defined once: what counts, what is downtime, what a day was.

Everything that shows a component's record (the public bars, the component page, the
staff report) reads its figures here, from the ``ComponentDay`` and
``ComponentLatencyHour`` rollups.

- Counted time is the part of a day the monitor saw outside maintenance: scheduled
  maintenance and "no data" (no probe result, or the component did not exist yet)
  count neither as uptime nor as downtime.
- Downtime weighs each state as Statuspage does: a major outage counts in full, a
  partial outage for 30 % of its time, degraded performance not at all.
- Availability is ``1 - downtime / counted``, a fraction; ``None`` when nothing was
  counted, which is shown as "No data", never as 100 %.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Container, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from django.db import connections
from django.db.models import CharField, Func, TextField, Value
from django.db.models.functions import Cast, NullIf

from incidents.models import ComponentStatus

from .models import ComponentDay, ComponentLatencyHour

# How much of each state's time is downtime (Statuspage's convention).
DOWNTIME_WEIGHTS: Mapping[str, float] = {
    "major_seconds": 1.0,
    "partial_seconds": 0.3,
    "degraded_seconds": 0.0,
}
# The one weight that is neither all nor nothing, for texts that explain it.
PARTIAL_OUTAGE_WEIGHT = DOWNTIME_WEIGHTS["partial_seconds"]
NO_DATA = "no_data"
WINDOW_DAYS = 90
SECONDS_FIELDS = (
    "operational_seconds",
    "degraded_seconds",
    "partial_seconds",
    "major_seconds",
    "maintenance_seconds",
    "no_data_seconds",
)


def day_bounds(day: dt.date, tz: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
    """A day of the page's time zone: its start and end, in UTC (23 to 25 hours
    apart when daylight saving time changes)."""
    start = dt.datetime.combine(day, dt.time(), tzinfo=tz).astimezone(dt.UTC)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=tz)
    return start, end.astimezone(dt.UTC)


class DayFigures(Protocol):
    """A day of a component's record: a ``ComponentDay``, or a ``Day`` read in bulk."""

    @property
    def day(self) -> dt.date: ...
    @property
    def operational_seconds(self) -> int: ...
    @property
    def degraded_seconds(self) -> int: ...
    @property
    def partial_seconds(self) -> int: ...
    @property
    def major_seconds(self) -> int: ...
    @property
    def maintenance_seconds(self) -> int: ...
    @property
    def no_data_seconds(self) -> int: ...


@dataclass(slots=True, eq=False)
class Day:
    """A day's figures as the public page reads them: a light stand-in for a
    ``ComponentDay``, tens of thousands of which are read at once. A day without a
    row is ``Day(day)``: nothing counted, no incidents.

    Compared by identity, and never changed once made: ``windows`` hands the same
    ``Day`` to every component with the same figures on the same date (most days of
    most components), so drawing it once is enough. (Not a frozen dataclass: making
    one costs twice as much, and thousands are made per render.)
    """

    day: dt.date
    operational_seconds: int = 0
    degraded_seconds: int = 0
    partial_seconds: int = 0
    major_seconds: int = 0
    maintenance_seconds: int = 0
    no_data_seconds: int = 0
    # [{"id": public_id, "name": ..., "impact": ...}], as ``ComponentDay.incidents``.
    incidents: Sequence[Mapping[str, str]] = ()


def counted_seconds(day: DayFigures) -> int:
    """The seconds the monitor saw outside maintenance: neither maintenance nor no
    data counts, either way."""
    return (
        day.operational_seconds
        + day.degraded_seconds
        + day.partial_seconds
        + day.major_seconds
    )


def downtime_seconds(day: DayFigures) -> float:
    return (
        day.major_seconds * DOWNTIME_WEIGHTS["major_seconds"]
        + day.partial_seconds * DOWNTIME_WEIGHTS["partial_seconds"]
        + day.degraded_seconds * DOWNTIME_WEIGHTS["degraded_seconds"]
    )


def availability(days: Iterable[DayFigures]) -> float | None:
    """The share of counted time that was up, from 0 to 1; None if nothing counted."""
    counted = 0
    down = 0.0
    for day in days:
        counted += counted_seconds(day)
        down += downtime_seconds(day)
    return _share_up(counted, down)


def _share_up(counted: int, down: float) -> float | None:
    return None if counted == 0 else max(0.0, 1 - down / counted)


def worst_status(day: DayFigures) -> str:
    """The worst state the day saw: a component status, or ``NO_DATA`` for a day
    with nothing but no data (or no row at all).

    Major outage > partial outage > degraded performance > maintenance >
    operational: a minute of outage colours the whole day.
    """
    if day.major_seconds:
        return ComponentStatus.MAJOR_OUTAGE
    if day.partial_seconds:
        return ComponentStatus.PARTIAL_OUTAGE
    if day.degraded_seconds:
        return ComponentStatus.DEGRADED_PERFORMANCE
    if day.maintenance_seconds:
        return ComponentStatus.UNDER_MAINTENANCE
    if day.operational_seconds:
        return ComponentStatus.OPERATIONAL
    return NO_DATA


def percent(value: float | None) -> str:
    """ "99.95 %", "100 %" or "No data". Rounded down: a day with any downtime never
    reads 100 %."""
    if value is None:
        return "No data"
    if value >= 1:
        return "100 %"
    hundredths = int(value * 10_000)  # floors, for the non-negative values we get
    return f"{hundredths / 100:.2f} %"


# The window of the public bars -----------------------------------------------------


@dataclass(frozen=True)
class Window:
    """A component's last ``WINDOW_DAYS`` days, oldest first; missing days are
    empty. ``counted`` and ``downtime`` are the sums of its days' figures."""

    days: list[Day]
    counted: int = 0
    downtime: float = 0.0

    @property
    def availability(self) -> float | None:
        return _share_up(self.counted, self.downtime)


def window_dates(today: dt.date, days: int = WINDOW_DAYS) -> list[dt.date]:
    first = today - dt.timedelta(days=days - 1)
    return [first + dt.timedelta(days=n) for n in range(days)]


def windows(
    component_ids: Iterable[int],
    *,
    today: dt.date,
    days: int = WINDOW_DAYS,
    incidents_hidden: Container[str] = (),
) -> dict[int, Window]:
    """Each component's window ending ``today`` (a day of the page's time zone), in
    one query whatever the number of components.

    A thousand components make 90,000 rows, so each row comes as one text key (its
    date and seconds) and its incidents as text: converting nine columns of 90,000
    rows would cost more than all the rest. A key seen before (the same figures on
    the same date, as most days of most components) is not parsed again: its
    ``Day`` and sums are shared. A day never names the ``incidents_hidden`` (by public
    id): a page does not name another page's incident.
    """
    ids = list(component_ids)
    dates = window_dates(today, days)
    position = {date: n for n, date in enumerate(dates)}
    empty = [Day(date) for date in dates]
    found = {pk: list(empty) for pk in ids}
    counted = dict.fromkeys(ids, 0)
    down = dict.fromkeys(ids, 0.0)
    shared: dict[str, tuple[int, Day, int, float]] = {}
    for component_id, key, incidents in _day_rows(ids, dates[0], today):
        entry = shared.get(key) if incidents is None else None
        if entry is None:
            entry = _read_day(key, incidents, position, incidents_hidden)
            if incidents is None:
                shared[key] = entry
        n, day, day_counted, day_down = entry
        found[component_id][n] = day
        counted[component_id] += day_counted
        down[component_id] += day_down
    return {pk: Window(found[pk], counted[pk], down[pk]) for pk in ids}


_BATCH = 2_000


class _Joined(Func):
    """Its arguments as one comma-separated text: one ``CONCAT_WS`` call, which
    PostgreSQL computes faster than chained concatenations; ``||`` on SQLite."""

    template = "CONCAT_WS(',', %(expressions)s)"
    output_field = CharField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler, connection, template="%(expressions)s", arg_joiner=" || ',' || "
        )


def _day_rows(ids: list[int], first: dt.date, last: dt.date) -> Iterator[Any]:
    """(component id, "date,seconds,...", incidents JSON text or None if empty).

    Fetched a few thousand at a time rather than as one list: rows that die young
    are freed at once, where 90,000 kept to the end would each time push Python
    into a full garbage collection of the whole process.
    """
    if not ids:
        return
    text: Any = TextField()
    incidents = NullIf(Cast("incidents", text), Value("[]", output_field=text))
    rows = (
        ComponentDay.objects.filter(component_id__in=ids, day__gte=first, day__lte=last)
        .order_by()  # no join for the model's ordering by component
        .annotate(key=_Joined("day", *SECONDS_FIELDS), incidents_text=incidents)
        .values_list("component_id", "key", "incidents_text")
    )
    sql, params = rows.query.sql_with_params()
    with connections[rows.db].cursor() as cursor:
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(_BATCH):
            yield from batch


def _read_day(
    key: str,
    incidents: str | None,
    position: Mapping[dt.date, int],
    incidents_hidden: Container[str] = (),
) -> tuple[int, Day, int, float]:
    date, *seconds = key.split(",")
    operational, degraded, partial, major, maintenance, no_data = map(int, seconds)
    day = Day(
        dt.date.fromisoformat(date),
        operational,
        degraded,
        partial,
        major,
        maintenance,
        no_data,
        [
            incident
            for incident in (json.loads(incidents) if incidents else ())
            if incident.get("id") not in incidents_hidden
        ],
    )
    return position[day.day], day, counted_seconds(day), downtime_seconds(day)


# Response times ----------------------------------------------------------------------


@dataclass(frozen=True)
class LatencyRange:
    key: str
    label: str
    span: dt.timedelta
    bucket: dt.timedelta


HOUR = dt.timedelta(hours=1)
# 24 hours and 7 days show each hour as measured (24 and 168 points); 30 days groups
# hours by six (120 points), which a chart a few hundred pixels wide can still show.
LATENCY_RANGES = (
    LatencyRange("24h", "Last 24 hours", dt.timedelta(hours=24), HOUR),
    LatencyRange("7d", "Last 7 days", dt.timedelta(days=7), HOUR),
    LatencyRange("30d", "Last 30 days", dt.timedelta(days=30), 6 * HOUR),
)


@dataclass(frozen=True)
class LatencyPoint:
    """One bucket of a series; ``None`` figures where no hour of it has data."""

    start: dt.datetime
    checks: int = 0
    p50_ms: float | None = None
    p95_ms: float | None = None


@dataclass(frozen=True)
class LatencySeries:
    range: LatencyRange
    start: dt.datetime
    end: dt.datetime
    points: list[LatencyPoint]

    @property
    def has_data(self) -> bool:
        return any(point.p50_ms is not None for point in self.points)


class _Hour(NamedTuple):
    hour: dt.datetime
    checks: int
    p50_ms: float | None
    p95_ms: float | None


def latency_series(
    component_ids: Iterable[int], *, now: dt.datetime
) -> dict[int, list[LatencySeries]]:
    """Each component's series for every ``LATENCY_RANGES``, in one query."""
    ids = list(component_ids)
    end = _bucket_start(now, HOUR) + HOUR
    since = (
        end
        - max(r.span for r in LATENCY_RANGES)
        - max(r.bucket for r in LATENCY_RANGES)
    )
    hours: dict[int, list[_Hour]] = {pk: [] for pk in ids}
    if ids:
        rows = ComponentLatencyHour.objects.filter(
            component_id__in=ids, hour__gte=since, hour__lt=end
        ).values_list("component_id", "hour", "checks", "p50_ms", "p95_ms")
        for component_id, hour, checks, p50, p95 in rows:
            hours[component_id].append(_Hour(hour, checks, p50, p95))
    return {
        pk: [_series(found, r, now) for r in LATENCY_RANGES]
        for pk, found in hours.items()
    }


def _bucket_start(moment: dt.datetime, size: dt.timedelta) -> dt.datetime:
    """Buckets are aligned on the Unix epoch, in UTC: whole hours, 00:00, 06:00..."""
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return epoch + (moment - epoch) // size * size


def _series(
    hours: list[_Hour], range_: LatencyRange, now: dt.datetime
) -> LatencySeries:
    """The buckets of ``range_`` ending with the one that holds ``now``."""
    end = _bucket_start(now, range_.bucket) + range_.bucket
    start = end - range_.span
    grouped: dict[dt.datetime, list[_Hour]] = {}
    for hour in hours:
        if start <= hour.hour < end:
            grouped.setdefault(_bucket_start(hour.hour, range_.bucket), []).append(hour)
    count = range_.span // range_.bucket
    points = []
    for n in range(count):
        bucket = start + n * range_.bucket
        points.append(combine_hours(bucket, grouped.get(bucket, [])))
    return LatencySeries(range_, start, end, points)


def combine_hours(start: dt.datetime, hours: Sequence[_Hour]) -> LatencyPoint:
    """One bucket from its hours. Percentiles cannot be averaged, so:

    - p95 is the highest hourly p95. It is an upper bound of the bucket's true p95
      (at most 5 % of each hour's checks, so of all of them, are slower), and a bad
      hour is never averaged away.
    - p50 is the median of the hourly p50s, each weighted by its checks. The true
      median lies between the lowest and the highest hourly p50, as this one does.

    A bucket of one hour gives that hour's own figures.
    """
    measured = [h for h in hours if h.checks and h.p50_ms is not None]
    if not measured:
        return LatencyPoint(start)
    checks = sum(h.checks for h in measured)
    by_p50 = sorted(measured, key=lambda h: h.p50_ms or 0.0)
    seen = 0
    p50 = by_p50[-1].p50_ms
    for hour in by_p50:
        seen += hour.checks
        if seen * 2 >= checks:
            p50 = hour.p50_ms
            break
    p95s = [h.p95_ms for h in measured if h.p95_ms is not None]
    return LatencyPoint(start, checks, p50, max(p95s) if p95s else None)
