"""Record each announced change as an outbox event, in the change's transaction,
and start its fan-out once that transaction commits."""

from __future__ import annotations

from typing import Any

from incidents.events import Change, Kind
from incidents.models import Component, Page
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
    found = incident_queryset(v2.state.page).get(pk=change.incident.pk)
    [incident] = v2.state.shown([found])
    body = v2.incident(incident)
    label = _SUBJECT_PREFIX.get(change.kind, body["status"].replace("_", " ").title())
    return Event(
        kind=change.kind,
        page=v2.state.page,
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
        page=v2.state.page,
        incident=change.incident,
        component_ids=_touched([component]),
        payload={
            "page": _page_body(v2),
            "component": v2.component(component),
            "component_update": update,
        },
        subject=f"[{v2.state.page.name}] {component.display_name} is {words}",
    )


def _pages_told(change: Change) -> list[Page]:
    """The pages whose subscribers hear of a change: those of the component, or
    those of the incident that show the update."""
    if change.kind == Kind.COMPONENT_UPDATED:
        assert change.status_change is not None
        pages = Page.objects.filter(components=change.status_change.component_id)
    else:
        assert change.incident is not None
        pages = Page.objects.filter(incidents=change.incident)
        update = change.update
        if update is not None and update.pk is not None:
            limited = list(update.shown_on.all())
            if limited:
                pages = pages.filter(pk__in=[page.pk for page in limited])
    return list(pages.order_by("pk"))


def event_record(change: Change) -> None:
    """The listener: write one event per page told, in that page's words, now;
    fan each out after commit."""
    if not change.notify:
        return  # staff chose not to notify on this update
    for page in _pages_told(change):
        v2 = V2(PublicState.load(page))
        if change.kind == Kind.COMPONENT_UPDATED:
            event = _component_event(change, v2)
        else:
            event = _incident_event(change, v2)
        event.save()
        _fan_out_after_commit(event)


def _fan_out_after_commit(event: Event) -> None:
    after_commit(
        lambda: enqueue(
            "notifications.tasks.event_fan_out",
            args=(event.pk,),
            queue="notifications",
        ),
        f"the fan-out of event {event.pk}",
    )
