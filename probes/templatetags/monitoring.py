"""The console's banner about the monitoring itself: a stopped beat, silent
regions, components whose monitoring is degraded. Read when the page is drawn."""

from __future__ import annotations

from django import template
from django.conf import settings
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.timesince import timesince

from probes.selectors import MonitoringOverview, monitoring_overview

register = template.Library()


@register.simple_tag
def monitoring_banner() -> SafeString:
    """Admin messages (error style) for what is wrong; nothing when all is well."""
    overview = monitoring_overview()
    problems = _beat(overview) + _silent(overview) + _degraded(overview)
    if not problems:
        return SafeString("")
    items = format_html_join(
        "", '<li class="error" data-monitoring="{}">{}</li>', problems
    )
    return format_html('<ul class="messagelist">{}</ul>', items)


def _beat(overview: MonitoringOverview) -> list[tuple[str, str]]:
    age = overview.beat_age
    if age is None:
        return [
            (
                "beat",
                "Probes have never been dispatched: start beat and a worker "
                "reading the dispatch queue.",
            )
        ]
    if age.total_seconds() <= settings.BEAT_STALE_AFTER_SECONDS:
        return []
    since = (
        timesince(overview.beat_at, overview.now, depth=1) if overview.beat_at else ""
    )
    return [
        (
            "beat",
            f"Probes were last dispatched {since} ago (beat, or the worker "
            "reading the dispatch queue, is stopped): no probe runs, no sweep, no "
            "automatic resolution until it is back.",
        )
    ]


def _silent(overview: MonitoringOverview) -> list[tuple[str, str]]:
    found = []
    for silent in overview.silent:
        last = silent.last_result_at
        heard = (
            f"no result for {timesince(last, overview.now, depth=1)}"
            if last
            else "never reported"
        )
        found.append(
            (
                "silent",
                f"Region {silent.region} is silent for {silent.probe.name} ({heard}): "
                "are its workers running?",
            )
        )
    return found


def _degraded(overview: MonitoringOverview) -> list[tuple[str, str]]:
    return [
        (
            "degraded",
            f"Monitoring of {degraded.name} is degraded: too few regions report, "
            "so its status is held and no incident opens or resolves on its own.",
        )
        for degraded in overview.degraded
    ]
