"""Probes in the staff console: configure, check on save, see recent results."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from . import services
from .models import Probe, ProbeResult

RECENT_RESULTS = 15
# The admin's form factory adds the read-only fields to ``Meta.fields``: name the
# model's own fields explicitly, as the service knows them.
PROBE_FIELDS = services.PROBE_FIELDS


class ProbeForm(forms.ModelForm):
    """Checks the whole probe through the service, so the console and the API
    refuse the same configurations with the same messages."""

    class Meta:
        model = Probe
        fields = PROBE_FIELDS

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        probe = Probe(**{name: data.get(name) for name in PROBE_FIELDS})
        try:
            services.check_probe(probe)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                target = field if field in self.fields else None
                self.add_error(target, errors)
        # Keep the config as typed: the service checks and normalises it again on
        # save, and that check is written for what people type.
        return data


@admin.register(Probe)
class ProbeAdmin(admin.ModelAdmin):
    form = ProbeForm
    list_display = (
        "name",
        "kind",
        "component",
        "interval_seconds",
        "enabled",
        "latest",
    )
    list_filter = ("kind", "enabled")
    search_fields = ("name", "component__name")
    readonly_fields = ("recent_results", "heartbeat_url")
    list_select_related = ("component", "component__group")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Probe]:
        # The latest result in the same query, not one more query per listed probe.
        latest = ProbeResult.objects.filter(probe=OuterRef("pk")).order_by(
            "-started_at", "-id"
        )
        return (
            super()
            .get_queryset(request)
            .select_related("component", "component__group")
            .annotate(
                latest_outcome=Subquery(latest.values("outcome")[:1]),
                latest_region=Subquery(latest.values("region")[:1]),
            )
        )

    @admin.display(description="Latest result")
    def latest(self, probe: Probe) -> str:
        outcome = getattr(probe, "latest_outcome", None)
        region = getattr(probe, "latest_region", None)
        return "—" if outcome is None else f"{outcome} ({region})"

    @admin.display(description="Recent results")
    def recent_results(self, probe: Probe) -> str:
        results = ProbeResult.objects.filter(probe=probe)[:RECENT_RESULTS]
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    r.started_at.strftime("%Y-%m-%d %H:%M:%S"),
                    r.region,
                    r.step,
                    r.outcome,
                    "" if r.latency_ms is None else f"{r.latency_ms:.0f} ms",
                    r.error,
                )
                for r in results
            ),
        )
        return format_html(
            "<table><tr><th>When (UTC)</th><th>Region</th><th>Step</th>"
            "<th>Outcome</th><th>Latency</th><th>Error</th></tr>{}</table>",
            rows,
        )

    @admin.display(description="Heartbeat address")
    def heartbeat_url(self, probe: Probe) -> str:
        if probe.kind != "heartbeat":
            return "—"
        return "Shown once, when the probe was created (stored only as a hash)."

    def delete_model(self, request: HttpRequest, obj: Probe) -> None:
        services.probe_delete(probe=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Probe]) -> None:
        for probe in queryset:
            services.probe_delete(probe=probe)

    def save_model(
        self, request: HttpRequest, obj: Probe, form: forms.ModelForm, change: bool
    ) -> None:
        fields = {name: form.cleaned_data[name] for name in PROBE_FIELDS}
        if change:
            services.probe_update(probe=obj, **fields)
            return
        created, token = services.probe_create(**fields)
        obj.pk = created.pk
        if token:
            url = request.build_absolute_uri(
                reverse("probes:heartbeat", kwargs={"token": token})
            )
            messages.warning(
                request,
                f"Have the job call {url} at least every period. This address is "
                "shown only now.",
            )
