"""Every write to the status model goes through these functions.

The console, the management commands and (later) the API and the probes all call them,
so a status can only change in one way. Each refuses bad input with a
``ValidationError`` whose message says what is wrong, keyed by the field.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from .models import (
    ACTIVE_MAINTENANCE_STATUSES,
    IMPACT_SEVERITY,
    Component,
    ComponentStatus,
    ComponentStatusChange,
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

User = AbstractBaseUser | None
ComponentStatuses = Mapping[Component, str]

# Back-dating an update is allowed; dating it in the future is not, beyond clock skew.
FUTURE_TOLERANCE = dt.timedelta(minutes=1)

_IMPACT_OF_STATUS: dict[str, str] = {
    ComponentStatus.OPERATIONAL: Impact.NONE,
    ComponentStatus.UNDER_MAINTENANCE: Impact.NONE,
    ComponentStatus.DEGRADED_PERFORMANCE: Impact.MINOR,
    ComponentStatus.PARTIAL_OUTAGE: Impact.MAJOR,
    ComponentStatus.MAJOR_OUTAGE: Impact.CRITICAL,
}
_MAINTENANCE_ORDER = [choice.value for choice in MaintenanceStatus]


# Page settings ------------------------------------------------------------------------


def page_update(*, page: Page | None = None, **fields: Any) -> Page:
    page = page or Page.get()
    allowed = {"name", "url", "time_zone", "description"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError(f"Unknown page settings: {', '.join(sorted(unknown))}.")
    for name, value in fields.items():
        setattr(page, name, value)
    page.full_clean()
    page.save()
    return page


# Components ---------------------------------------------------------------------------


def _check_group(*, group: Component | None, is_group: bool) -> None:
    if group is None:
        return
    if is_group:
        raise ValidationError(
            {"group": "A group cannot belong to another group: only two levels exist."}
        )
    if not group.is_group:
        raise ValidationError({"group": f"'{group.name}' is a component, not a group."})
    if group.is_deleted:
        raise ValidationError({"group": f"The group '{group.name}' was deleted."})


def _next_position(group: Component | None) -> int:
    level = Component.objects.live().filter(group=group)
    highest = level.aggregate(highest=Max("position"))["highest"]
    return 0 if highest is None else highest + 1


@transaction.atomic
def component_create(
    *,
    name: str,
    description: str = "",
    is_group: bool = False,
    group: Component | None = None,
    position: int | None = None,
    showcase: bool = True,
    only_show_if_degraded: bool = False,
    start_date: dt.date | None = None,
    status: str = ComponentStatus.OPERATIONAL,
) -> Component:
    _check_group(group=group, is_group=is_group)
    component = Component(
        name=name,
        description=description,
        is_group=is_group,
        group=group,
        position=_next_position(group) if position is None else position,
        showcase=showcase,
        only_show_if_degraded=only_show_if_degraded,
        start_date=start_date,
        status=ComponentStatus.OPERATIONAL if is_group else status,
    )
    component.full_clean()
    component.save()
    if group is not None:
        _group_refresh(group)
    return component


@transaction.atomic
def component_update(*, component: Component, **fields: Any) -> Component:
    """Change a component's descriptive fields; its status has its own service."""
    allowed = {
        "name",
        "description",
        "group",
        "position",
        "showcase",
        "only_show_if_degraded",
        "start_date",
    }
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError(
            f"These fields cannot be changed here: {', '.join(sorted(unknown))}."
        )
    _refuse_deleted(component)
    old_group = Component.objects.get(pk=component.pk).group
    if "group" in fields:
        _check_group(group=fields["group"], is_group=component.is_group)
        if fields["group"] != old_group and "position" not in fields:
            fields["position"] = _next_position(fields["group"])
    for name, value in fields.items():
        setattr(component, name, value)
    component.full_clean()
    # Only the edited fields: the caller's copy may hold a status that has since moved.
    component.save(update_fields=[*fields, "updated_at"])
    for group in {g for g in (old_group, component.group) if g is not None}:
        _group_refresh(group)
    return component


