"""Create and change probes, and take heartbeats. Configuration is checked on save."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Now
from django.utils import timezone

from incidents.models import Component
from kit.digests import secret_digest

from . import results
from .kinds import kind_class
from .kinds.alert import Alert, alert_outcome
from .kinds.base import Outcome, ProbeOutcome, StepResult, clip
from .models import DroppedSlots, FiringAlert, Probe, ProbeKindName, RegionState

REGION_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
# The fields a probe is made of, in the order forms show them.
PROBE_FIELDS = (
    "name",
    "kind",
    "component",
    "config",
    "down_status",
    "interval_seconds",
    "timeout_seconds",
    "failures_to_down",
    "successes_to_up",
    "regions",
    "quorum",
    "enabled",
)
EDITABLE = set(PROBE_FIELDS)


def _check_regions(regions: Any) -> None:
    if not isinstance(regions, list) or not regions:
        raise ValidationError({"regions": 'List at least one region, e.g. ["local"].'})
    for region in regions:
        if not isinstance(region, str) or not REGION_NAME.match(region):
            raise ValidationError(
                {"regions": f"{region!r} is not a region name (a-z, 0-9, - and _)."}
            )
    repeated = sorted({region for region in regions if regions.count(region) > 1})
    if repeated:
        # ["eu", "eu", "eu"] is one region voting three times: it could outvote the
        # others, and with a quorum of three no outage could ever be confirmed.
        raise ValidationError(
            {"regions": f"List each region once: {', '.join(repeated)} is repeated."}
        )
    unknown = set(regions) - set(settings.PROBE_REGIONS)
    if unknown:
        raise ValidationError(
            {
                "regions": f"No workers serve {', '.join(sorted(unknown))}: known "
                f"regions are {', '.join(settings.PROBE_REGIONS)} (PROBE_REGIONS)."
            }
        )


def _check_step_components(config: dict[str, Any]) -> dict[str, Any]:
    """Journey steps may name their component by public id or by name; store ids."""
    steps = config.get("steps")
    for number, step in enumerate(steps if isinstance(steps, list) else []):
        wanted = step.get("component") if isinstance(step, dict) else None
        if not wanted:
            continue
        live = Component.objects.live().filter(is_group=False)
        found = (
            live.filter(public_id=wanted).first() or live.filter(name=wanted).first()
        )
        if found is None:
            raise ValidationError(
                {"config": f"steps.{number}.component: no component '{wanted}'."}
            )
        step["component"] = found.public_id
    return config


def check_probe(probe: Probe) -> None:
    """Validate a probe whole: its kind's configuration, components, regions, fields."""
    if probe.kind not in ProbeKindName.values:
        raise ValidationError(
            {
                "kind": f"'{probe.kind}' is not a probe kind; use one of "
                f"{', '.join(ProbeKindName.values)}."
            }
        )
    if not isinstance(probe.config, dict):
        raise ValidationError({"config": "The configuration must be a JSON object."})
    probe.config = _check_step_components(probe.config)
    try:
        probe.config = kind_class(probe.kind).validate(probe.config)
    except ValidationError as exc:
        # Each message already names its field ("steps.0.url must ..."); keep them
        # under "config" so a form shows them beside the configuration.
        raise ValidationError({"config": exc.messages}) from None
    if probe.kind == ProbeKindName.ALERT:
        # The alerting tool waited before firing (its rule's ``for``), and it sends
        # "resolved" once: one pushed result must act, or nothing would recover.
        probe.failures_to_down = probe.successes_to_up = 1
    _check_regions(probe.regions)
    if probe.quorum and probe.quorum > len(probe.regions):
        raise ValidationError(
            {"quorum": f"A quorum of {probe.quorum} needs at least that many regions."}
        )
    probe.full_clean()


