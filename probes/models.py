"""Probes, their results, and the per-region state the verdict is made from."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from incidents.models import Component, ComponentStatus
from kit.ids import new_public_id

from .kinds.base import Outcome


class ProbeKindName(models.TextChoices):
    HTTP = "http", "HTTP check"
    JOURNEY = "journey", "Journey (multi-step, e.g. sign-in and sign-out)"
    TCP = "tcp", "TCP connect"
    TLS = "tls", "TLS certificate"
    STATUSPAGE = "statuspage", "Third-party status page"
    HEARTBEAT = "heartbeat", "Heartbeat (pinged by an external job)"
    ALERT = "alert", "Alert (pushed by Alertmanager or another alerting tool)"


class DownStatus(models.TextChoices):
    PARTIAL_OUTAGE = ComponentStatus.PARTIAL_OUTAGE.value, "Partial outage"
    MAJOR_OUTAGE = ComponentStatus.MAJOR_OUTAGE.value, "Major outage"


OUTCOME_CHOICES = [(outcome.value, outcome.value.title()) for outcome in Outcome]


def default_regions() -> list[str]:
    return list(settings.PROBE_REGIONS)


class Probe(models.Model):
    """One check of the product, run from each of its regions every interval."""

    public_id = models.CharField(max_length=12, unique=True, default=new_public_id)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=ProbeKindName.choices)
    config = models.JSONField(default=dict, blank=True)
    component = models.ForeignKey(
        Component,
        on_delete=models.PROTECT,
        related_name="probes",
        limit_choices_to={"is_group": False, "deleted_at__isnull": True},
        help_text="The component this probe feeds (a journey's steps may name others).",
    )
    down_status = models.CharField(
        max_length=24, choices=DownStatus.choices, default=DownStatus.MAJOR_OUTAGE
    )
    interval_seconds = models.PositiveIntegerField(
        default=60, validators=[MinValueValidator(1), MaxValueValidator(86400)]
    )
    timeout_seconds = models.FloatField(
        default=10, validators=[MinValueValidator(0.1), MaxValueValidator(300)]
    )
    failures_to_down = models.PositiveSmallIntegerField(
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="Consecutive failures in a region before it counts as down.",
    )
    successes_to_up = models.PositiveSmallIntegerField(
        default=2,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="Consecutive successes in a region before it counts as up again.",
    )
    regions = models.JSONField(default=default_regions)
    quorum = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="Regions that must agree before the component changes "
        "(empty: a majority).",
    )
    enabled = models.BooleanField(default=True)
    next_due_at = models.DateTimeField(default=timezone.now, db_index=True)
    heartbeat_token_hash = models.CharField(max_length=64, blank=True, db_index=True)
    last_heartbeat_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("name", "id")
        indexes = [models.Index(fields=("enabled", "next_due_at"))]

    def __str__(self) -> str:
        return self.name

    @property
    def required_agreement(self) -> int:
        """How many regions must agree: the quorum, or a majority of the regions."""
        if self.quorum:
            return min(self.quorum, len(self.regions))
        return len(self.regions) // 2 + 1

    @property
    def silent_after(self) -> dt.timedelta:
        """How long a region may go without a result before it is silent: a few
        intervals and the run's own timeout, never less than the floor (jitter)."""
        seconds = (
            self.interval_seconds * settings.PROBE_SILENT_AFTER_INTERVALS
            + self.timeout_seconds
        )
        return dt.timedelta(seconds=max(seconds, settings.PROBE_SILENT_MIN_SECONDS))

    @property
    def late_after(self) -> dt.timedelta:
        """How late a run may start after its slot and still mean that slot: the next
        slot is due by then, so a later run only crowds the streaks."""
        seconds = self.interval_seconds * settings.PROBE_LATE_AFTER_INTERVALS
        return dt.timedelta(seconds=max(seconds, settings.PROBE_LATE_MIN_SECONDS))

    @property
    def speaks_always(self) -> bool:
        """Alert probes are told, not run: no news is the news that nothing fires."""
        return self.kind == ProbeKindName.ALERT

    def slot_to_claim(self, now: dt.datetime) -> dt.datetime:
        """The slot a dispatch at ``now`` claims for this due probe: the oldest one
        missed while it is still in time (a tick that came late), else the latest on
        its grid (after a stop the missed ones are long past: running them would only
        be dropped as too late, or crowd the streaks; they are counted dropped)."""
        slot = self.next_due_at
        if now - slot <= self.late_after:
            return slot
        interval = dt.timedelta(seconds=self.interval_seconds)
        return slot + interval * ((now - slot) // interval)

    def slots_passed_over(self, claimed: dt.datetime) -> int:
        """How many slots on its grid, from its next due time up to the one claimed,
        were due and will never run (a tick came too late for them). None before
        the probe existed: a next due time older than that is not its schedule."""
        interval = dt.timedelta(seconds=self.interval_seconds)
        first = self.next_due_at
        if self.created_at > first:
            first += interval * -((first - self.created_at) // interval)  # rounded up
        return max(0, -((first - claimed) // interval))


class ProbeResult(models.Model):
    """One step of one run from one region. Errors never contain secrets."""

    # No index of its own: the (probe, region, started_at) index serves its lookups.
    probe = models.ForeignKey(
        Probe, on_delete=models.CASCADE, related_name="results", db_index=False
    )
    region = models.CharField(max_length=64)
    step = models.CharField(max_length=100, default="main")
    component = models.ForeignKey(
        Component, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    outcome = models.CharField(max_length=10, choices=OUTCOME_CHOICES)
    latency_ms = models.FloatField(null=True, blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    slot = models.DateTimeField(help_text="The due time this run was scheduled for.")
    started_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("-started_at", "-id")
        indexes = [
            models.Index(fields=("probe", "region", "started_at")),
            # The rollups read, and pruning deletes, all probes' results by time.
            models.Index(fields=("started_at",), name="probe_result_started_at"),
        ]

    def __str__(self) -> str:
        return f"{self.probe} {self.step} from {self.region}: {self.outcome}"


class RegionState(models.Model):
    """Hysteresis for one step of a probe in one region: its streaks and its state."""

    probe = models.ForeignKey(Probe, on_delete=models.CASCADE, related_name="states")
    step = models.CharField(max_length=100, default="main")
    region = models.CharField(max_length=64)
    component = models.ForeignKey(Component, on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=10, choices=OUTCOME_CHOICES, default=Outcome.UP)
    observed_status = models.CharField(max_length=24, blank=True)
    failures = models.PositiveIntegerField(default=0)
    successes = models.PositiveIntegerField(default=0)
    changed_at = models.DateTimeField(default=timezone.now)
    # When the newest result counted into the streaks was taken: a region whose last
    # result is older than its silence window speaks no more (Probe.silent_after).
    last_result_at = models.DateTimeField(null=True, blank=True)
    # Since when the region runs the probe but skips this step (a journey's earlier
    # step failed): the region speaks, yet has no verdict on the step (it abstains).
    skipped_since = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=("probe", "step", "region"),
                name="one_state_per_probe_step_region",
            )
        ]

    def __str__(self) -> str:
        return f"{self.probe} {self.step} from {self.region}: {self.state}"


class FiringAlert(models.Model):
    """An alert an alerting tool says is firing, held by each alert probe it matches
    until the tool says it is resolved. The probe is down while it holds any."""

    probe = models.ForeignKey(
        Probe, on_delete=models.CASCADE, related_name="firing_alerts"
    )
    # The alert's identity: a digest of its label set, as Alertmanager's own.
    fingerprint = models.CharField(max_length=64)
    outcome = models.CharField(max_length=10, choices=OUTCOME_CHOICES)
    labels = models.JSONField(default=dict)
    message = models.CharField(max_length=300, blank=True)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("-received_at", "-id")
        constraints = [
            models.UniqueConstraint(
                fields=("probe", "fingerprint"), name="one_firing_alert_per_probe"
            )
        ]
        # A resolved alert is looked for in every probe that holds it.
        indexes = [
            models.Index(fields=("fingerprint",), name="firing_alert_fingerprint")
        ]

    def __str__(self) -> str:
        return f"{self.probe}: {self.message or self.fingerprint}"


class ComponentVerdict(models.Model):
    """What the probes agree a component's status is, with its flapping record."""

    component = models.OneToOneField(
        Component, on_delete=models.CASCADE, related_name="verdict"
    )
    status = models.CharField(
        max_length=24,
        choices=ComponentStatus.choices,
        default=ComponentStatus.OPERATIONAL,
    )
    confirmed_regions = models.PositiveSmallIntegerField(default=0)
    total_regions = models.PositiveSmallIntegerField(default=0)
    changes = models.JSONField(
        default=list, help_text="Times of recent verdict changes, for flap damping."
    )
    flapping = models.BooleanField(default=False)
    # Set while too few of a feed's regions speak to decide: the status is held.
    monitoring_degraded_since = models.DateTimeField(null=True, blank=True)
    # Whether staff were last told "degraded" (True) or "recovered" (False), so each
    # transition is told once however often the sweep runs.
    monitoring_alerted = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.component}: {self.status}"

    @property
    def monitoring_degraded(self) -> bool:
        return self.monitoring_degraded_since is not None


class BeatTick(models.Model):
    """When a periodic task last ran, written by the task itself: a stopped beat
    shows as an age that grows, read at the time it is asked for."""

    task = models.CharField(max_length=100, unique=True)
    at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.task} at {self.at:%Y-%m-%d %H:%M:%S}"


class DroppedSlots(models.Model):
    """How many probe slots a region dropped as too late to run, and when it last
    did: by its runner (queued past the slot's lateness), by Celery (a batch that
    expired unread) or by the dispatch (slots a late tick passed over, never sent).
    Counted up, never reset, as /metrics reports it."""

    region = models.CharField(max_length=64, unique=True)
    count = models.PositiveBigIntegerField(default=0)
    last_dropped_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "dropped slots"

    def __str__(self) -> str:
        return f"{self.region}: {self.count} slots dropped"


class ProbeHour(models.Model):
    """One probe's results over one hour (UTC) from one region: counts and latency
    percentiles, kept after the raw results are pruned."""

    # No index of its own: the unique (probe, region, hour) index serves its lookups.
    probe = models.ForeignKey(
        Probe, on_delete=models.CASCADE, related_name="hours", db_index=False
    )
    region = models.CharField(max_length=64)
    hour = models.DateTimeField(help_text="The start of the hour, in UTC.")
    checks = models.PositiveIntegerField(default=0)
    checks_up = models.PositiveIntegerField(default=0)
    p50_ms = models.FloatField(null=True, blank=True)
    p95_ms = models.FloatField(null=True, blank=True)
    p99_ms = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ("probe", "region", "hour")
        constraints = [
            models.UniqueConstraint(
                fields=("probe", "region", "hour"), name="one_rollup_per_probe_hour"
            )
        ]

    def __str__(self) -> str:
        return f"{self.probe} from {self.region} at {self.hour:%Y-%m-%d %H}:00"
