"""Management API v1 bodies for probes: their settings, their latest state per region,
and their results.

A probe's ``config`` is its kind's (``probes.kinds``) and is shown as stored. It
holds no credentials by design: http probes and journeys name the variables that
hold them (``"secrets": {"password": "ACME_PASSWORD"}``, read from
``PROBE_SECRET_ACME_PASSWORD`` by the workers only). A heartbeat probe's ping token
is stored as a hash, never shown after the create response.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from incidents.models import Component
from kit.api.fields import Flag, Number, PublicIdOf, Text
from probes.kinds.base import Outcome
from probes.models import (
    OUTCOME_CHOICES,
    DownStatus,
    Probe,
    ProbeKindName,
    ProbeResult,
    RegionState,
)
from probes.verdict import speaks

# A region's state follows results that ran: a skipped step leaves it as it was.
STATE_CHOICES = [
    (o.value, o.value.title()) for o in (Outcome.UP, Outcome.DEGRADED, Outcome.DOWN)
]


class RegionLatestSerializer(serializers.Serializer):
    """One region's (and, for a journey, one step's) latest word on a probe."""

    region = serializers.CharField()
    step = serializers.CharField(
        allow_null=True, help_text='"main" for single-step kinds; null: no result yet.'
    )
    state = serializers.ChoiceField(
        choices=STATE_CHOICES,
        help_text="The region's state as the verdict counts it, after "
        "failures_to_down / successes_to_up (a region not heard from yet is up, "
        "and silent).",
    )
    silent = serializers.BooleanField(
        help_text="No result within the probe's silence window (never heard from "
        "included): the region's vote is unknown and does not count."
    )
    state_since = serializers.DateTimeField(allow_null=True)
    consecutive_failures = serializers.IntegerField(
        help_text="Bad results in a row, counted up to failures_to_down."
    )
    consecutive_successes = serializers.IntegerField(
        help_text="Good results in a row, counted up to successes_to_up."
    )
    outcome = serializers.ChoiceField(choices=OUTCOME_CHOICES, allow_null=True)
    latency_ms = serializers.FloatField(allow_null=True)
    error = serializers.CharField(allow_null=True)
    checked_at = serializers.DateTimeField(allow_null=True)


def region_summaries(probe: Probe) -> list[dict[str, Any]]:
    """The probe's regions in order, each with its states (``latest_states``, as
    ``ProbeViewSet.get_queryset`` prefetches them) or, not heard from yet, as up."""
    states: list[RegionState] = getattr(probe, "latest_states", [])
    summaries: list[dict[str, Any]] = []
    now = timezone.now()
    for region in probe.regions:
        mine = [state for state in states if state.region == region]
        summaries.extend(
            _state_summary(state) | {"silent": not speaks(state, probe, now)}
            for state in mine
        )
        if not mine:
            summaries.append(_silent_region(region))
    return summaries


def _state_summary(state: RegionState) -> dict[str, Any]:
    return {
        "region": state.region,
        "step": state.step,
        "state": state.state,
        "state_since": state.changed_at,
        "consecutive_failures": state.failures,
        "consecutive_successes": state.successes,
        "outcome": getattr(state, "last_outcome", None),
        "latency_ms": getattr(state, "last_latency_ms", None),
        "error": getattr(state, "last_error", None),
        "checked_at": getattr(state, "last_checked_at", None),
    }


def _silent_region(region: str) -> dict[str, Any]:
    return {
        "region": region,
        "step": None,
        "state": Outcome.UP.value,
        "state_since": None,
        "silent": True,
        "consecutive_failures": 0,
        "consecutive_successes": 0,
        "outcome": None,
        "latency_ms": None,
        "error": None,
        "checked_at": None,
    }


class ProbeSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    component_id = serializers.CharField(source="component.public_id", read_only=True)
    regions = serializers.ListField(child=serializers.CharField(), read_only=True)
    latest = serializers.SerializerMethodField()

    class Meta:
        model = Probe
        fields: tuple[str, ...] = (
            "id",
            "name",
            "kind",
            "component_id",
            "config",
            "down_status",
            "interval_seconds",
            "timeout_seconds",
            "failures_to_down",
            "successes_to_up",
            "regions",
            "quorum",
            "enabled",
            "latest",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields

    @extend_schema_field(RegionLatestSerializer(many=True))
    def get_latest(self, probe: Probe) -> list[dict[str, Any]]:
        return list(RegionLatestSerializer(region_summaries(probe), many=True).data)


class ProbeCreatedSerializer(ProbeSerializer):
    """The create response; a heartbeat probe's address is in it, and only there."""

    heartbeat_url = serializers.URLField(
        required=False, help_text="Heartbeat probes only: the address the job calls."
    )
    heartbeat_token = serializers.CharField(
        required=False, help_text="Heartbeat probes only; stored as a hash."
    )

    class Meta(ProbeSerializer.Meta):
        fields = (*ProbeSerializer.Meta.fields, "heartbeat_url", "heartbeat_token")


class Seconds(serializers.FloatField):
    """A number of seconds as JSON writes one: ``1.5`` or ``2``, never ``"2"``."""

    default_error_messages = {"invalid": "Expected a number."}

    def to_internal_value(self, data: Any) -> float:
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("invalid")
        return float(super().to_internal_value(data))


class ProbeInput(serializers.Serializer):
    name = Text(max_length=200)
    kind = serializers.ChoiceField(choices=ProbeKindName.choices)
    component_id = PublicIdOf(
        queryset=Component.objects.live().filter(is_group=False), source="component"
    )
    config = serializers.DictField(required=False)
    down_status = serializers.ChoiceField(choices=DownStatus.choices, required=False)
    interval_seconds = Number(required=False)
    timeout_seconds = Seconds(required=False)
    failures_to_down = Number(required=False)
    successes_to_up = Number(required=False)
    regions = serializers.ListField(
        child=Text(max_length=64), required=False, max_length=100
    )
    quorum = Number(allow_null=True, required=False)
    enabled = Flag(required=False)

    def validate_config(self, config: dict[str, Any]) -> dict[str, Any]:
        if _holds_nul(config):
            # PostgreSQL cannot store it in JSON, and no address or header needs it.
            raise serializers.ValidationError("Must not contain the NUL character.")
        return config


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False


class ProbeFilters(serializers.Serializer):
    component_id = serializers.CharField(max_length=12, required=False)
    kind = serializers.ChoiceField(choices=ProbeKindName.choices, required=False)
    enabled = serializers.BooleanField(required=False)


class ResultSerializer(serializers.ModelSerializer):
    component_id = serializers.CharField(
        source="component.public_id", default=None, read_only=True, allow_null=True
    )

    class Meta:
        model = ProbeResult
        fields = (
            "id",
            "region",
            "step",
            "component_id",
            "outcome",
            "latency_ms",
            "status_code",
            "error",
            "started_at",
        )
        read_only_fields = fields


class ResultFilters(serializers.Serializer):
    region = serializers.CharField(max_length=64, required=False)
    outcome = serializers.ChoiceField(choices=OUTCOME_CHOICES, required=False)
    since = serializers.DateTimeField(
        required=False, help_text="Only results that started at or after this time."
    )
