"""The Statuspage public API v2 bodies, field for field.

Plain functions rather than DRF serializers: these bodies are read-only, have a fixed
shape, and are built from a handful of prefetched queries (see ``PublicState``).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from incidents.models import Component, Incident, IncidentUpdate
from incidents.selectors import (
    RECENT_LIMIT,
    PublicState,
    component_tree,
)

AFFECTED_KEYS = ("code", "name", "old_status", "new_status")
Body = dict[str, Any]


def timestamp(value: dt.datetime | None, tz: zoneinfo.ZoneInfo) -> str | None:
    """ISO-8601 with milliseconds in the page's time zone; ``Z`` for UTC."""
    if value is None:
        return None
    text = value.astimezone(tz).isoformat(timespec="milliseconds")
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class V2:
    """Builds each v2 body for one ``PublicState``."""

    def __init__(self, state: PublicState) -> None:
        self.state = state
        self.tz = state.tz
        self.page_id = state.page.public_id
        self.public_ids = {c.pk: c.public_id for c in state.components}
        self.children: dict[int, list[str]] = {}
        for parent, children in component_tree(state.components):
            self.children[parent.pk] = [child.public_id for child in children]

    def page(self) -> Body:
        page = self.state.page
        return {
            "id": page.public_id,
            "name": page.name,
            "url": page.url,
            "time_zone": page.time_zone,
            "updated_at": timestamp(self.state.updated_at(), self.tz),
        }

    def status(self) -> Body:
        status = self.state.status
        return {"indicator": status.indicator, "description": status.description}

    def component(self, component: Component) -> Body:
        body: Body = {
            "id": component.public_id,
            "name": component.name,
            "status": component.status,
            "created_at": timestamp(component.created_at, self.tz),
            "updated_at": timestamp(component.updated_at, self.tz),
            "position": component.position,
            "description": component.description or None,
            "showcase": component.showcase,
            "start_date": component.start_date.isoformat()
            if component.start_date
            else None,
            "group_id": self.public_ids.get(component.group_id)
            if component.group_id
            else None,
            "page_id": self.page_id,
            "group": component.is_group,
            "only_show_if_degraded": component.only_show_if_degraded,
        }
        if component.is_group:
            body["components"] = self.children.get(component.pk, [])
        return body

    def incident_update(self, update: IncidentUpdate, incident: Incident) -> Body:
        return {
            "id": update.public_id,
            "status": update.status,
            "body": update.body,
            "incident_id": incident.public_id,
            "created_at": timestamp(update.created_at, self.tz),
            "updated_at": timestamp(update.updated_at, self.tz),
            "display_at": timestamp(update.display_at, self.tz),
            "affected_components": self.affected(update),
            "deliver_notifications": update.deliver_notifications,
            "custom_tweet": None,
            "tweet_id": None,
        }

    def affected(self, update: IncidentUpdate) -> list[Body] | None:
        """What the update changed, of the components this page shows (others' names
        stay on their own pages)."""
        shown = self.state.shown_codes
        entries = [
            {key: entry[key] for key in AFFECTED_KEYS}
            for entry in update.affected_components or ()
            if entry.get("code") in shown
        ]
        return entries or None

    def incident(self, incident: Incident) -> Body:
        body: Body = {
            "id": incident.public_id,
            "name": incident.name,
            "status": incident.status,
            "created_at": timestamp(incident.created_at, self.tz),
            "updated_at": timestamp(incident.updated_at, self.tz),
            "monitoring_at": timestamp(incident.monitoring_at, self.tz),
            "resolved_at": timestamp(incident.resolved_at, self.tz),
            "impact": incident.impact,
            "shortlink": incident.shortlink(self.state.page.url),
            "started_at": timestamp(incident.started_at, self.tz),
            "page_id": self.page_id,
            "incident_updates": [
                self.incident_update(update, incident)
                for update in incident.updates.all()
            ],
            "components": [
                self.component(component)
                for component in sorted(
                    incident.components.all(), key=lambda c: (c.position, c.pk)
                )
            ],
        }
        if incident.is_maintenance:
            body["scheduled_for"] = timestamp(incident.scheduled_for, self.tz)
            body["scheduled_until"] = timestamp(incident.scheduled_until, self.tz)
        return body

    # The eight endpoint bodies ------------------------------------------------------

    def summary(self) -> Body:
        maintenances = sorted(
            self.state.active + self.state.upcoming,
            key=lambda m: (m.scheduled_for, m.pk),
        )
        return {
            "page": self.page(),
            "status": self.status(),
            "components": [self.component(c) for c in self.state.ordered_components()],
            "incidents": [self.incident(i) for i in self.state.unresolved],
            "scheduled_maintenances": [self.incident(m) for m in maintenances],
        }

    def status_body(self) -> Body:
        return {"page": self.page(), "status": self.status()}

    def components(self) -> Body:
        return {
            "page": self.page(),
            "components": [self.component(c) for c in self.state.ordered_components()],
        }

    def incidents(self, which: str) -> Body:
        queryset = self.state.incidents()
        if which == "unresolved":
            incidents = self.state.unresolved
        else:
            incidents = self.state.shown(queryset.incidents()[:RECENT_LIMIT])
        return {"page": self.page(), "incidents": [self.incident(i) for i in incidents]}

    def scheduled_maintenances(self, which: str) -> Body:
        if which == "upcoming":
            maintenances = self.state.upcoming
        elif which == "active":
            maintenances = self.state.active
        else:
            queryset = self.state.incidents().maintenances()
            maintenances = list(
                queryset.order_by("-scheduled_for", "-id")[:RECENT_LIMIT]
            )
        return {
            "page": self.page(),
            "scheduled_maintenances": [self.incident(m) for m in maintenances],
        }