@transaction.atomic
def component_delete(*, component: Component) -> None:
    """Soft-delete, so past incidents and status history keep the component's name."""
    _refuse_deleted(component)
    if component.is_group and component.children.live().exists():
        raise ValidationError(
            f"The group '{component.name}' still has components: move or delete them "
            "first."
        )
    component.deleted_at = timezone.now()
    component.save(update_fields=["deleted_at", "updated_at"])
    if component.group is not None:
        _group_refresh(component.group)


@transaction.atomic
def components_reorder(*, ordered: Iterable[Component]) -> None:
    """Give the components of one level the positions 0, 1, 2... in the given order."""
    ordered = list(ordered)
    if len({component.group_id for component in ordered}) > 1:
        raise ValidationError(
            "Only components of the same level can be reordered together."
        )
    for position, component in enumerate(ordered):
        if component.position != position:
            component.position = position
            component.save(update_fields=["position", "updated_at"])


def _refuse_deleted(component: Component) -> None:
    if component.is_deleted:
        raise ValidationError(
            {"component": f"The component '{component.name}' was deleted."}
        )


@transaction.atomic
def component_set_status(
    *,
    component: Component,
    status: str,
    source: str,
    actor: User = None,
    incident: Incident | None = None,
    at: dt.datetime | None = None,
) -> ComponentStatusChange | None:
    """Set a component's status and record who or what changed it.

    Returns the recorded change, or None when the status was already that.
    """
    if status not in ComponentStatus.values:
        raise ValidationError(
            {
                "status": f"'{status}' is not a component status; use one of "
                f"{', '.join(ComponentStatus.values)}."
            }
        )
    if source not in StatusSource.values:
        raise ValidationError({"source": f"'{source}' is not a status source."})
    component = Component.objects.select_for_update().get(pk=component.pk)
    _refuse_deleted(component)
    if component.is_group:
        raise ValidationError(
            {
                "component": f"'{component.name}' is a group: its status follows its "
                "components."
            }
        )
    if component.status == status:
        return None
    change = ComponentStatusChange.objects.create(
        component=component,
        old_status=component.status,
        new_status=status,
        source=source,
        actor=_signed_in(actor),
        incident=incident,
        created_at=at or timezone.now(),
    )
    component.status = status
    component.save(update_fields=["status", "updated_at"])
    if component.group is not None:
        _group_refresh(component.group)
    return change


def _signed_in(actor: User) -> Any:
    """The user to record, or None for an anonymous or absent one."""
    return actor if getattr(actor, "pk", None) else None


def _group_refresh(group: Component) -> None:
    """Store the worst status of the group's live children.

    The caller's ``group`` may be a stale copy, so compare and write against the row,
    locked first so two children changing at once cannot each miss the other.
    """
    stored = Component.objects.select_for_update().get(pk=group.pk)
    children = stored.children.live().values_list("status", flat=True)
    status = worst_status(list(children))
    if stored.status != status:
        stored.status = status
        stored.save(update_fields=["status", "updated_at"])
    group.status = status


# Incidents and maintenance ------------------------------------------------------------


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
        if _MAINTENANCE_ORDER.index(status) < _MAINTENANCE_ORDER.index(incident.status):
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
) -> IncidentUpdate:
    """Post an update: the incident's status and its components' change together.

    1. Check the status, the date and the components; nothing is written on refusal.
    2. Set each given component's status (recording the change against the incident).
    3. Move the incident's status, timestamps and impact.
    4. Store the update with each component's old and new status.
    """
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    _check_transition(incident, status)
    at = _check_display_at(display_at)
    if component_statuses is None and incident.is_maintenance:
        component_statuses = _default_maintenance_statuses(incident, status)
    component_statuses = dict(component_statuses or {})
    _check_component_statuses(component_statuses)

    affected = []
    for component, new_status in sorted(
        component_statuses.items(), key=lambda item: item[0].pk
    ):
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
    incident.components.add(*component_statuses)
    incident.status = status
    _apply_timestamps(incident, status, at)
    _refresh_impact(incident, component_statuses.values())
    incident.save()
    return IncidentUpdate.objects.create(
        incident=incident,
        status=status,
        body=body,
        display_at=at,
        deliver_notifications=deliver_notifications,
        affected_components=affected or None,
        author=_signed_in(actor),
    )


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
) -> Incident:
    """Open an incident with its first update (a resolved one records a past event)."""
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
    incident_post_update(
        incident=incident,
        status=status,
        body=body,
        component_statuses=component_statuses,
        display_at=started_at,
        deliver_notifications=deliver_notifications,
        actor=actor,
        source=source,
    )
    incident.refresh_from_db()
    return incident


