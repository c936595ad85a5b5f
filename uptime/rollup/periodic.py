"""The periodic rollup: what changed since the last run."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterator

from django.db.models import Max, Min
from django.utils import timezone

from incidents.models import Component, Incident, Page
from probes.models import ProbeResult

from ..models import ComponentDay
from .base import LATE_RESULTS, Summary, day_bounds, day_of
from .build import incidents_refresh, rollup_range

# The periodic rollup works through a backlog this many days per run, oldest first.
CATCH_UP_DAYS = 7
# With nothing rolled up yet it starts this far back (the public window), or at the
# oldest raw result if that is older.
FIRST_WINDOW_DAYS = 90


def uptime_rollup(*, now: dt.datetime | None = None) -> Summary:
    """Roll up what changed since the last run (periodic job).

    1. The days from the newest one not yet final to today (a backlog at most
       ``CATCH_UP_DAYS`` at a time, oldest first); with nothing rolled up yet, from
       the oldest raw result or ``FIRST_WINDOW_DAYS`` ago, whichever is earlier.
    2. The days spanned by incidents and maintenances created or changed since the
       last run, for their components: a back-dated incident reaches its days'
       bars (only their lists change), a back-dated maintenance its days' seconds.
    """
    now = now or timezone.now()
    tz = Page.get().tzinfo
    last_run = ComponentDay.objects.aggregate(at=Max("computed_at"))["at"]
    first = _first_open_day(now, tz)
    last = min(day_of(now, tz), first + dt.timedelta(days=CATCH_UP_DAYS - 1))
    summary = rollup_range(first=first, last=last, now=now)
    if last_run is None:
        return summary
    for incident, days, ids in _incident_days(last_run, first, now, tz):
        if incident.is_maintenance:
            summary.add(
                rollup_range(first=days[0], last=days[1], component_ids=ids, now=now)
            )
        else:
            incidents_refresh(first=days[0], last=days[1], component_ids=ids, now=now)
    return summary


def _first_open_day(now: dt.datetime, tz: zoneinfo.ZoneInfo) -> dt.date:
    today = day_of(now, tz)
    newest = ComponentDay.objects.aggregate(day=Max("day"))["day"]
    if newest is None:
        first = today - dt.timedelta(days=FIRST_WINDOW_DAYS - 1)
        oldest = ProbeResult.objects.aggregate(at=Min("started_at"))["at"]
        if oldest is not None:
            first = min(first, day_of(oldest, tz))
        return min(max(first, _first_existence(tz) or today), today)
    recent = (
        ComponentDay.objects.filter(day__gt=newest - dt.timedelta(days=CATCH_UP_DAYS))
        .values("day")
        .annotate(computed=Min("computed_at"))
        .order_by("day")
    )
    for row in recent:
        if row["computed"] < day_bounds(row["day"], tz)[1] + LATE_RESULTS:
            return min(row["day"], today)  # not final yet
    return min(newest + dt.timedelta(days=1), today)


def _first_existence(tz: zoneinfo.ZoneInfo) -> dt.date | None:
    parts = Component.objects.filter(is_group=False).aggregate(
        created=Min("created_at"), started=Min("start_date")
    )
    days = [day_of(parts["created"], tz)] if parts["created"] else []
    return min([*days, *filter(None, [parts["started"]])], default=None)


def _incident_days(
    since: dt.datetime, before: dt.date, now: dt.datetime, tz: zoneinfo.ZoneInfo
) -> Iterator[tuple[Incident, tuple[dt.date, dt.date], list[int]]]:
    """For each incident changed since ``since``: its days before ``before`` (those
    from ``before`` on were just rolled up) within the public window, and its
    components."""
    oldest = before - dt.timedelta(days=FIRST_WINDOW_DAYS)
    changed = Incident.objects.filter(updated_at__gte=since - LATE_RESULTS)
    for incident in changed.prefetch_related("components"):
        ids = [c.pk for c in incident.components.all() if not c.is_group]
        first = max(day_of(incident.started_at, tz), oldest)
        end = incident.resolved_at or now
        last = min(day_of(end, tz), before - dt.timedelta(days=1))
        if ids and first <= last:
            yield incident, (first, last), ids
