"""What the rollup's parts share: its constants, days and windows of time."""

from __future__ import annotations

import bisect
import datetime as dt
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import FloatField, Func

from incidents.models import ComponentStatus
from probes.kinds.base import Outcome

from ..selectors import day_bounds

COVER_INTERVALS = 2
# A result is stored at most this long after it started (a batch is killed after
# 150 s), so a day rolled up this long after its end misses none of its results.
LATE_RESULTS = dt.timedelta(minutes=10)
HOUR = 3600
UP_OUTCOMES = frozenset({Outcome.UP.value, Outcome.DEGRADED.value})
STATUS_FIELDS: dict[str, str] = {
    ComponentStatus.OPERATIONAL: "operational_seconds",
    ComponentStatus.DEGRADED_PERFORMANCE: "degraded_seconds",
    ComponentStatus.PARTIAL_OUTAGE: "partial_seconds",
    ComponentStatus.MAJOR_OUTAGE: "major_seconds",
    ComponentStatus.UNDER_MAINTENANCE: "maintenance_seconds",
}

Interval = tuple[float, float]


class Epoch(Func):
    """Seconds since 1970 as a float: far cheaper to read in bulk than datetimes."""

    output_field = FloatField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler, connection, template="EXTRACT(EPOCH FROM %(expressions)s)::float8"
        )

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # Julian days carry float noise: 01:00:00 would read as 00:59:59.99999.
        return self.as_sql(
            compiler,
            connection,
            template="round((julianday(%(expressions)s) - 2440587.5) * 86400.0, 3)",
        )


@dataclass
class Summary:
    """What a rollup wrote: rows of each kind, and the days it kept as they were
    because their results were pruned."""

    days: int = 0
    probe_hours: int = 0
    latency_hours: int = 0
    kept: int = 0
    first: dt.date | None = None
    last: dt.date | None = None

    def add(self, other: Summary) -> None:
        self.days += other.days
        self.probe_hours += other.probe_hours
        self.latency_hours += other.latency_hours
        self.kept += other.kept
        self.first = min(filter(None, (self.first, other.first)), default=None)
        self.last = max(filter(None, (self.last, other.last)), default=None)


def day_of(moment: dt.datetime, tz: zoneinfo.ZoneInfo) -> dt.date:
    return moment.astimezone(tz).date()


def retention_horizon(
    now: dt.datetime, tz: zoneinfo.ZoneInfo, days: int
) -> dt.datetime:
    """The start of the local day ``days`` ago: results before it may be pruned."""
    return day_bounds(day_of(now, tz) - dt.timedelta(days=days), tz)[0]


def days_between(first: dt.date, last: dt.date) -> Iterator[dt.date]:
    day = first
    while day <= last:
        yield day
        day += dt.timedelta(days=1)


def island_add(islands: list[list[float]], start: float, length: float) -> None:
    """Add [start, start + length) to sorted, disjoint islands; starts never go back."""
    if islands and start <= islands[-1][1]:
        islands[-1][1] = max(islands[-1][1], start + length)
    else:
        islands.append([start, start + length])


def utc(moment: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(moment, dt.UTC)


@dataclass
class Window:
    """The time one rollup covers, as seconds since 1970: its days (the last one
    until now at most) and the moment it runs."""

    days: list[dt.date]
    starts: list[float]  # each day's start, then the end of the last day
    now: float
    tz: zoneinfo.ZoneInfo

    @classmethod
    def of(cls, days: list[dt.date], now: dt.datetime, tz: zoneinfo.ZoneInfo) -> Window:
        starts = [day_bounds(day, tz)[0].timestamp() for day in days]
        starts.append(day_bounds(days[-1], tz)[1].timestamp())
        return cls(days, starts, now.timestamp(), tz)

    @property
    def start(self) -> float:
        return self.starts[0]

    @property
    def end(self) -> float:
        return min(self.starts[-1], self.now)

    def day_at(self, moment: float) -> int:
        return bisect.bisect_right(self.starts, moment) - 1

    def day_window(self, index: int) -> Interval:
        return self.starts[index], min(self.starts[index + 1], self.now)
