"""What the status domain shows the world, read in a handful of queries: the page,
its components as a tree, the incidents to show and the evidence behind each status.
The public pages, API v2, feeds, badges, embed and notification bodies all read here.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from functools import cached_property
from typing import Any

from django.db.models import Max, Prefetch
from django.utils import timezone

from incidents.evidence import Evidence, components_evidence
from incidents.models import (
    Component,
    Incident,
    IncidentQuerySet,
    IncidentUpdate,
    Page,
)
from incidents.status import PageStatus, page_status

RECENT_LIMIT = 50


def component_tree(
    components: list[Component],
) -> list[tuple[Component, list[Component]]]:
    """Top-level components and groups by position, each group with its children."""
    children: dict[int, list[Component]] = {}
    for component in components:
        if component.group_id is not None:
            children.setdefault(component.group_id, []).append(component)
    key = lambda component: (component.position, component.pk)  # noqa: E731
    top = sorted((c for c in components if c.group_id is None), key=key)
    return [(parent, sorted(children.get(parent.pk, []), key=key)) for parent in top]


def incident_queryset() -> IncidentQuerySet:
    """Incidents with their updates (newest first) and live components prefetched."""
    updates: Any = Prefetch(
        "updates", queryset=IncidentUpdate.objects.order_by("-display_at", "-id")
    )
    components: Any = Prefetch("components", queryset=Component.objects.live())
    return Incident.objects.prefetch_related(updates, components)


class PublicState:
    """Everything the public page and API show, each part loaded once when first used.

    Every part is a fixed number of queries, whatever the number of rows.
    """

    def __init__(self, page: Page, components: list[Component]) -> None:
        self.page = page
        self.components = components

    @classmethod
    def load(cls) -> PublicState:
        return cls(page=Page.get(), components=list(Component.objects.live()))

    @cached_property
    def unresolved(self) -> list[Incident]:
        return list(incident_queryset().unresolved())

    @cached_property
    def upcoming(self) -> list[Incident]:
        return list(incident_queryset().upcoming().order_by("scheduled_for", "id"))

    @cached_property
    def active(self) -> list[Incident]:
        return list(incident_queryset().active().order_by("scheduled_for", "id"))

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return self.page.tzinfo

    @cached_property
    def evidence(self) -> dict[int, Evidence]:
        """What the monitor knows of each live component's evidence, by id."""
        live = {c.pk for c in self.components if not c.is_group}
        found = components_evidence(timezone.now())
        return {pk: found[pk] for pk in live if pk in found}

    @property
    def monitoring_delayed(self) -> bool:
        return any(e.delayed_since is not None for e in self.evidence.values())

    @property
    def status(self) -> PageStatus:
        return page_status(
            component_statuses=[c.status for c in self.components if not c.is_group],
            unresolved_impacts=[incident.impact for incident in self.unresolved],
            maintenance_in_progress=bool(self.active),
            monitoring_delayed=self.monitoring_delayed,
        )

    def updated_at(self) -> dt.datetime:
        latest = [self.page.updated_at]
        latest += [component.updated_at for component in self.components]
        newest_incident = Incident.objects.aggregate(newest=Max("updated_at"))["newest"]
        if newest_incident is not None:
            latest.append(newest_incident)
        return max(latest)

    def ordered_components(self) -> list[Component]:
        ordered = []
        for parent, children in component_tree(self.components):
            ordered.append(parent)
            ordered.extend(children)
        return ordered
