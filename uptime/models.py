"""The uptime record: rollups rebuilt from the status domain's history and the
probes' results (``uptime.rollup`` writes them, ``uptime.selectors`` reads them).

The tables were the ``incidents`` app's until the record became an app of its own;
the migrations moved them without copying a row.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from incidents.models import Component


class ComponentDay(models.Model):
    """One component's record for one day of the page's time zone: a rollup,
    rebuilt idempotently from status changes, maintenance, incidents and (for
    probed components) probe results. The public bars and the reports read these.

    The ``*_seconds`` fields add up to the seconds of the day that have passed
    (86,400, or 82,800 and 90,000 on the days daylight saving time changes).
    Maintenance and ``no_data`` time count neither as uptime nor as downtime.
    """

    # The unique (component, day) index serves lookups by component too.
    component = models.ForeignKey(
        Component, on_delete=models.CASCADE, related_name="days", db_index=False
    )
    day = models.DateField()
    operational_seconds = models.PositiveIntegerField(default=0)
    degraded_seconds = models.PositiveIntegerField(default=0)
    partial_seconds = models.PositiveIntegerField(default=0)
    major_seconds = models.PositiveIntegerField(default=0)
    maintenance_seconds = models.PositiveIntegerField(default=0)
    # The component did not exist yet, or no probe result covers the time.
    no_data_seconds = models.PositiveIntegerField(default=0)
    # Probe results of the day (every region and step feeding this component).
    checks = models.PositiveIntegerField(default=0)
    checks_up = models.PositiveIntegerField(default=0)
    # The incidents that touched the component that day, for the bar's title:
    # [{"id": public_id, "name": ..., "impact": ...}].
    incidents = models.JSONField(default=list, blank=True)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("component", "day")
        constraints = [
            models.UniqueConstraint(
                fields=("component", "day"), name="one_record_per_component_day"
            )
        ]

    def __str__(self) -> str:
        return f"{self.component} on {self.day}"


class ComponentLatencyHour(models.Model):
    """Response times of the probes feeding one component over one hour (UTC),
    for the public response-time charts: a rollup, like ``ComponentDay``."""

    component = models.ForeignKey(
        Component,
        on_delete=models.CASCADE,
        related_name="latency_hours",
        db_index=False,  # the unique (component, hour) index serves it
    )
    hour = models.DateTimeField(help_text="The start of the hour, in UTC.")
    checks = models.PositiveIntegerField(default=0)
    p50_ms = models.FloatField(null=True, blank=True)
    p95_ms = models.FloatField(null=True, blank=True)
    p99_ms = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ("component", "hour")
        constraints = [
            models.UniqueConstraint(
                fields=("component", "hour"), name="one_latency_per_component_hour"
            )
        ]

    def __str__(self) -> str:
        return f"{self.component} at {self.hour:%Y-%m-%d %H}:00"
