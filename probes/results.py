"""Record probe runs and turn them into component verdicts."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from incidents.models import COMPONENT_SEVERITY, Component

from . import automation, verdict
from .kinds.base import ProbeOutcome
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


def results_record(*, region: str, runs: list[Run]) -> None:
    """Store each step's result, count it into its region's streaks, and re-decide
    the components whose regional state changed."""
    named = _step_components(runs)
    rows, changed = [], set()
    for run in runs:
        for step in run.outcome.steps:
            component = named.get(step.component or "", run.probe.component)
            rows.append(
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
            )
            if _streak_record(run, step, region, component):
                changed.add(component.pk)
    ProbeResult.objects.bulk_create(rows)
    for component_id in sorted(changed):
        component_decide(component_id=component_id)


@transaction.atomic
def _streak_record(run: Run, step: object, region: str, component: Component) -> bool:
    state, _ = RegionState.objects.select_for_update().get_or_create(
        probe=run.probe,
        step=step.step,  # type: ignore[attr-defined]
        region=region,
        defaults={"component": component},
    )
    changed = verdict.streak_record(
        state,
        outcome=step.outcome,  # type: ignore[attr-defined]
        observed_status=step.observed_status or "",  # type: ignore[attr-defined]
        failures_to_down=run.probe.failures_to_down,
        successes_to_up=run.probe.successes_to_up,
        now=run.started_at,
    )
    state.component = component
    state.save()
    return changed


@transaction.atomic
def component_decide(*, component_id: int) -> ComponentVerdict:
    """Agree on a component's status from every feed and act on it.

    1. Lock the component's verdict row, so regions reporting at once take turns.
    2. Per feed (a probe, or one step of a journey): the outcome its regions agree on.
    3. The worst feed wins; flap damping may hold a worse status.
    4. Automation moves the component and its automatic incident.
    """
    ComponentVerdict.objects.get_or_create(component_id=component_id)
    current = ComponentVerdict.objects.select_for_update().get(
        component_id=component_id
    )
    feeds: dict[tuple[int, str], list[RegionState]] = defaultdict(list)
    states = RegionState.objects.filter(
        component_id=component_id, probe__enabled=True
    ).select_related("probe")
    for state in states:
        feeds[(state.probe_id, state.step)].append(state)
    proposed, confirmed, total = "operational", 0, 0
    for feed_states in feeds.values():
        probe = feed_states[0].probe
        agreement = verdict.regions_agree(feed_states, probe)
        status = verdict.feed_status(agreement, probe, feed_states)
        if COMPONENT_SEVERITY[status] > COMPONENT_SEVERITY[proposed] or total == 0:
            proposed, confirmed, total = status, agreement.confirmed, agreement.total
    decided = verdict.damp(
        current,
        proposed,
        now=timezone.now(),
        window=dt.timedelta(seconds=settings.FLAP_WINDOW_SECONDS),
        threshold=settings.FLAP_THRESHOLD,
    )
    current.confirmed_regions, current.total_regions = confirmed, total
    current.save()
    automation.component_apply_verdict(
        component=current.component, status=decided, confirmed=confirmed, total=total
    )
    return current


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
