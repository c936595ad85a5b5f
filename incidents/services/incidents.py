"""Incidents: open, post updates, edit, publish a postmortem, delete."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from incidents import events
from incidents.models import (
    IMPACT_SEVERITY,
    Component,
    ComponentStatus,
    Impact,
    Incident,
    IncidentKind,
    IncidentStatus,
    IncidentUpdate,
    MaintenanceStatus,
    Origin,
    Page,
    StatusSource,
    worst_status,
)

from .components import (
    ComponentStatuses,
    User,
    _signed_in,
    component_set_status,
    pages_place,
)

# Back-dating an update is allowed; dating it in the future is not, beyond clock skew.
FUTURE_TOLERANCE = dt.timedelta(minutes=1)

_IMPACT_OF_STATUS: dict[str, str] = {
    ComponentStatus.OPERATIONAL: Impact.NONE,
    ComponentStatus.UNDER_MAINTENANCE: Impact.NONE,
    ComponentStatus.DEGRADED_PERFORMANCE: Impact.MINOR,
    ComponentStatus.PARTIAL_OUTAGE: Impact.MAJOR,
    ComponentStatus.MAJOR_OUTAGE: Impact.CRITICAL,
}
MAINTENANCE_ORDER = [choice.value for choice in MaintenanceStatus]


def impact_of(statuses: Iterable[str]) -> str:
    """The impact a set of component statuses implies: the worst of them."""
    return _IMPACT_OF_STATUS[worst_status(list(statuses))]


def _check_display_at(display_at: dt.datetime | None) -> dt.datetime:
    now = timezone.now()
    if display_at is None:
        return now
    if display_at > now + FUTURE_TOLERANCE:
        raise ValidationError(
            {
                "display_at": "An update cannot be dated in the future; back-dating is "
                "allowed."
            }
        )
    return display_at


def _check_component_statuses(component_statuses: ComponentStatuses) -> None:
    for component, status in component_statuses.items():
        if component.is_deleted:
            raise ValidationError(
                {
                    "components": f"The component '{component.name}' was deleted; "
                    "it can no longer be part of an incident."
                }
            )
        if component.is_group:
            raise ValidationError(
                {
                    "components": f"'{component.name}' is a group: choose its "
                    "components instead."
                }
            )
        if status not in ComponentStatus.values:
            raise ValidationError(
                {
                    "components": f"'{status}' is not a component status for "
                    f"'{component.name}'."
                }
            )


def _check_transition(incident: Incident, status: str) -> None:
    if status not in incident.allowed_statuses:
        kind = "a scheduled maintenance" if incident.is_maintenance else "an incident"
        raise ValidationError(
            {
                "status": f"'{status}' is not a status of {kind}; use one of "
                f"{', '.join(incident.allowed_statuses)}."
            }
        )
    if status == IncidentStatus.POSTMORTEM:
        raise ValidationError(
            {
                "status": "Publish a postmortem to give an incident the postmortem "
                "status."
            }
        )
    if incident.is_maintenance and incident.pk is not None:
        if MAINTENANCE_ORDER.index(status) < MAINTENANCE_ORDER.index(incident.status):
            raise ValidationError(
                {
                    "status": f"A maintenance cannot go back from {incident.status} to "
                    f"{status}."
                }
            )


def _default_maintenance_statuses(
    incident: Incident, status: str
) -> dict[Component, str]:
    """A maintenance moves its components without being told: in, then back out."""
    components = incident.components.live()
    if status == MaintenanceStatus.IN_PROGRESS:
        return {
            component: ComponentStatus.UNDER_MAINTENANCE for component in components
        }
    if status == MaintenanceStatus.COMPLETED:
        return {
            component: ComponentStatus.OPERATIONAL
            for component in components
            if component.status == ComponentStatus.UNDER_MAINTENANCE
        }
    return {}


def _apply_timestamps(incident: Incident, status: str, at: dt.datetime) -> None:
    if status == IncidentStatus.MONITORING and incident.monitoring_at is None:
        incident.monitoring_at = at
    if status in (IncidentStatus.RESOLVED, MaintenanceStatus.COMPLETED):
        incident.resolved_at = incident.resolved_at or at
    elif incident.resolved_at is not None and status != IncidentStatus.POSTMORTEM:
        incident.resolved_at = None  # reopened
    if status == MaintenanceStatus.IN_PROGRESS:
        incident.started_at = at


def _refresh_impact(incident: Incident, statuses: Iterable[str]) -> None:
    if incident.impact_override:
        incident.impact = incident.impact_override
    elif incident.is_maintenance:
        incident.impact = Impact.MAINTENANCE
    else:
        # An incident keeps the worst impact it reached, even after recovery.
        new = impact_of(statuses)
        if IMPACT_SEVERITY[new] > IMPACT_SEVERITY[incident.impact]:
            incident.impact = new


def _move_components(
    incident: Incident, statuses: ComponentStatuses, source: str, actor: User
) -> list[dict[str, str]]:
    """Set each component's status for this incident; what the update records."""
    affected = []
    for component, new_status in sorted(statuses.items(), key=lambda item: item[0].pk):
        change = component_set_status(
            component=component,
            status=new_status,
            source=source,
            actor=actor,
            incident=incident,
        )
        affected.append(
            {
                "code": component.public_id,
                "name": component.display_name,
                # Read under the component's lock, so it agrees with the history.
                "old_status": change.old_status if change else new_status,
                "new_status": new_status,
            }
        )
    return affected


