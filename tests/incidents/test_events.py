"""The services announce each change, inside the transaction that made it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from incidents import events, services
from incidents.models import Page
from tests.conftest import make_component, make_incident, make_maintenance

pytestmark = pytest.mark.django_db


def kinds(changes: list[events.Change]) -> list[str]:
    """The announcements that notify someone."""
    return [change.kind for change in changes if change.notify]


def test_it_announces_an_incident_from_opening_to_postmortem(
    heard: list[events.Change],
) -> None:
    api = make_component(name="API")
    incident = make_incident(component_statuses={api: "major_outage"})
    services.incident_post_update(incident=incident, status="identified", body="Found")
    services.incident_post_update(
        incident=incident, status="resolved", component_statuses={api: "operational"}
    )
    services.incident_publish_postmortem(incident=incident, body="What happened")

    assert kinds(heard) == [
        "component.updated",
        "incident.created",
        "incident.updated",
        "component.updated",
        "incident.resolved",
        "incident.postmortem_published",
    ]
    loud = [change for change in heard if change.notify]
    created = loud[1]
    assert created.incident == incident and created.update is not None
    assert loud[0].status_change is not None
    assert loud[0].status_change.new_status == "major_outage"


def test_it_announces_maintenance_from_schedule_to_completion(
    heard: list[events.Change],
) -> None:
    db = make_component(name="Database")
    start = timezone.now() - dt.timedelta(minutes=1)
    make_maintenance(
        components=[db],
        scheduled_for=start,
        scheduled_until=start + dt.timedelta(hours=1),
    )
    services.maintenance_advance()
    services.maintenance_advance(now=timezone.now() + dt.timedelta(hours=2))

    assert kinds(heard) == [
        "maintenance.scheduled",
        "component.updated",
        "maintenance.started",
        "component.updated",
        "maintenance.completed",
    ]


def test_it_passes_on_a_request_for_no_notifications(
    heard: list[events.Change],
) -> None:
    incident = make_incident()
    services.incident_post_update(
        incident=incident, status="monitoring", deliver_notifications=False
    )
    assert [change.notify for change in heard] == [True, False]


def test_it_announces_quietly_what_only_the_page_shows(
    heard: list[events.Change],
) -> None:
    api = make_component(name="API")
    services.component_update(component=api, description="The REST API")
    services.components_reorder(ordered=[api])
    incident = make_incident()
    services.incident_edit(incident=incident, name="Renamed")
    services.incident_delete(incident=incident)
    services.component_delete(component=api)
    services.page_update(name="Acme")

    quiet = [change.kind for change in heard if not change.notify]
    assert quiet == ["public.changed"] * 6 + ["page.updated"]


def test_it_announces_inside_the_transaction_of_the_change(
    heard: list[events.Change],
) -> None:
    """A listener's own writes are undone with a refused change."""
    Page.get()

    def write_then_fail(change: events.Change) -> None:
        Page.objects.update(description="written by a listener")
        raise ValidationError("refused after the announcement")

    events.listen(write_then_fail)
    try:
        with pytest.raises(ValidationError):
            make_incident()
    finally:
        events._listeners.remove(write_then_fail)
    assert Page.get().description == ""
