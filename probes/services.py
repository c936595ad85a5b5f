"""Create and change probes, and take heartbeats. Configuration is checked on save."""

from __future__ import annotations

import re
import secrets
from functools import partial
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from incidents.models import Component

from . import results
from .kinds import kind_class
from .models import Probe, ProbeKindName, RegionState, hash_token

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
    check_probe(probe)
    token = None
    if kind == ProbeKindName.HEARTBEAT:
        token = secrets.token_urlsafe(24)
        probe.heartbeat_token_hash = hash_token(token)
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
    for name, value in fields.items():
        setattr(probe, name, value)
    check_probe(probe)
    probe.save()
    _decide_again(fed_before | _fed_components(probe))
    return probe


@transaction.atomic
def probe_delete(*, probe: Probe) -> None:
    fed = _fed_components(probe)
    probe.delete()
    _decide_again(fed)


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
        kind=ProbeKindName.HEARTBEAT, heartbeat_token_hash=hash_token(token)
    ).update(last_heartbeat_at=timezone.now())
    return updated == 1