def _pages_follow_components(
    incident: Incident, *, first: bool, within: list[Page] | None = None
) -> None:
    """An incident is on the pages of the components it names; one on no page yet
    (it names none, or only components no page shows) is on the default page. With
    its ``first`` update, that is part of its making.

    An update limited to some pages (``within``) brings the incident to no other
    page. A page the incident joins later sees the updates posted from then on:
    those shown on every page so far stay on the pages they were shown on.
    """
    pages = list(Page.objects.filter(components__incidents=incident).distinct())
    if within is not None:
        pages = [page for page in pages if page in within]
    if not pages and not incident.pages.exists():
        pages = [Page.get()]
    if first:
        pages_place(incident, pages)
        return
    current = set(incident.pages.values_list("pk", flat=True))
    joining = [page for page in pages if page.pk not in current]
    if not joining:
        return
    through: Any = IncidentUpdate.shown_on.through
    earlier = incident.updates.filter(shown_on__isnull=True).values_list(
        "pk", flat=True
    )
    through.objects.bulk_create(
        [
            through(incidentupdate_id=pk, page_id=page)
            for pk in earlier
            for page in current
        ]
    )
    incident.pages.add(*joining)


def _check_limited(
    incident: Incident,
    shown_on: list[Page],
    first_update: bool,
    status_before: str,
    status: str,
) -> None:
    """An update on only some of the incident's pages may tell more, never move
    what every page shows: the incident's status."""
    everywhere = set(incident.pages.values_list("pk", flat=True))
    if not shown_on or {page.pk for page in shown_on} >= everywhere:
        return
    if first_update:
        raise ValidationError(
            {
                "shown_on": "An incident's first update is shown on every page it "
                "is on: open it on fewer pages instead."
            }
        )
    if status != status_before:
        raise ValidationError(
            {
                "status": "An update shown on only some of the incident's pages "
                "cannot change its status, which every page shows: post the status "
                "change to every page, and the detail to some."
            }
        )


def _check_shown_on(incident: Incident, shown_on: Iterable[Page] | None) -> list[Page]:
    """The pages an update is limited to: some of the incident's, never others."""
    chosen = list(shown_on or ())
    on = set(incident.pages.values_list("pk", flat=True))
    outside = [page.name for page in chosen if page.pk not in on]
    if outside:
        raise ValidationError(
            {
                "shown_on": "This incident is not on "
                + ", ".join(sorted(outside))
                + ": an update can be limited only to the incident's own pages."
            }
        )
    return chosen


@transaction.atomic
def incident_post_update(
    *,
    incident: Incident,
    status: str,
    body: str = "",
    component_statuses: ComponentStatuses | None = None,
    display_at: dt.datetime | None = None,
    deliver_notifications: bool = True,
    actor: User = None,
    source: str = StatusSource.STAFF,
    shown_on: Iterable[Page] | None = None,
) -> IncidentUpdate:
    """Post an update: the incident's status and its components' change together.

    1. Check the status, the date and the components; nothing is written on refusal.
    2. Set each given component's status (recording the change against the incident).
    3. Move the incident's status, timestamps and impact; the incident is on the
       pages of every component it names.
    4. Store the update with each component's old and new status, shown on every
       page of the incident, or only on ``shown_on`` (an internal update).
    """
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    status_before = incident.status
    _check_transition(incident, status)
    at = _check_display_at(display_at)
    if component_statuses is None and incident.is_maintenance:
        component_statuses = _default_maintenance_statuses(incident, status)
    component_statuses = dict(component_statuses or {})
    _check_component_statuses(component_statuses)

    affected = _move_components(incident, component_statuses, source, actor)
    incident.components.add(*component_statuses)
    first_update = not incident.updates.exists()
    limited = list(shown_on or ()) or None
    _pages_follow_components(incident, first=first_update, within=limited)
    shown_on = _check_shown_on(incident, shown_on)
    _check_limited(incident, shown_on, first_update, status_before, status)
    if source in (StatusSource.STAFF, StatusSource.API):
        incident.automation_stopped = True  # a person speaks now; the probes stop
    incident.status = status
    _apply_timestamps(incident, status, at)
    _refresh_impact(incident, component_statuses.values())
    incident.save()
    first = not incident.updates.exists()
    update = IncidentUpdate.objects.create(
        incident=incident,
        status=status,
        body=body,
        display_at=at,
        deliver_notifications=deliver_notifications,
        affected_components=affected or None,
        author=_signed_in(actor),
    )
    update.shown_on.set(shown_on)
    kind = events.update_kind(incident, update, first=first)
    events.announce(
        events.Change(
            kind=kind, incident=incident, update=update, notify=deliver_notifications
        )
    )
    return update


