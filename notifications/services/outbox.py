"""Record each announced change as an outbox event, in the change's transaction,
and start its fan-out once that transaction commits."""

from __future__ import annotations

from typing import Any

from incidents.events import Change, Kind
from incidents.models import Component
from incidents.selectors import PublicState, incident_queryset
from kit.tasks import enqueue
from visitor.api.serializers import V2, timestamp

from ..models import Event
from .delivery import after_commit

_SUBJECT_PREFIX = {
    Kind.POSTMORTEM_PUBLISHED: "Postmortem",
    Kind.MAINTENANCE_SCHEDULED: "Scheduled maintenance",
    Kind.MAINTENANCE_STARTED: "Maintenance in progress",
    Kind.MAINTENANCE_COMPLETED: "Maintenance completed",
}


def _page_body(v2: V2) -> dict[str, Any]:
    status = v2.status()
    return {
        "id": v2.page_id,
        "status_indicator": status["indicator"],
        "status_description": status["description"],
    }


def _touched(components: list[Component]) -> list[int]:
    """The components and their groups: a group's subscribers hear of its children."""
    ids = {c.pk for c in components} | {c.group_id for c in components if c.group_id}
    return sorted(ids)


def _incident_event(change: Change, v2: V2) -> Event:
    assert change.incident is not None
    incident = incident_queryset().get(pk=change.incident.pk)
    body = v2.incident(incident)
    label = _SUBJECT_PREFIX.get(change.kind, body["status"].replace("_", " ").title())
    return Event(
        kind=change.kind,
        incident=incident,
        component_ids=_touched(list(incident.components.all())),
        payload={"page": _page_body(v2), "incident": body},
        subject=f"[{v2.state.page.name}] {label}: {incident.name}",
    )


def _component_event(change: Change, v2: V2) -> Event:
    assert change.status_change is not None
    status_change = change.status_change
    component = Component.objects.select_related("group").get(
        pk=status_change.component_id
    )
    update = {
        "id": f"{status_change.pk}",
        "component_id": component.public_id,
        "component_type": "Component",
        "old_status": status_change.old_status,
        "new_status": status_change.new_status,
        "created_at": timestamp(status_change.created_at, v2.tz),
    }
    words = status_change.new_status.replace("_", " ")
    return Event(
        kind=change.kind,
        incident=change.incident,
        component_ids=_touched([component]),
        payload={
            "page": _page_body(v2),
            "component": v2.component(component),
            "component_update": update,
        },
        subject=f"[{v2.state.page.name}] {component.display_name} is {words}",
    )


def event_record(change: Change) -> None:
    """The listener: write the event now, fan it out after commit."""
    if not change.notify:
        return  # staff chose not to notify on this update
    v2 = V2(PublicState.load())
    if change.kind == Kind.COMPONENT_UPDATED:
        event = _component_event(change, v2)
    else:
        event = _incident_event(change, v2)
    event.save()
    after_commit(
        lambda: enqueue(
            "notifications.tasks.event_fan_out",
            args=(event.pk,),
            queue="notifications",
        ),
        f"the fan-out of event {event.pk}",
    )
