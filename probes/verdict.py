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
    min_spacing: dt.timedelta = dt.timedelta(0),
) -> bool:
    """Count one result into a region's streaks; say whether its verdict changed.

    A region goes down (or degraded) after ``failures_to_down`` bad results in a row
    and back up after ``successes_to_up`` good ones. A skipped step (a journey's
    earlier step failed) leaves the streaks as they are: the region still speaks, but
    abstains on the step until the step runs again.
    A streak stops counting at its threshold, so a steady probe's row stops changing
    and need not be written.
    The observed (mirrored) status is the one read by the results the state reflects,
    so a new reading while the state holds (partial to major outage) also counts as a
    change, and a reading the state does not follow yet leaves it as it was.
    ``now`` is when the result was taken: one taken before the last counted one, or
    less than ``min_spacing`` after it (a backlog run back to back), counts for
    nothing, so "three in a row" keeps meaning three intervals.
    """
    last = state.last_result_at
    if outcome == Outcome.SKIPPED:
        if last is not None and now < last:
            return False
        state.last_result_at = now
        abstains = state.skipped_since is None
        state.skipped_since = state.skipped_since or now
        return abstains
    if last is not None and now < last + min_spacing:
        return False
    state.last_result_at = now if last is None else max(last, now)
    votes_again = state.skipped_since is not None
    state.skipped_since = None
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
    return votes_again or (state.state, state.observed_status) != before


# A feed whose speaking regions are too few to decide: its status is not known.
UNKNOWN = "unknown"
# A feed whose regions speak but skip it (a journey stopped at an earlier step): no
# verdict on it, and no sign that the monitoring is failing either.
ABSTAINED = "abstained"


@dataclass(frozen=True)
class Agreement:
    outcome: str
    confirmed: int
    total: int
    speaking: int = 0

    @property
    def known(self) -> bool:
        return self.outcome != UNKNOWN

    @property
    def votes(self) -> bool:
        """Whether the feed has a verdict for the component to weigh."""
        return self.outcome not in (UNKNOWN, ABSTAINED)


def region_votes(state: RegionState) -> bool:
    """Whether a (speaking) region's state is a verdict on its step: not skipped."""
    return state.skipped_since is None


def speaks(state: RegionState, probe: Probe, now: dt.datetime) -> bool:
    """Whether a region's state is recent evidence: it had a result within the
    probe's silence window (an alert probe's regions always speak)."""
    if probe.speaks_always:
        return True
    last = state.last_result_at
    return last is not None and last > now - probe.silent_after


def silent_regions(
    states: Iterable[RegionState], probe: Probe, now: dt.datetime
) -> list[str]:
    """The probe's regions with no recent result, never-reported ones included."""
    speaking = {s.region for s in states if speaks(s, probe, now)}
    return [region for region in probe.regions if region not in speaking]


def evidence_until(states: Iterable[RegionState], probe: Probe) -> dt.datetime | None:
    """When, without a new result, the feed's speaking regions become too few.

    The ``required``-th latest silence deadline: until then at least ``required``
    regions speak. None for a feed that never goes quiet (alert probes) or has too
    few regions that ever reported.
    """
    if probe.speaks_always:
        return None
    deadlines = sorted(
        (
            # A skipping region's last verdict on the step is from before it skipped.
            (s.skipped_since or s.last_result_at) + probe.silent_after
            for s in states
            if s.region in probe.regions and s.last_result_at is not None
        ),
        reverse=True,
    )
    required = probe.required_agreement
    return deadlines[required - 1] if len(deadlines) >= required else None


def feeds_evidence(
    feeds: list[tuple[Probe, list[RegionState]]], now: dt.datetime
) -> tuple[dt.datetime | None, bool]:
    """A component's evidence: until when it holds without a new result (the first
    feed to run short), and whether any feed has too few speaking regions now."""
    agreements = [regions_agree(states, probe, now=now) for probe, states in feeds]
    # A feed its regions skip ages from its last verdict, unless another feed of
    # the component speaks for it now (the app's own ping beside a journey's step).
    another_votes = any(agreement.votes for agreement in agreements)
    deadlines = [
        evidence_until(states, probe)
        for (probe, states), agreement in zip(feeds, agreements, strict=True)
        if not (agreement.outcome == ABSTAINED and another_votes)
    ]
    until = min((at for at in deadlines if at is not None), default=None)
    short = any(not agreement.known for agreement in agreements)
    return until, short


def regions_agree(
    states: Iterable[RegionState], probe: Probe, *, now: dt.datetime
) -> Agreement:
    """The outcome at least ``probe.required_agreement`` of its speaking regions share.

    A silent region (or one that never reported) is neither up nor down: only
    speaking regions vote, and with fewer of them than the required agreement the
    outcome is unknown, so a component never recovers, nor fails, on no evidence.
    Regions that speak but skip the step abstain: with too few votes left the feed
    has no verdict (abstained), which is not missing monitoring.
    """
    current = {
        s.region: s
        for s in states
        if s.region in probe.regions and speaks(s, probe, now)
    }
    total, required = len(probe.regions), probe.required_agreement
    speaking = len(current)
    voting = [s for s in current.values() if region_votes(s)]
    if len(voting) < required:
        # Short of votes: for want of the silent regions (they could make up the
        # quorum), or only because the speaking ones skip the step.
        silent = total - speaking
        kind = UNKNOWN if len(voting) + silent >= required else ABSTAINED
        return Agreement(kind, 0, total, speaking)
    down = [s for s in voting if s.state == Outcome.DOWN]
    bad = [s for s in voting if s.state in (Outcome.DOWN, Outcome.DEGRADED)]
    speaking = len(voting)
    if len(down) >= required:
        return Agreement(Outcome.DOWN, len(down), total, speaking)
    if len(bad) >= required:
        return Agreement(Outcome.DEGRADED, len(bad), total, speaking)
    return Agreement(Outcome.UP, speaking - len(bad), total, speaking)


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
        if s.region in probe.regions
        and region_votes(s)
        and s.state == agreement.outcome
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
