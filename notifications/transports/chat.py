"""What a chat message says, read from the Statuspage body; Slack and Teams only
lay it out in their own formats."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.dateparse import parse_datetime

from incidents.models import UPDATE_STATUS_CHOICES, ComponentStatus, Impact
from notifications.rendering import Message

LABELS = dict(UPDATE_STATUS_CHOICES) | dict(ComponentStatus.choices)
IMPACTS = dict(Impact.choices)
GOOD = {"resolved", "postmortem", "completed", "operational"}
BAD = {"critical", "major", "major_outage", "partial_outage"}
WARNING = {"minor", "degraded_performance"}
MAINTENANCE = {"maintenance", "under_maintenance", "scheduled", "in_progress"}


@dataclass(frozen=True)
class Summary:
    title: str  # the incident's or component's name
    status: str  # "Investigating", "Major outage"
    text: str  # the latest update, or what changed
    tone: str  # good, bad, warning, maintenance or neutral: for colours
    link: str  # the incident's page, or the status page
    facts: list[tuple[str, str]] = field(default_factory=list)
    components: list[tuple[str, str]] = field(default_factory=list)  # name, status


def label(status: str) -> str:
    return LABELS.get(status, status.replace("_", " ").capitalize())


def tone(status: str, impact: str = "none") -> str:
    """Over is good whatever the impact was; otherwise the worse of the two."""
    if status in GOOD:
        return "good"
    values = {status, impact}
    for tones, name in (
        (BAD, "bad"),
        (WARNING, "warning"),
        (MAINTENANCE, "maintenance"),
    ):
        if values & tones:
            return name
    return "neutral"


def when(value: str | None) -> str:
    """``2026-03-02T14:00:00.000-07:00`` as ``Mar 2, 2026, 14:00 UTC-07:00``."""
    moment = parse_datetime(value) if value else None
    if moment is None:
        return ""
    return f"{moment:%b} {moment.day}, {moment:%Y, %H:%M} {moment.tzname()}"


def summarize(message: Message) -> Summary:
    body = message.body
    if "incident" in body:
        return _incident(body["incident"], message)
    if "component" in body:
        return _component(
            body["component"], body.get("component_update") or {}, message
        )
    return Summary(
        title="Test notification",
        status="Test",
        text=f"{message.page_name} can post here: notifications will arrive in "
        "this channel.",
        tone="neutral",
        link=message.page_url,
    )


def _incident(incident: dict[str, Any], message: Message) -> Summary:
    updates = incident.get("incident_updates") or []
    status, impact = incident["status"], incident.get("impact", "none")
    facts = []
    if impact not in ("none", "maintenance"):
        facts.append(("Impact", IMPACTS.get(impact, impact)))
    if "scheduled_for" in incident:
        facts.append(("Scheduled for", when(incident["scheduled_for"])))
        facts.append(("Until", when(incident.get("scheduled_until"))))
    return Summary(
        title=incident["name"],
        status=label(status),
        text=updates[0]["body"] if updates else "",
        tone=tone(status, impact),
        link=message.incident_url or message.page_url,
        facts=facts,
        components=[
            (component["name"], label(component["status"]))
            for component in incident.get("components") or []
        ],
    )


def _component(
    component: dict[str, Any], update: dict[str, Any], message: Message
) -> Summary:
    new, old = update.get("new_status", component["status"]), update.get("old_status")
    text = f"{component['name']} is now {label(new).lower()}"
    return Summary(
        title=component["name"],
        status=label(new),
        text=f"{text} (was {label(old).lower()})." if old else f"{text}.",
        tone=tone(new),
        link=message.page_url,
    )