@transaction.atomic
def incident_create(
    *,
    name: str,
    status: str = IncidentStatus.INVESTIGATING,
    body: str = "",
    component_statuses: ComponentStatuses | None = None,
    impact_override: str = "",
    origin: str = Origin.STAFF,
    display_at: dt.datetime | None = None,
    deliver_notifications: bool = True,
    actor: User = None,
    source: str = StatusSource.STAFF,
    pages: Iterable[Page] = (),
    shown_on: Iterable[Page] | None = None,
) -> Incident:
    """Open an incident with its first update (a resolved one records a past event).

    It is on ``pages`` and on those of its components (on the default page if that
    makes none).
    """
    started_at = _check_display_at(display_at)
    incident = Incident(
        kind=IncidentKind.INCIDENT,
        name=name.strip(),
        status=IncidentStatus.INVESTIGATING,
        impact_override=impact_override,
        origin=origin,
        started_at=started_at,
    )
    _check_transition(incident, status)
    incident.full_clean()
    incident.save()
    pages_place(incident, pages)
    incident_post_update(
        incident=incident,
        status=status,
        body=body,
        component_statuses=component_statuses,
        display_at=started_at,
        deliver_notifications=deliver_notifications,
        actor=actor,
        source=source,
        shown_on=shown_on,
    )
    incident.refresh_from_db()
    return incident


@transaction.atomic
def incident_edit(
    *,
    incident: Incident,
    name: str | None = None,
    impact_override: str | None = None,
    automation_stopped: bool | None = None,
    hold_auto_resolve: bool | None = None,
) -> Incident:
    """Rename an incident, set (or clear, with "") its impact override, or steer its
    automation. Editing the text of an automatic incident takes it over from the
    probes, as posting an update does."""
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    if name is not None and name.strip() != incident.name:
        incident.name = name.strip()
        incident.automation_stopped = True
    if automation_stopped is not None:
        incident.automation_stopped = automation_stopped
    if hold_auto_resolve is not None:
        incident.hold_auto_resolve = hold_auto_resolve
    if impact_override is not None and impact_override != incident.impact_override:
        incident.automation_stopped = True
        incident.impact_override = impact_override
        if impact_override:
            incident.impact = impact_override
        elif incident.is_maintenance:
            incident.impact = Impact.MAINTENANCE
        else:
            statuses = [
                entry["new_status"]
                for update in incident.updates.all()
                for entry in update.affected_components or []
            ]
            incident.impact = impact_of(statuses)
    incident.full_clean()
    incident.save()
    events.announce_quietly()
    return incident


@transaction.atomic
def incident_publish_postmortem(
    *, incident: Incident, body: str, actor: User = None
) -> Incident:
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    if incident.is_maintenance:
        raise ValidationError("A scheduled maintenance has no postmortem.")
    if incident.status not in (IncidentStatus.RESOLVED, IncidentStatus.POSTMORTEM):
        raise ValidationError(
            {
                "postmortem_body": "Resolve the incident before publishing its "
                "postmortem."
            }
        )
    if not body.strip():
        raise ValidationError({"postmortem_body": "The postmortem is empty."})
    incident.postmortem_body = body
    incident.postmortem_published_at = (
        incident.postmortem_published_at or timezone.now()
    )
    incident.status = IncidentStatus.POSTMORTEM
    incident.save()
    events.announce(
        events.Change(kind=events.Kind.POSTMORTEM_PUBLISHED, incident=incident)
    )
    return incident


@transaction.atomic
def incident_update_edit(
    *,
    update: IncidentUpdate,
    body: str | None = None,
    display_at: dt.datetime | None = None,
    deliver_notifications: bool | None = None,
) -> IncidentUpdate:
    """Correct an update's text or date; subscribers are not told again."""
    update = IncidentUpdate.objects.select_for_update().get(pk=update.pk)
    if body is not None:
        update.body = body
    if display_at is not None:
        update.display_at = _check_display_at(display_at)
    if deliver_notifications is not None:
        update.deliver_notifications = deliver_notifications
    update.save()
    events.announce_quietly()
    return update


@transaction.atomic
def incident_delete(*, incident: Incident) -> None:
    incident.delete()
    events.announce_quietly()
