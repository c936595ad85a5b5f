"""From results to a component status: hysteresis per region, quorum across regions,
the worst feed per component, and flap damping. Pure rules over rows; no I/O.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from incidents.models import COMPONENT_SEVERITY, ComponentStatus

from .kinds.base import Outcome
from .models import ComponentVerdict, DownStatus, Probe, RegionState


def streak_record(
    state: RegionState,
    *,
    outcome: str,
    observed_status: str,
    failures_to_down: int,
    successes_to_up: int,
    now: dt.datetime,
) -> bool:
    """Count one result into a region's streaks; say whether its verdict changed.

    A region goes down (or degraded) after ``failures_to_down`` bad results in a row
    and back up after ``successes_to_up`` good ones. Skipped steps count for nothing.
    A streak stops counting at its threshold, so a steady probe's row stops changing
    and need not be written.
    The observed (mirrored) status is the one read by the results the state reflects,
    so a new reading while the state holds (partial to major outage) also counts as a
    change, and a reading the state does not follow yet leaves it as it was.
    """
    if outcome == Outcome.SKIPPED:
        return False
    before = (state.state, state.observed_status)
    if outcome == Outcome.UP:
        state.successes = min(state.successes + 1, successes_to_up)
        state.failures = 0
        new_state = Outcome.UP if state.successes >= successes_to_up else state.state
    else:
        state.failures = min(state.failures + 1, failures_to_down)
        state.successes = 0
        new_state = outcome if state.failures >= failures_to_down else state.state
    if new_state == outcome:
        state.observed_status = observed_status
    if new_state != state.state:
        state.state = new_state
        state.changed_at = now
    return (state.state, state.observed_status) != before


@dataclass(frozen=True)
class Agreement:
    outcome: str
    confirmed: int
    total: int


def regions_agree(states: Iterable[RegionState], probe: Probe) -> Agreement:
    """The outcome at least ``probe.required_agreement`` of its regions share.

    Regions that have not reported yet count as up.
    """
    current = {s.region: s for s in states if s.region in probe.regions}
    down = [s for s in current.values() if s.state == Outcome.DOWN]
    bad = [s for s in current.values() if s.state in (Outcome.DOWN, Outcome.DEGRADED)]
    total, required = len(probe.regions), probe.required_agreement
    if len(down) >= required:
        return Agreement(Outcome.DOWN, len(down), total)
    if len(bad) >= required:
        return Agreement(Outcome.DEGRADED, len(bad), total)
    return Agreement(Outcome.UP, total - len(bad), total)


def feed_status(
    agreement: Agreement, probe: Probe, states: Iterable[RegionState]
) -> str:
    """The component status one feed (a probe, or a journey's step) asks for.

    Only the regions that share the agreed outcome speak for it: a region still up
    that reads "operational" must not turn an agreed outage into operational.
    """
    observed = [
        s.observed_status
        for s in states
        if s.region in probe.regions and s.state == agreement.outcome
    ]
    if agreement.outcome == Outcome.DOWN:
        mirrored = [status for status in observed if status in DownStatus.values]
        return max(
            mirrored, key=COMPONENT_SEVERITY.__getitem__, default=probe.down_status
        )
    if agreement.outcome == Outcome.DEGRADED:
        return ComponentStatus.DEGRADED_PERFORMANCE
    if ComponentStatus.UNDER_MAINTENANCE in observed:
        return ComponentStatus.UNDER_MAINTENANCE
    return ComponentStatus.OPERATIONAL


def damp(
    verdict: ComponentVerdict,
    proposed: str,
    *,
    now: dt.datetime,
    window: dt.timedelta,
    threshold: int,
) -> str:
    """Take the proposed status unless the component is flapping and it is better.

    A component that changed ``threshold`` times within ``window`` holds its worse
    state until it has been quiet for the window, so a flaky target cannot send a
    notification on every swing.
    """
    recent = [
        at for at in verdict.changes if dt.datetime.fromisoformat(at) > now - window
    ]
    verdict.flapping = len(recent) >= threshold
    improving = COMPONENT_SEVERITY[proposed] < COMPONENT_SEVERITY[verdict.status]
    if proposed == verdict.status or (verdict.flapping and improving):
        verdict.changes = recent
        return verdict.status
    verdict.changes = [*recent, now.isoformat()]
    verdict.flapping = len(verdict.changes) >= threshold
    verdict.status = proposed
    return proposed
