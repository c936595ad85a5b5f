"""Pruning: raw results older than the retention window go once rolled up."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Max, Min, Q
from django.utils import timezone

from incidents.models import Page
from probes.models import Probe, ProbeResult

from ..models import ComponentDay
from .base import (
    COVER_INTERVALS,
    LATE_RESULTS,
    day_bounds,
    day_of,
    days_between,
    retention_horizon,
)


@dataclass
class Pruned:
    deleted: int = 0
    cutoff: dt.datetime | None = None
    # Days before the cutoff whose results wait for their rollup.
    waiting: list[dt.date] = field(default_factory=list)


def results_prune(
    *,
    now: dt.datetime | None = None,
    retention_days: int | None = None,
    batch_size: int = 10_000,
) -> Pruned:
    """Delete raw results older than the retention window whose days are rolled up
    for good (periodic job).

    1. The cutoff: the start of the local day ``retention_days`` ago, less the
       longest cover of a result, so the first day kept still has what covers its
       first minutes.
    2. Day by day, oldest first: the results of components whose day is final (and
       of components deleted outright); the others wait for their rollup.
    3. In slices of time of about ``batch_size`` results, each its own short
       transaction.
    """
    now = now or timezone.now()
    tz = Page.get().tzinfo
    days = retention_days or settings.PROBE_RESULT_RETENTION_DAYS
    longest = Probe.objects.aggregate(longest=Max("interval_seconds"))["longest"] or 0
    cutoff = retention_horizon(now, tz, days) - dt.timedelta(
        seconds=COVER_INTERVALS * longest
    )
    pruned = Pruned(cutoff=cutoff)
    oldest = ProbeResult.objects.filter(started_at__lt=cutoff).aggregate(
        at=Min("started_at")
    )["at"]
    if oldest is None:
        return pruned
    for day in days_between(day_of(oldest, tz), day_of(cutoff, tz)):
        start, end = day_bounds(day, tz)
        final = ComponentDay.objects.filter(
            day=day, computed_at__gte=end + LATE_RESULTS
        ).values("component_id")
        pruned.deleted += _delete_in_slices(
            start,
            min(end, cutoff),
            Q(component_id__in=final) | Q(component__isnull=True),
            batch_size,
        )
        if ProbeResult.objects.filter(
            started_at__gte=start, started_at__lt=min(end, cutoff)
        ).exists():
            pruned.waiting.append(day)
    return pruned


def _delete_in_slices(
    start: dt.datetime, end: dt.datetime, rolled_up: Q, batch_size: int
) -> int:
    """Delete the rolled-up results of [start, end) in slices of time holding about
    ``batch_size`` results each: one DELETE by the time index per slice, each its
    own short transaction (no list of ids to fetch and send back)."""
    results = ProbeResult.objects.filter(started_at__gte=start, started_at__lt=end)
    count = results.count()
    if not count:
        return 0
    step = max((end - start) * batch_size / count, dt.timedelta(seconds=1))
    deleted, slice_start = 0, start
    while slice_start < end:
        slice_end = min(end, slice_start + step)
        deleted += (
            results.filter(rolled_up)
            .filter(started_at__gte=slice_start, started_at__lt=slice_end)
            .delete()[0]
        )
        slice_start = slice_end
    return deleted
