"""What is known about the monitoring itself, read at the time it is asked for.

The console, ``/metrics``, the page's snapshot and ``manage.py monitoring_check``
read these: every age is computed from the rows now, so it stays true when the beat
or a worker that would write it has stopped.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.utils import timezone

from incidents.evidence import Evidence

from . import verdict
from .models import BeatTick, Probe, ProbeKindName, RegionState

DISPATCH_TICK = "probes_dispatch"


@dataclass(frozen=True)
class SilentRegion:
    probe: Probe
    region: str
    last_result_at: dt.datetime | None  # None: it never reported


@dataclass(frozen=True)
class DegradedComponent:
    component_id: int
    name: str
    since: dt.datetime | None  # None: noticed now, not marked by the sweep yet


@dataclass
class MonitoringOverview:
    now: dt.datetime
    silent: list[SilentRegion] = field(default_factory=list)
    degraded: list[DegradedComponent] = field(default_factory=list)
    # Per region, its newest result over all probes (workers stopped show here).
    region_last_result_at: dict[str, dt.datetime] = field(default_factory=dict)
    # Per (probe, region, step), its last counted result.
    last_results: list[tuple[Probe, str, str, dt.datetime]] = field(
        default_factory=list
    )
    # Per component, when its evidence runs out without a new result.
    evidence_until: dict[int, dt.datetime] = field(default_factory=dict)
    beat_at: dt.datetime | None = None
    # The enabled, run probes, and the live components with monitoring (by id:
    # name and public id), so every series is there with a 0 when all is well.
    probes: list[Probe] = field(default_factory=list)
    monitored: dict[int, tuple[str, str]] = field(default_factory=dict)

    @property
    def beat_age(self) -> dt.timedelta | None:
        return None if self.beat_at is None else self.now - self.beat_at

    @property
    def degraded_ids(self) -> set[int]:
        return {d.component_id for d in self.degraded}


def component_feeds(
    states: list[RegionState],
) -> dict[int, list[tuple[Probe, list[RegionState]]]]:
    """States grouped into each component's feeds (probe and step)."""
    feeds: dict[int, dict[tuple[int, str], list[RegionState]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for state in states:
        feeds[state.component_id][(state.probe_id, state.step)].append(state)
    return {
        component_id: [(group[0].probe, group) for group in by_feed.values()]
        for component_id, by_feed in feeds.items()
    }


def monitored_states() -> list[RegionState]:
    """Every enabled probe's states on live components, with probe and verdict."""
    return list(
        RegionState.objects.filter(
            probe__enabled=True, component__deleted_at__isnull=True
        ).select_related("probe", "component__verdict")
    )


def monitoring_overview(*, now: dt.datetime | None = None) -> MonitoringOverview:
    """Silent regions, components without enough evidence, and the beat's age."""
    now = now or timezone.now()
    overview = MonitoringOverview(now=now)
    states = monitored_states()
    _silent(overview, states)
    _degraded(overview, states)
    for state in states:
        at = state.last_result_at
        if at is None or state.probe.speaks_always:
            continue
        overview.last_results.append((state.probe, state.region, state.step, at))
        if state.region in state.probe.regions:
            known = overview.region_last_result_at.get(state.region)
            overview.region_last_result_at[state.region] = max(known or at, at)
    tick = BeatTick.objects.filter(task=DISPATCH_TICK).first()
    overview.beat_at = tick.at if tick else None
    return overview


def _silent(overview: MonitoringOverview, states: list[RegionState]) -> None:
    by_probe: dict[int, list[RegionState]] = defaultdict(list)
    for state in states:
        by_probe[state.probe_id].append(state)
    overview.probes = list(
        Probe.objects.filter(enabled=True, component__deleted_at__isnull=True)
        .exclude(kind=ProbeKindName.ALERT)
        .order_by("name", "id")
    )
    for probe in overview.probes:
        mine = by_probe.get(probe.pk, [])
        if not mine and probe.created_at > overview.now - probe.silent_after:
            continue  # new: its first results are on their way
        last: dict[str, dt.datetime | None] = {}
        for state in mine:
            if state.last_result_at is not None:
                known = last.get(state.region)
                at = state.last_result_at
                last[state.region] = max(known or at, at)
        for region in verdict.silent_regions(mine, probe, overview.now):
            overview.silent.append(SilentRegion(probe, region, last.get(region)))


def _degraded(overview: MonitoringOverview, states: list[RegionState]) -> None:
    overview.monitored = {
        s.component_id: (s.component.name, s.component.public_id) for s in states
    }
    for component_id, feeds in sorted(component_feeds(states).items()):
        until, short = verdict.feeds_evidence(feeds, overview.now)
        if until is not None:
            overview.evidence_until[component_id] = until
        if short:
            overview.degraded.append(
                DegradedComponent(
                    component_id,
                    overview.monitored[component_id][0],
                    _marked_since(feeds),
                )
            )


def components_evidence(now: dt.datetime) -> dict[int, Evidence]:
    """Per monitored component: since when its monitoring is degraded (marked by
    the sweep, or noticed now: since its evidence ran out), and until when its
    evidence holds without a new result. One query."""
    states = monitored_states()
    found = {}
    for component_id, feeds in component_feeds(states).items():
        until, short = verdict.feeds_evidence(feeds, now)
        since = (_marked_since(feeds) or until or now) if short else None
        if since is None and until is not None and until <= now:
            since = until  # only skipped steps feed it: nothing checked it since
        found[component_id] = Evidence(delayed_since=since, until=until)
    return found


def _marked_since(feeds: list[tuple[Probe, list[RegionState]]]) -> dt.datetime | None:
    component = feeds[0][1][0].component
    current = getattr(component, "verdict", None)
    return current.monitoring_degraded_since if current else None
