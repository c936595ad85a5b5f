"""The metric families, read from the database at each scrape.

Nothing is counted in process memory: every scrape asks the database, one aggregated
query per group of families, so any number of web workers (gunicorn, granian) answer
alike and a restart loses nothing. Counts whose rows change state or are pruned (a
resend puts a failed delivery back in the queue, old probe results are deleted) are
gauges, not counters: a Prometheus counter must never go down.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator

from django.conf import settings
from django.db.models import Count, OuterRef, Subquery
from django.utils import timezone
from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from incidents.models import (
    OPEN_INCIDENT_STATUSES,
    Component,
    ComponentStatus,
    Impact,
    Incident,
    IncidentKind,
    IncidentStatus,
    MaintenanceStatus,
)
from notifications.models import (
    Channel,
    Delivery,
    DeliveryState,
    Subscriber,
    SubscriberState,
)
from probes.kinds.base import Outcome
from probes.models import DroppedSlots, ProbeKindName, ProbeResult, RegionState
from probes.selectors import monitoring_overview

# Long enough that a probe run hourly still shows its last result, short enough
# that the query reads a small slice of the started_at index.
RECENT_RESULTS = dt.timedelta(hours=1)

COMPONENT_STATUSES = [status.value for status in ComponentStatus]
KIND_STATUSES = {
    IncidentKind.INCIDENT.value: [status.value for status in IncidentStatus],
    IncidentKind.MAINTENANCE.value: [status.value for status in MaintenanceStatus],
}
INCIDENT_IMPACTS = [impact.value for impact in Impact if impact != Impact.MAINTENANCE]
OUTCOMES = [outcome.value for outcome in Outcome]


def one_hot(
    family: GaugeMetricFamily, labels: list[str], values: Iterable[str], current: str
) -> None:
    """One sample per possible value, 1 for the current one: alerts can match a
    value, and a value that ends leaves a 0 rather than a gap."""
    for value in values:
        family.add_metric([*labels, value], float(value == current))


def component_families() -> Iterator[Metric]:
    components = GaugeMetricFamily(
        "heliograph_component_status",
        "1 for the component's current status, 0 for the others (groups apart).",
        labels=["component", "component_id", "group", "status"],
    )
    groups = GaugeMetricFamily(
        "heliograph_component_group_status",
        "1 for the group's current status (the worst of its components), 0 else.",
        labels=["group", "group_id", "status"],
    )
    rows = (
        Component.objects.live()
        .order_by("position", "id")
        .values_list("public_id", "name", "status", "is_group", "group__name")
    )
    for public_id, name, status, is_group, group_name in rows:
        if is_group:
            one_hot(groups, [name, public_id], COMPONENT_STATUSES, status)
        else:
            labels = [name, public_id, group_name or ""]
            one_hot(components, labels, COMPONENT_STATUSES, status)
    yield components
    yield groups


def probe_latest_families() -> Iterator[Metric]:
    """The last result of every enabled probe's step in each of its regions.

    RegionState holds one row per (probe, step, region) that has results; each
    row's last result is one backward step on the (probe, region, started_at)
    index, so the query costs one index probe per row, whatever the history.
    """
    latency = GaugeMetricFamily(
        "heliograph_probe_latency_seconds",
        "Response time of the probe's last result in this region (absent when the "
        "last run measured none, e.g. a timeout).",
        labels=["probe", "probe_id", "region", "step"],
    )
    last = GaugeMetricFamily(
        "heliograph_probe_last_result_timestamp_seconds",
        "When the probe's last result in this region started (Unix time): alert on "
        "its age to catch stopped workers.",
        labels=["probe", "probe_id", "region", "step"],
    )
    latest = ProbeResult.objects.filter(
        probe=OuterRef("probe"), region=OuterRef("region"), step=OuterRef("step")
    ).order_by("-started_at")
    # Alert probes are told, not run: they have no latency, and their last result
    # ages while nothing changes, which must not look like a stopped worker.
    rows = (
        RegionState.objects.filter(probe__enabled=True)
        .exclude(probe__kind=ProbeKindName.ALERT)
        .annotate(
            last_latency_ms=Subquery(latest.values("latency_ms")[:1]),
            last_started_at=Subquery(latest.values("started_at")[:1]),
        )
        .order_by("probe__name", "probe_id", "region", "step")
        .values_list(
            "probe__name",
            "probe__public_id",
            "probe__regions",
            "region",
            "step",
            "last_latency_ms",
            "last_started_at",
        )
    )
    for name, public_id, regions, region, step, latency_ms, started_at in rows:
        if region not in regions or started_at is None:
            continue  # a region the probe no longer runs in, or results all pruned
        labels = [name, public_id, region, step]
        last.add_metric(labels, started_at.timestamp())
        if latency_ms is not None:
            latency.add_metric(labels, latency_ms / 1000)
    yield latency
    yield last


def probe_outcome_families(now: dt.datetime) -> Iterator[Metric]:
    results = GaugeMetricFamily(
        "heliograph_probe_results_last_hour",
        "Probe results that started in the last hour, by outcome (a journey counts "
        "each step).",
        labels=["probe", "probe_id", "region", "step", "outcome"],
    )
    rows = (
        ProbeResult.objects.filter(
            started_at__gte=now - RECENT_RESULTS, probe__enabled=True
        )
        .values_list("probe__name", "probe__public_id", "region", "step", "outcome")
        .annotate(results=Count("id"))
        .order_by()
    )
    counts: defaultdict[tuple[str, ...], Counter[str]] = defaultdict(Counter)
    for name, public_id, region, step, outcome, number in rows:
        counts[name, public_id, region, step][outcome] += number
    for labels, by_outcome in sorted(counts.items()):
        for outcome in OUTCOMES:
            results.add_metric([*labels, outcome], by_outcome[outcome])
    yield results


def incident_families() -> Iterator[Metric]:
    totals = GaugeMetricFamily(
        "heliograph_incidents",
        "Incidents and scheduled maintenances, by kind and current status.",
        labels=["kind", "status"],
    )
    unresolved = GaugeMetricFamily(
        "heliograph_incidents_open",
        "Incidents not yet resolved, by impact.",
        labels=["impact"],
    )
    rows = (
        Incident.objects.values_list("kind", "status", "impact")
        .annotate(incidents=Count("id"))
        .order_by()
    )
    by_status: Counter[tuple[str, str]] = Counter()
    by_impact: Counter[str] = Counter()
    for kind, status, impact, number in rows:
        by_status[kind, status] += number
        if kind == IncidentKind.INCIDENT and status in OPEN_INCIDENT_STATUSES:
            by_impact[impact] += number
    for kind, statuses in KIND_STATUSES.items():
        for status in statuses:
            totals.add_metric([kind, status], by_status[kind, status])
    for impact in INCIDENT_IMPACTS:
        unresolved.add_metric([impact], by_impact[impact])
    yield totals
    yield unresolved


def notification_families() -> Iterator[Metric]:
    deliveries = GaugeMetricFamily(
        "heliograph_deliveries",
        "Notification deliveries by channel and state: pending and sending are the "
        "queue, the others what became of the rest.",
        labels=["channel", "state"],
    )
    subscribers = GaugeMetricFamily(
        "heliograph_subscribers",
        "Subscribers by channel and state.",
        labels=["channel", "state"],
    )
    delivery_rows = (
        Delivery.objects.values_list("subscriber__channel", "state")
        .annotate(deliveries=Count("id"))
        .order_by()
    )
    subscriber_rows = (
        Subscriber.objects.values_list("channel", "state")
        .annotate(subscribers=Count("id"))
        .order_by()
    )
    fill(deliveries, delivery_rows, [state.value for state in DeliveryState])
    fill(subscribers, subscriber_rows, [state.value for state in SubscriberState])
    yield deliveries
    yield subscribers


def fill(
    family: GaugeMetricFamily,
    rows: Iterable[tuple[str, str, int]],
    states: list[str],
) -> None:
    """Every (channel, state), with 0 where there are no rows."""
    counts = {(channel, state): number for channel, state, number in rows}
    for channel in Channel:
        for state in states:
            family.add_metric([channel.value, state], counts.get((channel, state), 0))


def monitoring_families(now: dt.datetime) -> Iterator[Metric]:
    """The monitor watching itself, computed from the rows at each scrape, so a
    stopped beat or worker shows as an age that grows rather than a figure that
    stops changing."""
    overview = monitoring_overview(now=now)
    silent = GaugeMetricFamily(
        "heliograph_region_silent",
        "1 when the region has had no result of the probe for its silence window "
        "(its vote is unknown), 0 when it reports.",
        labels=["probe", "probe_id", "region"],
    )
    quiet = {(s.probe.pk, s.region) for s in overview.silent}
    for probe in overview.probes:
        for region in probe.regions:
            labels = [probe.name, probe.public_id, region]
            silent.add_metric(labels, float((probe.pk, region) in quiet))
    degraded = GaugeMetricFamily(
        "heliograph_monitoring_degraded",
        "1 when too few of the component's regions report to decide its status "
        "(held at the last known one, no incident opens or resolves), else 0.",
        labels=["component", "component_id"],
    )
    short = overview.degraded_ids
    for component_id, (name, public_id) in sorted(overview.monitored.items()):
        degraded.add_metric([name, public_id], float(component_id in short))
    region_age = GaugeMetricFamily(
        "heliograph_region_last_result_age_seconds",
        "Seconds since the region's newest probe result: its workers' pulse.",
        labels=["region"],
    )
    for region, at in sorted(overview.region_last_result_at.items()):
        region_age.add_metric([region], (now - at).total_seconds())
    beat = GaugeMetricFamily(
        "heliograph_beat_last_tick_age_seconds",
        "Seconds since the beat last dispatched probes (absent: it never did).",
    )
    beat_at = GaugeMetricFamily(
        "heliograph_beat_last_tick_timestamp_seconds",
        "When the beat last dispatched probes (Unix time).",
    )
    if overview.beat_at is not None:
        beat.add_metric([], (now - overview.beat_at).total_seconds())
        beat_at.add_metric([], overview.beat_at.timestamp())
    yield from (silent, degraded, region_age, beat, beat_at)
    yield from dropped_slots_families()


def dropped_slots_families() -> Iterator[Metric]:
    """Slots each region dropped as too late to run: a worker or a dispatch that
    falls behind or comes back from a stop shows here, not as results that never
    came."""
    dropped = CounterMetricFamily(
        "heliograph_probe_slots_dropped",
        "Probe slots the region dropped as too late to run (by its runner, "
        "expired unread in the broker, or passed over by a late dispatch).",
        labels=["region"],
    )
    last = GaugeMetricFamily(
        "heliograph_probe_slots_last_dropped_timestamp_seconds",
        "When the region last dropped a slot as too late (Unix time).",
        labels=["region"],
    )
    rows = {row.region: row for row in DroppedSlots.objects.all()}
    # Every listed region from 0, so that increase() sees a region's first drops.
    for region in sorted(set(settings.PROBE_REGIONS) | set(rows)):
        row = rows.get(region)
        dropped.add_metric([region], row.count if row else 0)
        if row is not None:
            last.add_metric([region], row.last_dropped_at.timestamp())
    yield from (dropped, last)


class DatabaseCollector:
    """Every family, read from the database when Prometheus scrapes."""

    def collect(self) -> Iterator[Metric]:
        yield from component_families()
        yield from probe_latest_families()
        yield from probe_outcome_families(timezone.now())
        yield from incident_families()
        yield from notification_families()
        yield from monitoring_families(timezone.now())


# Our own registry, not prometheus_client's global one: that one carries the
# process's own figures (memory, CPU), which differ per worker and would make two
# scrapes of the same page disagree.
REGISTRY = CollectorRegistry()
REGISTRY.register(DatabaseCollector())