@transaction.atomic
def incident_edit(
    *, incident: Incident, name: str | None = None, impact_override: str | None = None
) -> Incident:
    """Rename an incident or set (or clear, with "") its impact override."""
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    if name is not None:
        incident.name = name.strip()
    if impact_override is not None:
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
    return incident


@transaction.atomic
def incident_delete(*, incident: Incident) -> None:
    incident.delete()


@transaction.atomic
def maintenance_schedule(
    *,
    name: str,
    scheduled_for: dt.datetime,
    scheduled_until: dt.datetime,
    components: Iterable[Component] = (),
    body: str = "",
    auto_start: bool = True,
    auto_complete: bool = True,
    deliver_notifications: bool = True,
    actor: User = None,
) -> Incident:
    if scheduled_until <= scheduled_for:
        raise ValidationError(
            {"scheduled_until": "The maintenance must end after it starts."}
        )
    components = list(components)
    _check_component_statuses(
        {component: ComponentStatus.UNDER_MAINTENANCE for component in components}
    )
    maintenance = Incident(
        kind=IncidentKind.MAINTENANCE,
        name=name.strip(),
        status=MaintenanceStatus.SCHEDULED,
        impact=Impact.MAINTENANCE,
        started_at=scheduled_for,
        scheduled_for=scheduled_for,
        scheduled_until=scheduled_until,
        auto_start=auto_start,
        auto_complete=auto_complete,
    )
    maintenance.full_clean()
    maintenance.save()
    maintenance.components.set(components)
    incident_post_update(
        incident=maintenance,
        status=MaintenanceStatus.SCHEDULED,
        body=body,
        component_statuses={},
        deliver_notifications=deliver_notifications,
        actor=actor,
    )
    maintenance.refresh_from_db()
    return maintenance


def maintenance_advance(*, now: dt.datetime | None = None) -> list[IncidentUpdate]:
    """Start and complete the maintenances whose time has come (periodic job).

    Safe to run from two places at once: each maintenance is locked and re-checked.
    """
    now = now or timezone.now()
    due_start = Incident.objects.upcoming().filter(
        auto_start=True, scheduled_for__lte=now
    )
    due_end = Incident.objects.maintenances().filter(
        auto_complete=True,
        status__in=(MaintenanceStatus.SCHEDULED, *ACTIVE_MAINTENANCE_STATUSES),
        scheduled_until__lte=now,
    )
    updates = []
    for pk in due_start.values_list("pk", flat=True):
        updates += _maintenance_move(pk, MaintenanceStatus.IN_PROGRESS, now)
    for pk in due_end.values_list("pk", flat=True):
        updates += _maintenance_move(pk, MaintenanceStatus.COMPLETED, now)
    return updates


_AUTOMATIC_BODY: dict[str, str] = {
    MaintenanceStatus.IN_PROGRESS: "Scheduled maintenance is currently in progress.",
    MaintenanceStatus.COMPLETED: "The scheduled maintenance has been completed.",
}


@transaction.atomic
def _maintenance_move(pk: int, status: str, now: dt.datetime) -> list[IncidentUpdate]:
    maintenance = (
        Incident.objects.select_for_update(skip_locked=True).filter(pk=pk).first()
    )
    if maintenance is None:
        return []
    order = _MAINTENANCE_ORDER
    if order.index(maintenance.status) >= order.index(status):
        return []  # another run got there first
    return [
        incident_post_update(
            incident=maintenance,
            status=status,
            body=_AUTOMATIC_BODY[status],
            display_at=min(now, timezone.now()),
            source=StatusSource.MAINTENANCE,
        )
    ]