@transaction.atomic
def probe_create(
    *, name: str, kind: str, component: Component, **fields: Any
) -> tuple[Probe, str | None]:
    """Create a probe. A heartbeat probe also gets its secret ping token, returned
    here once and stored only as a hash."""
    unknown = set(fields) - EDITABLE
    if unknown:
        raise ValidationError(f"Unknown probe fields: {', '.join(sorted(unknown))}.")
    probe = Probe(name=name, kind=kind, component=component, **fields)
    # Its first slot is when it came to be: none before it counts as missed.
    probe.next_due_at = probe.created_at
    check_probe(probe)
    token = None
    if kind == ProbeKindName.HEARTBEAT:
        token = secrets.token_urlsafe(24)
        probe.heartbeat_token_hash = secret_digest(token)
        probe.last_heartbeat_at = timezone.now()  # the period starts now
    probe.save()
    return probe, token


@transaction.atomic
def probe_update(*, probe: Probe, **fields: Any) -> Probe:
    unknown = set(fields) - EDITABLE
    if unknown:
        raise ValidationError(f"These fields cannot be changed: {', '.join(unknown)}.")
    if "kind" in fields and ProbeKindName.HEARTBEAT in {fields["kind"], probe.kind}:
        if fields["kind"] != probe.kind:
            raise ValidationError(
                {
                    "kind": "A heartbeat probe has its own secret address: create a "
                    "new probe instead of changing the kind."
                }
            )
    fed_before = _fed_components(probe)
    was_scheduled = _scheduled(probe)
    for name, value in fields.items():
        setattr(probe, name, value)
    check_probe(probe)
    if _scheduled(probe) and not was_scheduled:
        # Its slots start again now: those of its time off were never due, so the
        # dispatch must not count them as missed.
        probe.next_due_at = max(probe.next_due_at, timezone.now())
    probe.save()
    _decide_again(fed_before | _fed_components(probe))
    return probe


@transaction.atomic
def probe_delete(*, probe: Probe) -> None:
    fed = _fed_components(probe)
    probe.delete()
    _decide_again(fed)


def _scheduled(probe: Probe) -> bool:
    """Whether the dispatch claims the probe's slots (an alert probe has none)."""
    return probe.enabled and probe.kind != ProbeKindName.ALERT


def _fed_components(probe: Probe) -> set[int]:
    if probe.pk is None:
        return set()
    states = RegionState.objects.filter(probe_id=probe.pk)
    return {probe.component_id, *states.values_list("component_id", flat=True)}


def _decide_again(component_ids: set[int]) -> None:
    """A disabled, moved or deleted probe no longer speaks for its components:
    decide them again from the probes that remain, once this change is committed."""
    for component_id in sorted(component_ids):
        transaction.on_commit(
            partial(results.component_decide, component_id=component_id)
        )


def heartbeat_record(*, token: str) -> bool:
    """Note a ping from the external job; False when no heartbeat probe has it."""
    updated = Probe.objects.filter(
        kind=ProbeKindName.HEARTBEAT, heartbeat_token_hash=secret_digest(token)
    ).update(last_heartbeat_at=Now())  # the database's clock, as the runner's
    return updated == 1


@dataclass(frozen=True)
class PushedAlert:
    """One alert from an alerting tool, as the inbound integrations hand it over."""

    fingerprint: str  # the same for the firing and the resolved notice
    labels: Mapping[str, str]
    firing: bool
    message: str = ""


@dataclass(frozen=True)
class AlertsRecorded:
    matched: int  # alerts that reached at least one alert probe
    probes: int  # alert probes whose state was recorded


