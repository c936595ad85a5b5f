"""What the status domain shows the world, read in a handful of queries: the page,
its components as a tree, the incidents to show and the evidence behind each status.
The public pages, API v2, feeds, badges, embed and notification bodies all read here.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable
from functools import cached_property
from typing import Any

from django.db.models import Max, Prefetch, Q
from django.utils import timezone

from incidents.evidence import Evidence, components_evidence
from incidents.models import (
    Component,
    Impact,
    Incident,
    IncidentQuerySet,
    IncidentUpdate,
    Page,
    worst_status,
)
from incidents.services.incidents import impact_of
from incidents.status import PageStatus, page_status

RECENT_LIMIT = 50


def component_tree(
    components: list[Component],
) -> list[tuple[Component, list[Component]]]:
    """Top-level components and groups by position, each group with its children.

    A component whose group is not among ``components`` stands at the top level.
    """
    present = {c.pk for c in components}
    children: dict[int, list[Component]] = {}
    for component in components:
        if component.group_id in present:
            children.setdefault(component.group_id, []).append(component)
    key = lambda component: (component.position, component.pk)  # noqa: E731
    top = sorted((c for c in components if c.group_id not in present), key=key)
    return [(parent, sorted(children.get(parent.pk, []), key=key)) for parent in top]


def page_components(page: Page) -> list[Component]:
    """The live components ``page`` shows; a group's status is that of the children
    this page shows (another page may show more of them)."""
    components = list(Component.objects.live().filter(pages=page))
    children: dict[int, list[str]] = {}
    for component in components:
        if component.group_id is not None:
            children.setdefault(component.group_id, []).append(component.status)
    for component in components:
        if component.is_group:
            # None of its children on this page: none of their statuses either.
            component.status = worst_status(children.get(component.pk, []))
    return components


def page_codes(page: Page) -> set[str]:
    """The public ids of every component ``page`` shows or showed (deleted ones
    too: past updates name them)."""
    on_page = Component.objects.filter(pages=page)
    return set(on_page.values_list("public_id", flat=True))


def as_shown(incidents: Iterable[Incident], codes: set[str]) -> list[Incident]:
    """The incidents with the impact the page's own components gave them: an
    internal component's outage never makes a public incident (or the public page)
    look worse. Their updates must be those the page shows (``incident_queryset``).
    """
    shown = list(incidents)
    for incident in shown:
        if incident.impact_override or incident.is_maintenance:
            continue
        statuses = [
            entry["new_status"]
            for update in incident.updates.all()
            for entry in update.affected_components or ()
            if entry.get("code") in codes
        ]
        incident.impact = impact_of(statuses) if statuses else Impact.NONE
    return shown


def visible_updates(page: Page) -> Q:
    """The updates ``page`` shows: those limited to no page, or also to this one."""
    limited = IncidentUpdate.shown_on.through.objects.values("incidentupdate_id")
    on_page = limited.filter(page=page)
    return ~Q(pk__in=limited) | Q(pk__in=on_page)


def incident_queryset(page: Page) -> IncidentQuerySet:
    """The incidents ``page`` shows, with the updates it shows (newest first) and the
    live components it shows, prefetched."""
    updates: Any = Prefetch(
        "updates",
        queryset=IncidentUpdate.objects.filter(visible_updates(page)).order_by(
            "-display_at", "-id"
        ),
    )
    components: Any = Prefetch(
        "components", queryset=Component.objects.live().filter(pages=page)
    )
    return Incident.objects.filter(pages=page).prefetch_related(updates, components)


class PublicState:
    """Everything the public page and API show, each part loaded once when first used.

    Every part is a fixed number of queries, whatever the number of rows.
    """

    def __init__(self, page: Page, components: list[Component]) -> None:
        self.page = page
        self.components = components

    @classmethod
    def load(cls, page: Page | None = None) -> PublicState:
        """What ``page`` shows (the default page when None)."""
        page = page or Page.get()
        return cls(page=page, components=page_components(page))

    def incidents(self) -> IncidentQuerySet:
        return incident_queryset(self.page)

    @cached_property
    def unresolved(self) -> list[Incident]:
        return self.shown(self.incidents().unresolved())

    @cached_property
    def upcoming(self) -> list[Incident]:
        return self.shown(self.incidents().upcoming().order_by("scheduled_for", "id"))

    @cached_property
    def active(self) -> list[Incident]:
        return self.shown(self.incidents().active().order_by("scheduled_for", "id"))

    @cached_property
    def shown_codes(self) -> set[str]:
        return page_codes(self.page)

    def shown(self, incidents: Iterable[Incident]) -> list[Incident]:
        return as_shown(incidents, self.shown_codes)

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
        shown = Incident.objects.filter(pages=self.page)
        newest_incident = shown.aggregate(newest=Max("updated_at"))["newest"]
        if newest_incident is not None:
            latest.append(newest_incident)
        return max(latest)

    def ordered_components(self) -> list[Component]:
        ordered = []
        for parent, children in component_tree(self.components):
            ordered.append(parent)
            ordered.extend(children)
        return ordered
