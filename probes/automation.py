"""Drive component statuses and automatic incidents from the probes' verdicts.

Staff stay in charge: a pinned component is left alone, an incident staff took over
gets no automatic updates, a held incident is not resolved, and components under
scheduled maintenance neither change nor open incidents.

Subscribers are told when an automatic incident opens and each time its status
changes. Components joining or recovering in between are posted on the page at
once but told at most once per ``AUTOMATIC_NOTIFY_INTERVAL_SECONDS``: a storm of
alerts over a hundred components is one message, not a hundred.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from incidents import services
from incidents.models import (
    Component,
    ComponentStatus,
    Incident,
    IncidentStatus,
    IncidentUpdate,
    Origin,
    Page,
    StatusSource,
)

STATE_WORDS: dict[str, str] = {
    ComponentStatus.DEGRADED_PERFORMANCE: "degraded",
    ComponentStatus.PARTIAL_OUTAGE: "partially down",
    ComponentStatus.MAJOR_OUTAGE: "down",
    ComponentStatus.UNDER_MAINTENANCE: "under maintenance",
    ComponentStatus.OPERATIONAL: "operational",
}


def _confirmation(confirmed: int, total: int) -> str:
    if total <= 1:
        return ""
    return f" Confirmed from {confirmed} of {total} regions."


def _under_maintenance(component: Component) -> bool:
    return Incident.objects.active().filter(components=component).exists()


def _covering_incident(component: Component) -> Incident | None:
    return (
        Incident.objects.unresolved()
        .filter(components=component)
        .order_by("-started_at")
        .first()
    )


def _running_automatic_incident(component: Component) -> Incident | None:
    """The running automatic incident of exactly the component's pages: a failure
    never joins one another audience reads (an internal component's name would
    reach the public page, or a public page would see an internal incident)."""
    pages = set(component.pages.values_list("pk", flat=True))
    running = (
        Incident.objects.unresolved()
        .filter(origin=Origin.AUTOMATIC, automation_stopped=False)
        .prefetch_related("pages")
        .order_by("-started_at")
    )
    for incident in running:
        if {page.pk for page in incident.pages.all()} == pages:
            return incident
    return None


@transaction.atomic
def component_apply_verdict(
    *, component: Component, status: str, confirmed: int, total: int
) -> None:
    """Bring a component to the status its probes agree on, with an incident to say so.

    1. Deleted and pinned components, and components under maintenance, are left
       as they are.
    2. A failure joins the incident already covering the component, else the running
       automatic incident, else opens a new automatic incident.
    3. A recovery is posted to the automatic incident covering the component; when
       all its components are operational the incident moves to monitoring.
    """
    # Not locked here: the caller holds the component's verdict row, and the services
    # lock incident before component, as staff updates do, so the two cannot deadlock.
    component = Component.objects.get(pk=component.pk)
    if component.is_deleted or component.pinned or component.status == status:
        return  # a deleted component takes no status; refusing would sink the batch
    if _under_maintenance(component):
        return
    covering = _covering_incident(component)
    if covering is not None and not covering.is_automated:
        _set(component, status)  # staff run this incident; only the status moves
    elif status == ComponentStatus.OPERATIONAL:
        _recover(component, covering)
    elif status == ComponentStatus.UNDER_MAINTENANCE:
        _set(component, status)  # a mirrored third party's maintenance is no incident
    elif not component.pages.exists():
        _set(component, status)  # on no page: staff alone see it, nobody is told
    else:
        _fail(
            component,
            status,
            covering or _running_automatic_incident(component),
            confirmed,
            total,
        )


def _set(component: Component, status: str) -> None:
    services.component_set_status(
        component=component, status=status, source=StatusSource.PROBE
    )


def _fail(
    component: Component,
    status: str,
    incident: Incident | None,
    confirmed: int,
    total: int,
) -> None:
    headline = f"{component.name} {STATE_WORDS[status]}"
    # "Monitoring": probes, and alerts from Alertmanager and others, end up here.
    body = f"Our monitoring found {headline}.{_confirmation(confirmed, total)}"
    if incident is None:
        # One automatic incident at a time: failures arriving together from several
        # workers take turns here, and the later ones join the first one's incident.
        Page.objects.select_for_update().get(pk=Page.get().pk)
        incident = _running_automatic_incident(component)
    if incident is None:
        services.incident_create(
            name=headline,
            body=f"{body} We are investigating.",
            component_statuses={component: status},
            origin=Origin.AUTOMATIC,
            source=StatusSource.PROBE,
        )
        return
    new_status = (
        IncidentStatus.INVESTIGATING
        if incident.status == IncidentStatus.MONITORING
        else incident.status
    )
    services.incident_post_update(
        incident=incident,
        status=new_status,
        body=body,
        component_statuses={component: status},
        deliver_notifications=_worth_telling(incident, new_status),
        source=StatusSource.PROBE,
    )


def _worth_telling(incident: Incident, new_status: str) -> bool:
    """Tell subscribers of a change of the incident's status, and otherwise of at
    most one update per interval (the page shows every update at once)."""
    if new_status != incident.status:
        return True
    interval = dt.timedelta(seconds=settings.AUTOMATIC_NOTIFY_INTERVAL_SECONDS)
    told = incident.updates.filter(
        deliver_notifications=True, created_at__gt=timezone.now() - interval
    )
    return not told.exists()


def _recover(component: Component, incident: Incident | None) -> None:
    if incident is None:
        _set(component, ComponentStatus.OPERATIONAL)
        return
    others = incident.components.live().exclude(pk=component.pk)
    all_recovered = not others.exclude(status=ComponentStatus.OPERATIONAL).exists()
    new_status = IncidentStatus.MONITORING if all_recovered else incident.status
    services.incident_post_update(
        incident=incident,
        status=new_status,
        body=f"{component.name} has recovered."
        + (" We are monitoring the result." if all_recovered else ""),
        component_statuses={component: ComponentStatus.OPERATIONAL},
        deliver_notifications=_worth_telling(incident, new_status),
        source=StatusSource.PROBE,
    )


def automatic_incidents_resolve(*, now: dt.datetime | None = None) -> list[Incident]:
    """Resolve automatic incidents whose recovery has held long enough (periodic).

    Recovery holds from the latest update, the one that moved it to monitoring; a
    relapse posts a newer update and moves it out of monitoring again. An incident
    with a component whose monitoring is degraded (too few regions speak) waits.
    """
    now = now or timezone.now()
    since = now - dt.timedelta(seconds=settings.AUTO_RESOLVE_AFTER_SECONDS)
    resolved = []
    for pk in _resolvable().values_list("pk", flat=True):
        incident = _resolve_if_held(pk, since=since)
        if incident is not None:
            resolved.append(incident)
    return resolved


def _resolvable() -> QuerySet[Incident]:
    return Incident.objects.unresolved().filter(
        origin=Origin.AUTOMATIC,
        automation_stopped=False,
        hold_auto_resolve=False,
        status=IncidentStatus.MONITORING,
    )


@transaction.atomic
def _resolve_if_held(pk: int, *, since: dt.datetime) -> Incident | None:
    """Resolve one incident, locked and checked again: two beats, or a relapse or a
    staff update landing meanwhile, must not get a second "resolved" posted."""
    incident = _resolvable().select_for_update().filter(pk=pk).first()
    if incident is None:
        return None
    latest = IncidentUpdate.objects.filter(incident=incident).first()
    if latest is None or latest.display_at > since:
        return None
    components = incident.components.live()
    if components.exclude(status=ComponentStatus.OPERATIONAL).exists():
        return None
    # A recovery nobody is watching any more has not "held": wait for evidence.
    if components.filter(verdict__monitoring_degraded_since__isnull=False).exists():
        return None
    services.incident_post_update(
        incident=incident,
        status=IncidentStatus.RESOLVED,
        body="This incident has been resolved: the recovery has held.",
        source=StatusSource.PROBE,
    )
    return incident
