"""Claim due probes and send them, in batches, to their regions' queues."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from kit.tasks import enqueue

from .models import BeatTick, Probe, ProbeKindName
from .selectors import DISPATCH_TICK
from .services import slots_dropped_record

Claim = tuple[int, str]  # (probe id, due slot as ISO-8601)
# The task that runs a batch (probes.tasks), enqueued by name: tasks call services.
RUN_BATCH = "probes.tasks.probes_run_batch"


@transaction.atomic
def probes_claim_due(
    *, now: dt.datetime, limit: int
) -> list[tuple[Probe, dt.datetime]]:
    """Move each due probe's next due time on, and return it with the slot it claimed.

    The dispatch ticks twice per finest interval (PROBES_DISPATCH_SECONDS), so a
    probe a tick claimed late catches up one slot per tick, each still in time.

    Two beats claiming at once get disjoint rows (row locks skipped, not waited
    for), and once this commits the claimed rows are no longer due: a slot runs once.
    The slots a late tick passes over are counted dropped in each region they would
    have been sent to, in the same transaction: once, and only those never sent (the
    runner and Celery count the sent ones they drop).
    """
    due = list(
        Probe.objects.select_for_update(skip_locked=True)
        .filter(enabled=True, next_due_at__lte=now)
        # Alert probes are pushed to by the alerting tool: there is nothing to run.
        .exclude(kind=ProbeKindName.ALERT)
        .order_by("next_due_at")
        .only("id", "next_due_at", "interval_seconds", "regions", "created_at")[:limit]
    )
    claims = []
    passed_over: Counter[str] = Counter()
    for probe in due:
        slot = probe.slot_to_claim(now)
        claims.append((probe, slot))
        for region in served_regions(probe):
            passed_over[region] += probe.slots_passed_over(slot)
        # Maybe due already (a tick came late): the next tick claims it, so a probe
        # has one slot per tick and never a burst.
        probe.next_due_at = slot + dt.timedelta(seconds=probe.interval_seconds)
    Probe.objects.bulk_update(due, ["next_due_at"])
    for region in sorted(passed_over):  # one order, so two beats never deadlock
        slots_dropped_record(region=region, count=passed_over[region], now=now)
    return claims


def served_regions(probe: Probe) -> list[str]:
    """The probe's regions that have workers: a queue nobody reads would only grow."""
    return sorted(set(probe.regions) & set(settings.PROBE_REGIONS))


def beat_tick_record(*, task: str, now: dt.datetime) -> None:
    """Note that a periodic task ran (one UPDATE; the row is created once)."""
    if not BeatTick.objects.filter(task=task).update(at=now):
        BeatTick.objects.get_or_create(task=task, defaults={"at": now})


def probes_dispatch(*, now: dt.datetime | None = None) -> int:
    """One beat tick: claim what is due and enqueue it per region. Returns the count."""
    now = now or timezone.now()
    claims = probes_claim_due(now=now, limit=settings.PROBE_CLAIM_LIMIT)
    # Its age on the console and in /metrics is how a stopped beat shows.
    beat_tick_record(task=DISPATCH_TICK, now=now)
    by_region: dict[str, list[Claim]] = defaultdict(list)
    for probe, slot in claims:
        for region in served_regions(probe):
            by_region[region].append((probe.pk, slot.isoformat()))
    size = settings.PROBE_BATCH_SIZE
    for region, items in by_region.items():
        for start in range(0, len(items), size):
            batch = items[start : start + size]
            # The runner drops the slots too late to run, judged on the database's
            # clock. Celery's expiry, judged between this machine's clock and the
            # region's, only bounds what a region without workers piles up.
            enqueue(
                RUN_BATCH,
                args=(region, batch),
                queue=f"probes.{region}",
                expires=settings.PROBE_BATCH_EXPIRES_SECONDS,
            )
    return len(claims)
