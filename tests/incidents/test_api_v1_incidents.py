"""Management API v1: incidents, maintenances, updates, postmortems, templates."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from incidents import events, services
from incidents.models import (
    ComponentStatusChange,
    Incident,
    IncidentTemplate,
    Page,
    StatusSource,
)
from tests.api_helpers import api_client, body, v1
from tests.conftest import (
    make_component,
    make_incident,
    make_maintenance,
    make_page,
)

pytestmark = pytest.mark.django_db


def loud(changes: list[events.Change]) -> list[str]:
    return [change.kind for change in changes if change.notify]


def test_it_runs_an_incident_from_opening_to_resolution(
    heard: list[events.Change],
) -> None:
    login = make_component(name="Login")
    api = api_client()
    response = api.post(
        v1("incidents"),
        {
            "incident": {
                "name": "Sign-in failing",
                "status": "investigating",
                "body": "We are looking into it.",
                "components": {login.public_id: "major_outage"},
            }
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    incident = body(response)
    assert incident["status"] == "investigating"
    assert incident["impact"] == "critical"
    assert [c["status"] for c in incident["components"]] == ["major_outage"]
    assert incident["incident_updates"][0]["body"] == "We are looking into it."
    assert incident["shortlink"].endswith(f"/incidents/{incident['id']}")

    path = v1(f"incidents/{incident['id']}")
    response = api.patch(
        path,
        {"incident": {"status": "identified", "body": "A bad deploy."}},
        format="json",
    )
    assert response.status_code == 200, response.content
    response = api.patch(
        path,
        {
            "incident": {
                "status": "resolved",
                "body": "Rolled back.",
                "components": {login.public_id: "operational"},
            }
        },
        format="json",
    )
    resolved = body(response)
    assert resolved["status"] == "resolved"
    assert resolved["resolved_at"] is not None
    assert [u["status"] for u in resolved["incident_updates"]] == [
        "resolved",
        "identified",
        "investigating",
    ]
    login.refresh_from_db()
    assert login.status == "operational"
    sources = set(
        ComponentStatusChange.objects.filter(component=login).values_list(
            "source", flat=True
        )
    )
    assert sources == {StatusSource.API}
    # The same announcements as the console's: subscribers hear each step.
    assert loud(heard) == [
        "component.updated",
        "incident.created",
        "incident.updated",
        "component.updated",
        "incident.resolved",
    ]


def test_it_renames_without_posting_an_update(heard: list[events.Change]) -> None:
    incident = make_incident(name="Old name")
    heard.clear()
    response = api_client().patch(
        v1(f"incidents/{incident.public_id}"),
        {"incident": {"name": "New name"}},
        format="json",
    )
    assert body(response)["name"] == "New name"
    assert len(body(response)["incident_updates"]) == 1
    assert loud(heard) == []


def test_it_posts_quietly_when_told_not_to_notify(heard: list[events.Change]) -> None:
    incident = make_incident()
    heard.clear()
    api_client().patch(
        v1(f"incidents/{incident.public_id}"),
        {"incident": {"status": "monitoring", "deliver_notifications": False}},
        format="json",
    )
    assert loud(heard) == []
    assert incident.updates.first() is not None
    assert incident.updates.first().deliver_notifications is False  # type: ignore[union-attr]


def test_it_refuses_bad_transitions_and_unknown_components_naming_the_field() -> None:
    incident = make_incident()
    api = api_client()
    path = v1(f"incidents/{incident.public_id}")
    response = api.patch(path, {"incident": {"status": "in_progress"}}, format="json")
    assert response.status_code == 400
    assert "incident.status" in body(response)["errors"]
    response = api.patch(
        path, {"incident": {"components": {"nope": "major_outage"}}}, format="json"
    )
    assert response.status_code == 400
    assert "incident.components" in body(response)["errors"]
    response = api.post(v1("incidents"), {"incident": {"body": "x"}}, format="json")
    assert response.status_code == 400
    assert "incident.name" in body(response)["errors"]
    future = (timezone.now() + dt.timedelta(days=1)).isoformat()
    response = api.post(
        v1("incidents"),
        {"incident": {"name": "x", "display_at": future}},
        format="json",
    )
    assert response.status_code == 400
    assert "incident.display_at" in body(response)["errors"]


def test_it_schedules_a_maintenance_and_lists_it_as_upcoming() -> None:
    db = make_component(name="Database")
    start = timezone.now() + dt.timedelta(days=1)
    api = api_client()
    response = api.post(
        v1("incidents"),
        {
            "incident": {
                "name": "Database upgrade",
                "status": "scheduled",
                "scheduled_for": start.isoformat(),
                "scheduled_until": (start + dt.timedelta(hours=2)).isoformat(),
                "component_ids": [db.public_id],
                "scheduled_auto_completed": False,
            }
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    created = body(response)
    assert created["impact"] == "maintenance"
    assert created["scheduled_auto_in_progress"] is True
    assert created["scheduled_auto_completed"] is False
    assert Incident.objects.get(public_id=created["id"]).is_maintenance
    upcoming = body(api.get(v1("incidents/upcoming")))
    assert [row["id"] for row in upcoming] == [created["id"]]
    assert body(api.get(v1("incidents/unresolved"))) == []
    db.refresh_from_db()
    assert db.status == "operational"  # not before it starts


def test_it_requires_both_ends_of_a_maintenance() -> None:
    response = api_client().post(
        v1("incidents"),
        {"incident": {"name": "x", "scheduled_for": timezone.now().isoformat()}},
        format="json",
    )
    assert response.status_code == 400
    assert "incident.scheduled_until" in body(response)["errors"]


def test_it_lists_filters_and_pages_incidents() -> None:
    make_incident(name="Login broken")
    make_incident(name="API slow")
    make_maintenance(name="Upgrade")
    api = api_client("read")
    everything = api.get(v1("incidents"))
    assert everything["X-Total-Count"] == "3"
    found = body(api.get(v1("incidents"), {"q": "login"}))
    assert [row["name"] for row in found] == ["Login broken"]
    first = api.get(v1("incidents"), {"per_page": 2})
    assert len(body(first)) == 2
    assert 'rel="next"' in first["Link"]
    second = body(api.get(v1("incidents"), {"per_page": 2, "page": 2}))
    assert len(second) == 1
    response = api.get(v1("incidents"), {"page": "zero"})
    assert response.status_code == 400
    assert "page" in body(response)["errors"]


def test_it_edits_an_update_without_notifying_again(
    heard: list[events.Change],
) -> None:
    incident = make_incident()
    update = incident.updates.get()
    heard.clear()
    response = api_client().patch(
        v1(f"incidents/{incident.public_id}/incident_updates/{update.public_id}"),
        {"incident_update": {"body": "Corrected text"}},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert body(response)["body"] == "Corrected text"
    update.refresh_from_db()
    assert update.body == "Corrected text"
    assert loud(heard) == []


def test_it_publishes_a_postmortem_only_after_resolution() -> None:
    incident = make_incident()
    api = api_client()
    path = v1(f"incidents/{incident.public_id}/postmortem/publish")
    response = api.put(path, {"postmortem": {"body": "What happened"}}, format="json")
    assert response.status_code == 400
    assert "postmortem.body" in body(response)["errors"]
    api.patch(
        v1(f"incidents/{incident.public_id}"),
        {"incident": {"status": "resolved"}},
        format="json",
    )
    response = api.put(
        path, {"postmortem": {"body_draft": "What happened"}}, format="json"
    )
    assert response.status_code == 200, response.content
    assert body(response)["status"] == "postmortem"
    assert body(response)["postmortem_body"] == "What happened"


def test_it_deletes_an_incident_answering_what_it_was() -> None:
    incident = make_incident(name="Mistake")
    response = api_client().delete(v1(f"incidents/{incident.public_id}"))
    assert response.status_code == 200
    assert body(response)["name"] == "Mistake"
    assert not Incident.objects.filter(pk=incident.pk).exists()


def test_it_manages_templates_and_opens_an_incident_from_one() -> None:
    api_component = make_component(name="API")
    client = api_client()
    response = client.post(
        v1("incident_templates"),
        {
            "template": {
                "name": "API down",
                "title": "API unavailable",
                "body": "Requests fail; we are investigating.",
                "update_status": "identified",
                "component_ids": [api_component.public_id],
            }
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    template = body(response)
    assert [c["id"] for c in template["components"]] == [api_component.public_id]
    duplicate = client.post(
        v1("incident_templates"),
        {"template": {"name": "API down", "title": "Again"}},
        format="json",
    )
    assert duplicate.status_code == 400
    assert "template.name" in body(duplicate)["errors"]

    response = client.post(
        v1("incidents"),
        {"incident": {"name": "API unavailable", "template_id": template["id"]}},
        format="json",
    )
    incident = body(response)
    assert incident["status"] == "identified"
    assert incident["incident_updates"][0]["body"].startswith("Requests fail")
    assert [c["id"] for c in incident["components"]] == [api_component.public_id]

    path = v1(f"incident_templates/{template['id']}")
    changed = client.patch(path, {"template": {"body": "New"}}, format="json")
    assert body(changed)["body"] == "New"
    assert client.delete(path).status_code == 204
    assert not IncidentTemplate.objects.exists()


def test_it_lists_incidents_in_a_constant_number_of_queries() -> None:
    components = [make_component(name=f"c{index}") for index in range(3)]
    api = api_client("read")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert api.get(v1("incidents")).status_code == 200
        return len(captured)

    make_incident(component_statuses={components[0]: "major_outage"})
    queries()  # the token's first use of the minute writes its last-used time
    few = queries()
    for index in range(10):
        incident = make_incident(
            name=f"i{index}",
            component_statuses={c: "partial_outage" for c in components},
        )
        api.patch(
            v1(f"incidents/{incident.public_id}"),
            {"incident": {"status": "identified"}},
            format="json",
        )
    assert queries() == few


def test_it_moves_a_maintenance_that_has_not_started() -> None:
    maintenance = make_maintenance(name="Upgrade")
    api = api_client()
    path = v1(f"incidents/{maintenance.public_id}")
    start = timezone.now() + dt.timedelta(days=3)
    response = api.patch(
        path,
        {
            "incident": {
                "scheduled_for": start.isoformat(),
                "scheduled_until": (start + dt.timedelta(hours=1)).isoformat(),
                "scheduled_auto_completed": False,
            }
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    maintenance.refresh_from_db()
    assert maintenance.scheduled_for == start
    assert maintenance.auto_complete is False
    assert maintenance.updates.count() == 1  # moved quietly, no new update
    backwards = api.patch(
        path,
        {"incident": {"scheduled_until": (start - dt.timedelta(hours=1)).isoformat()}},
        format="json",
    )
    assert backwards.status_code == 400
    assert "incident.scheduled_until" in body(backwards)["errors"]
    api.patch(path, {"incident": {"status": "in_progress"}}, format="json")
    late = api.patch(
        path, {"incident": {"scheduled_for": start.isoformat()}}, format="json"
    )
    assert late.status_code == 400
    assert "only one that has not started" in body(late)["error"]


def test_it_refuses_fields_a_change_cannot_use_rather_than_ignoring_them() -> None:
    incident = make_incident()
    api = api_client()
    path = v1(f"incidents/{incident.public_id}")
    for fields, field in (
        ({"scheduled_for": timezone.now().isoformat()}, "incident.scheduled_for"),
        ({"template_id": "abc"}, "incident.template_id"),
        ({"display_at": timezone.now().isoformat()}, "incident.display_at"),
        ({"deliver_notifications": False}, "incident.deliver_notifications"),
    ):
        response = api.patch(path, {"incident": fields}, format="json")
        assert response.status_code == 400, fields
        assert field in body(response)["errors"], fields
    assert incident.updates.count() == 1


# Updates shown on some of the incident's pages ---------------------------------------


def two_pages() -> tuple[Page, Page]:
    public = make_page(name="Acme")
    internal = services.page_create(
        name="Acme internal", slug="internal", hosts=["localhost"]
    )
    return public, internal


def test_it_posts_an_update_shown_only_on_some_of_the_incidents_pages() -> None:
    public, internal = two_pages()
    login = make_component(name="Login", pages=[public, internal])
    api = api_client()
    created = api.post(
        v1("incidents"),
        {
            "incident": {
                "name": "Sign-in",
                "components": {login.public_id: "major_outage"},
            }
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    incident_id = body(created)["id"]

    response = api.patch(
        v1(f"incidents/{incident_id}"),
        {
            "incident": {
                "body": "The session store failed over.",
                "shown_on_page_ids": [internal.public_id],
            }
        },
        format="json",
    )

    assert response.status_code == 200, response.content
    updates = body(response)["incident_updates"]
    assert [u["shown_on_page_ids"] for u in updates] == [[internal.public_id], []]
    update = Incident.objects.get(public_id=incident_id).updates.first()
    assert update is not None and list(update.shown_on.all()) == [internal]
    one = api.get(v1(f"incidents/{incident_id}/incident_updates/{update.public_id}"))
    assert body(one)["shown_on_page_ids"] == [internal.public_id]


def test_it_opens_an_incident_on_the_page_in_its_path_with_an_internal_update() -> None:
    public, internal = two_pages()
    path = f"/api/v1/pages/{internal.public_id}/incidents"

    response = api_client().post(
        path,
        {"incident": {"name": "Drill", "shown_on_page_ids": [internal.public_id]}},
        format="json",
    )

    assert response.status_code == 201, response.content
    incident = Incident.objects.get(public_id=body(response)["id"])
    assert list(incident.pages.all()) == [internal]
    assert list(incident.updates.get().shown_on.all()) == [internal]


def test_it_refuses_unknown_and_foreign_pages_for_an_update_writing_nothing() -> None:
    public, internal = two_pages()
    api_component = make_component(name="API", pages=[public])
    incident = make_incident(component_statuses={api_component: "major_outage"})
    api = api_client()
    path = v1(f"incidents/{incident.public_id}")

    for ids in (["nope"], [internal.public_id]):
        change = {
            "status": "identified",
            "components": {api_component.public_id: "degraded_performance"},
            "shown_on_page_ids": ids,
        }
        response = api.patch(path, {"incident": change}, format="json")
        assert response.status_code == 400, response.content
        assert "incident.shown_on_page_ids" in body(response)["errors"]
    alone = api.patch(
        path, {"incident": {"shown_on_page_ids": [public.public_id]}}, format="json"
    )
    assert alone.status_code == 400
    assert "incident.shown_on_page_ids" in body(alone)["errors"]
    opened = api.post(
        v1("incidents"),
        {"incident": {"name": "x", "shown_on_page_ids": [internal.public_id]}},
        format="json",
    )
    assert opened.status_code == 400
    assert "incident.shown_on_page_ids" in body(opened)["errors"]

    incident.refresh_from_db()
    api_component.refresh_from_db()
    assert (incident.status, api_component.status) == ("investigating", "major_outage")
    assert incident.updates.count() == 1
    assert list(Incident.objects.all()) == [incident]
