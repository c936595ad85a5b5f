"""What the status model announces when it changes, for others to react to.

``incidents`` never imports the apps that react (notifications, the published
snapshot): they ``listen`` here, and the services ``announce`` each change inside the
transaction that made it, so a listener that writes rows (an outbox) commits or rolls
back with the change itself. The uptime app, which ``incidents`` does not import
either, announces its rebuilt record here too (``Kind.HISTORY_CHANGED``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .models import ComponentStatusChange, Incident, IncidentUpdate


class Kind:
    INCIDENT_CREATED = "incident.created"
    INCIDENT_UPDATED = "incident.updated"
    INCIDENT_RESOLVED = "incident.resolved"
    POSTMORTEM_PUBLISHED = "incident.postmortem_published"
    MAINTENANCE_SCHEDULED = "maintenance.scheduled"
    MAINTENANCE_STARTED = "maintenance.started"
    MAINTENANCE_UPDATED = "maintenance.updated"
    MAINTENANCE_COMPLETED = "maintenance.completed"
    COMPONENT_UPDATED = "component.updated"
    # Changes the public page shows but nobody is notified of.
    PAGE_UPDATED = "page.updated"
    PUBLIC_CHANGED = "public.changed"
    # The uptime record (days, response-time hours) was rebuilt: every component's
    # bars and charts. Announced by the uptime app's rollup; nobody is notified.
    HISTORY_CHANGED = "history.changed"
    # Who may view a page changed (audience/): every reader must know at once.
    ACCESS_CHANGED = "access.changed"


@dataclass(frozen=True)
class Change:
    kind: str
    incident: Incident | None = None
    update: IncidentUpdate | None = None
    status_change: ComponentStatusChange | None = None
    # False when staff asked for no notifications on this update.
    notify: bool = True


Listener = Callable[[Change], None]
_listeners: list[Listener] = []


def listen(listener: Listener) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


def announce(change: Change) -> None:
    for listener in list(_listeners):
        listener(change)


def announce_quietly(kind: str = Kind.PUBLIC_CHANGED) -> None:
    """Say the public page changed, with nothing to notify anyone of."""
    announce(Change(kind=kind, notify=False))


_UPDATE_KINDS = {
    (False, "resolved"): Kind.INCIDENT_RESOLVED,
    (True, "in_progress"): Kind.MAINTENANCE_STARTED,
    (True, "completed"): Kind.MAINTENANCE_COMPLETED,
}


def update_kind(incident: Incident, update: IncidentUpdate, *, first: bool) -> str:
    """The event an incident update is: created, resolved, started, ..."""
    maintenance = incident.is_maintenance
    if first:
        return Kind.MAINTENANCE_SCHEDULED if maintenance else Kind.INCIDENT_CREATED
    default = Kind.MAINTENANCE_UPDATED if maintenance else Kind.INCIDENT_UPDATED
    return _UPDATE_KINDS.get((maintenance, update.status), default)