def alerts_record(*, alerts: list[PushedAlert]) -> AlertsRecorded:
    """Count pushed alerts into the alert probes their labels match.

    1. A firing alert reaches the enabled alert probes whose matchers its labels
       carry (an informational one reaches none); a resolved alert reaches those and
       also every probe still holding it, whose matchers may have changed since.
    2. Each probe reached, locked in id order: hold or drop the alerts, then record
       what still fires.
    3. Decide the components whose state changed, in id order, once all are recorded.

    One transaction for the whole body: if anything fails, nothing of it is written,
    so the tool's retry is not counted on top of half a body. Every probe is locked
    before any component, each in id order, so two bodies at once take turns
    instead of waiting on each other crosswise.
    """
    probes = Probe.objects.filter(kind=ProbeKindName.ALERT, enabled=True)
    kinds = {probe.pk: Alert(probe.config) for probe in probes}
    holding: dict[str, set[int]] = defaultdict(set)
    resolved = {alert.fingerprint for alert in alerts if not alert.firing}
    for probe_id, fingerprint in FiringAlert.objects.filter(
        fingerprint__in=resolved
    ).values_list("probe_id", "fingerprint"):
        holding[fingerprint].add(probe_id)
    reached: dict[int, list[PushedAlert]] = defaultdict(list)
    matched = 0
    for alert in alerts:
        ids = set() if alert.firing else set(holding[alert.fingerprint])
        if alert_outcome(alert.labels) is not None:
            ids |= {pk for pk, kind in kinds.items() if kind.matches(alert.labels)}
        matched += bool(ids)
        for probe_id in ids:
            reached[probe_id].append(alert)
    with transaction.atomic():
        changed: set[int] = set()
        for probe_id in sorted(reached):
            changed |= _alert_probe_record(probe_id=probe_id, alerts=reached[probe_id])
        for component_id in sorted(changed):
            results.component_decide(component_id=component_id)
    return AlertsRecorded(matched=matched, probes=len(reached))


def _alert_probe_record(*, probe_id: int, alerts: list[PushedAlert]) -> set[int]:
    """Hold or drop one probe's alerts and record the outcome of those still firing.

    The probe's row is locked, so two notices for it arriving at once take turns
    and the result recorded always reflects the alerts held.
    """
    probe = (
        Probe.objects.select_for_update()
        .filter(pk=probe_id, kind=ProbeKindName.ALERT)
        .first()
    )
    if probe is None:
        return set()  # deleted, or no longer an alert probe, since it was matched
    for alert in alerts:  # in the body's order: a later notice of an alert wins
        held = FiringAlert.objects.filter(probe=probe, fingerprint=alert.fingerprint)
        outcome = alert_outcome(alert.labels)
        if not alert.firing or outcome is None:
            held.delete()
            continue
        FiringAlert.objects.update_or_create(
            probe=probe,
            fingerprint=alert.fingerprint,
            defaults={
                "outcome": outcome,
                "labels": dict(alert.labels),
                "message": clip(alert.message),
                "received_at": timezone.now(),
            },
        )
    # A disabled probe too: its component does not hear it, but the state it keeps
    # must be right when it is enabled again (a firing alert, sent again at the
    # tool's repeat interval, reaches it then).
    return _alert_result_record(probe)


def _alert_result_record(probe: Probe) -> set[int]:
    """Record the worst alert the probe holds (none: up) as a result from each of its
    regions: the alerting tool speaks for all of them, so any quorum is met. The
    components whose regional state changed are returned, to be decided."""
    firing = list(probe.firing_alerts.all())  # the newest first
    firing.sort(key=lambda alert: alert.outcome != Outcome.DOWN)  # outages first
    step = StepResult("main", Outcome.UP, None)
    if firing:
        more = f" (and {len(firing) - 1} more)" if len(firing) > 1 else ""
        message = f"{firing[0].message or firing[0].fingerprint}{more}"
        step = StepResult("main", Outcome(firing[0].outcome), None, error=clip(message))
    now = timezone.now()
    run = results.Run(
        probe=probe, slot=now, started_at=now, outcome=ProbeOutcome(steps=[step])
    )
    # Every region first, then one decision: deciding after each region would
    # change the component at the quorum-th and decide twice more for nothing.
    changed: set[int] = set()
    for region in probe.regions:
        changed |= results.results_record(region=region, runs=[run], decide=False)
    return changed


def slots_dropped_record(*, region: str, count: int, now: dt.datetime) -> None:
    """Count ``count`` slots the region dropped as too late (one UPDATE; the row is
    created with the region's first drop)."""
    if count <= 0:
        return
    rows = DroppedSlots.objects.filter(region=region)
    if rows.update(count=F("count") + count, last_dropped_at=now):
        return
    try:
        with transaction.atomic():
            DroppedSlots.objects.create(region=region, count=count, last_dropped_at=now)
    except IntegrityError:  # another batch of the region created it meanwhile
        rows.update(count=F("count") + count, last_dropped_at=now)
