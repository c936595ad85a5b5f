"""Record probe runs and turn them into component verdicts."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Case, DateTimeField, Value, When
from django.utils import timezone

from audit.context import Actor, ActorKind, acting
from audit.context import current as current_actor
from incidents import events
from incidents.models import COMPONENT_SEVERITY, Component

from . import automation, verdict
from .kinds.base import ProbeOutcome, StepResult
from .models import ComponentVerdict, Probe, ProbeResult, RegionState


@dataclass(frozen=True)
class Run:
    probe: Probe
    slot: dt.datetime
    started_at: dt.datetime
    outcome: ProbeOutcome


def _step_components(runs: Iterable[Run]) -> dict[str, Component]:
    """Components named by journey steps, by public id (one query for the batch)."""
    wanted = {
        step.component for run in runs for step in run.outcome.steps if step.component
    }
    if not wanted:
        return {}
    return {c.public_id: c for c in Component.objects.filter(public_id__in=wanted)}


def results_record(
    *,
    region: str,
    runs: list[Run],
    decide: bool = True,
    now: dt.datetime | None = None,
) -> set[int]:
    """Store each step's result, count it into its region's streaks, and re-decide
    the components whose regional state changed (returned). ``decide=False`` leaves
    the deciding to the caller, who records several regions first. ``now`` is the
    database's time when the recorder's clock is off (probes.clock)."""
    named = _step_components(runs)
    steps = [
        (run, step, named.get(step.component or "", run.probe.component))
        for run in runs
        for step in run.outcome.steps
    ]
    ProbeResult.objects.bulk_create(
        [
            ProbeResult(
                probe=run.probe,
                region=region,
                step=step.step,
                component=component,
                outcome=step.outcome,
                latency_ms=step.latency_ms,
                status_code=step.status_code,
                error=step.error[:300],
                slot=run.slot,
                started_at=run.started_at,
            )
            for run, step, component in steps
        ]
    )
    changed = _streaks_record(region, steps)
    if decide:
        for component_id in sorted(changed):
            component_decide(component_id=component_id, now=now)
    return set(changed)


@transaction.atomic
def _streaks_record(
    region: str, steps: list[tuple[Run, StepResult, Component]]
) -> set[int]:
    """Count a batch's results into their regions' streaks in one transaction.

    The batch's states are locked in one query (in id order, so two batches never
    wait on each other crosswise); only the states that changed are written back,
    one UPDATE per set of equal new values. Most probes are steadily up, and a
    steady state does not change, so a batch costs few writes.
    """
    keys = {(run.probe.pk, step.step): component for run, step, component in steps}
    RegionState.objects.bulk_create(
        [
            RegionState(
                probe_id=probe_id, step=name, region=region, component=component
            )
            for (probe_id, name), component in keys.items()
        ],
        ignore_conflicts=True,
    )
    states = {
        (state.probe_id, state.step): state
        for state in RegionState.objects.select_for_update()
        .filter(probe_id__in={probe_id for probe_id, _ in keys}, region=region)
        .order_by("pk")
    }
    changed: set[int] = set()
    heard: set[int] = set()
    writes: dict[tuple[object, ...], list[int]] = defaultdict(list)
    for run, step, component in steps:
        state = states[(run.probe.pk, step.step)]
        before, heard_before = _values(state), state.last_result_at
        if verdict.streak_record(
            state,
            outcome=step.outcome,
            observed_status=step.observed_status or "",
            failures_to_down=run.probe.failures_to_down,
            successes_to_up=run.probe.successes_to_up,
            now=run.started_at,
            min_spacing=_min_spacing(run.probe),
        ):
            changed.add(component.pk)
        state.component = component
        if _values(state) != before:
            writes[_values(state)].append(state.pk)
        if state.last_result_at != heard_before:
            heard.add(state.pk)
    now = timezone.now()
    for values, pks in writes.items():
        RegionState.objects.filter(pk__in=pks).update(
            updated_at=now, **dict(zip(STATE_FIELDS, values, strict=True))
        )
    _heard_record(states.values(), heard)
    return changed


def _min_spacing(probe: Probe) -> dt.timedelta:
    if probe.speaks_always:
        return dt.timedelta(0)  # each pushed alert is news, however soon it comes
    percent = settings.PROBE_STREAK_MIN_SPACING_PERCENT
    return dt.timedelta(seconds=probe.interval_seconds * percent / 100)


def _heard_record(states: Iterable[RegionState], heard: set[int]) -> None:
    """Write when each state counted its newest result: one UPDATE for the batch,
    whose rows all change (a steady state's streaks do not, its evidence does)."""
    by_time: dict[dt.datetime, list[int]] = defaultdict(list)
    for state in states:
        if state.pk in heard and state.last_result_at is not None:
            by_time[state.last_result_at].append(state.pk)
    if by_time:
        RegionState.objects.filter(pk__in=heard).update(
            last_result_at=Case(
                *(When(pk__in=pks, then=Value(at)) for at, pks in by_time.items()),
                output_field=DateTimeField(),
            )
        )


def _values(state: RegionState) -> tuple[object, ...]:
    return tuple(getattr(state, field) for field in STATE_FIELDS)


STATE_FIELDS = (
    "state",
    "observed_status",
    "failures",
    "successes",
    "changed_at",
    "skipped_since",
    "component_id",
)


@transaction.atomic
def component_decide(
    *, component_id: int, now: dt.datetime | None = None
) -> ComponentVerdict:
    """Agree on a component's status from every feed and act on it.

    1. Lock the component's verdict row, so regions reporting at once take turns.
    2. Per feed (a probe, or one step of a journey): the outcome its speaking
       regions agree on, or unknown when too few of them speak.
    3. The worst known feed wins; with a feed unknown the component may get worse
       but not better, and monitoring is degraded. A feed whose regions skip it (a
       journey stopped at an earlier step) holds it the same way, but the
       monitoring is working. Flap damping may hold a worse status.
    4. Automation moves the component and its automatic incident.
    """
    ComponentVerdict.objects.get_or_create(component_id=component_id)
    current = ComponentVerdict.objects.select_for_update().get(
        component_id=component_id
    )
    now = now or timezone.now()
    proposed, confirmed, total = "operational", 0, 0
    deciding: RegionState | None = None
    unknown = abstained = False
    for probe, feed_states in _feeds(component_id):
        agreement = verdict.regions_agree(feed_states, probe, now=now)
        if not agreement.known:
            unknown = True
            continue
        if not agreement.votes:
            abstained = True  # its regions skip it: an earlier journey step failed
            continue
        speaking = [s for s in feed_states if verdict.speaks(s, probe, now)]
        status = verdict.feed_status(agreement, probe, speaking)
        if COMPONENT_SEVERITY[status] > COMPONENT_SEVERITY[proposed] or total == 0:
            proposed, confirmed, total = status, agreement.confirmed, agreement.total
            deciding = feed_states[0]
    held = unknown or abstained
    if held and COMPONENT_SEVERITY[proposed] < COMPONENT_SEVERITY[current.status]:
        proposed = current.status  # no recovery on missing evidence
    if unknown != current.monitoring_degraded:
        current.monitoring_degraded_since = now if unknown else None
        # The page says "monitoring delayed" (or no longer): publish it.
        events.announce_quietly()
    decided = verdict.damp(
        current,
        proposed,
        now=now,
        window=dt.timedelta(seconds=settings.FLAP_WINDOW_SECONDS),
        threshold=settings.FLAP_THRESHOLD,
    )
    if deciding is not None or not held:
        current.confirmed_regions, current.total_regions = confirmed, total
    current.save()
    with acting(_deciding_actor(deciding)):
        automation.component_apply_verdict(
            component=current.component,
            status=decided,
            confirmed=confirmed,
            total=total,
        )
    return current


def _feeds(component_id: int) -> list[tuple[Probe, list[RegionState]]]:
    """The component's feeds: each enabled probe's step, with its regions' states."""
    feeds: dict[tuple[int, str], list[RegionState]] = defaultdict(list)
    states = RegionState.objects.filter(
        component_id=component_id, probe__enabled=True
    ).select_related("probe")
    for state in states:
        feeds[(state.probe_id, state.step)].append(state)
    return [(feed[0].probe, feed) for feed in feeds.values()]


def _deciding_actor(state: RegionState | None) -> Actor:
    """The probe whose feed decided, as the author of what automation writes; when
    an integration's alert decided, it says so, with the sender's address."""
    cause = current_actor()
    pushed = cause.kind == ActorKind.INTEGRATION
    if state is None:
        name, detail = "probes", ""
    else:
        step = f", step {state.step}" if state.step not in ("", "main") else ""
        name, detail = state.probe.name, f"probe {state.probe.public_id}{step}"
    if pushed:
        detail += f", alerted by integration {cause.name}"
    return Actor(
        kind=ActorKind.PROBE,
        name=name,
        detail=detail.lstrip(", "),
        address=cause.address if pushed else None,
        user_agent=cause.user_agent if pushed else "",
    )


def verdicts_enforce() -> int:
    """Re-apply verdicts the components do not show (periodic).

    A verdict reached while a component was pinned or under maintenance takes effect
    once the pin is cleared or the maintenance ends, and a flapping component held in
    its worse state is released once it has been quiet for the flap window.
    """
    pending = ComponentVerdict.objects.select_related("component").filter(
        component__deleted_at__isnull=True, component__pinned=False
    )
    applied = 0
    for current in pending:
        # A flapping component is released only by a quiet window, and no new result
        # may come to say so (the target is steady now): deciding again does it.
        if current.flapping or current.component.status != current.status:
            component_decide(component_id=current.component_id)
            applied += 1
    return applied
