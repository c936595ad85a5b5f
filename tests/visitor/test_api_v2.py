"""The public API v2, field by field against Statuspage's formats."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from incidents import services
from incidents.models import ComponentStatus, IncidentStatus, MaintenanceStatus
from tests.conftest import (
    make_component,
    make_group,
    make_incident,
    make_maintenance,
    make_page,
)

pytestmark = pytest.mark.django_db

ENDPOINTS = [
    "summary",
    "status",
    "components",
    "incidents",
    "incidents/unresolved",
    "scheduled-maintenances",
    "scheduled-maintenances/upcoming",
    "scheduled-maintenances/active",
]
PUBLIC_ID = re.compile(r"^[a-z0-9]{12}$")
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d\d:\d\d)$")
PAGE_KEYS = {"id", "name", "url", "time_zone", "updated_at"}
COMPONENT_KEYS = {
    "id",
    "name",
    "status",
    "created_at",
    "updated_at",
    "position",
    "description",
    "showcase",
    "start_date",
    "group_id",
    "page_id",
    "group",
    "only_show_if_degraded",
}
INCIDENT_KEYS = {
    "id",
    "name",
    "status",
    "created_at",
    "updated_at",
    "monitoring_at",
    "resolved_at",
    "impact",
    "shortlink",
    "started_at",
    "page_id",
    "incident_updates",
    "components",
}
UPDATE_KEYS = {
    "id",
    "status",
    "body",
    "incident_id",
    "created_at",
    "updated_at",
    "display_at",
    "affected_components",
    "deliver_notifications",
    "custom_tweet",
    "tweet_id",
}
COMPONENT_STATUSES = {
    "operational",
    "degraded_performance",
    "partial_outage",
    "major_outage",
    "under_maintenance",
}


@pytest.fixture
def acme() -> dict[str, Any]:
    """A page with groups, an open incident, a resolved one and two maintenances."""
    page = make_page(name="Acme", url="https://status.acme.test")
    web = make_group(name="Acme app", description="The product")
    login = make_component(name="Login/logout path", group=web)
    webapp = make_component(name="Web app", group=web, start_date=dt.date(2024, 5, 1))
    api = make_component(name="API", showcase=False)
    resolved = make_incident(
        name="Sign-in failures",
        component_statuses={login: ComponentStatus.MAJOR_OUTAGE},
        display_at=timezone.now() - dt.timedelta(hours=3),
    )
    services.incident_post_update(
        incident=resolved,
        status=IncidentStatus.RESOLVED,
        body="Fixed.",
        component_statuses={login: ComponentStatus.OPERATIONAL},
    )
    open_incident = make_incident(
        name="Slow pages",
        status=IncidentStatus.IDENTIFIED,
        component_statuses={webapp: ComponentStatus.DEGRADED_PERFORMANCE},
    )
    upcoming = make_maintenance(name="Upgrade", components=[api])
    active = make_maintenance(
        name="Network work",
        components=[login],
        scheduled_for=timezone.now() - dt.timedelta(minutes=5),
        scheduled_until=timezone.now() + dt.timedelta(hours=1),
    )
    services.maintenance_advance()
    return {
        "page": page,
        "web": web,
        "login": login,
        "webapp": webapp,
        "api": api,
        "resolved": resolved,
        "open": open_incident,
        "upcoming": upcoming,
        "active": active,
    }


def get(client: Any, endpoint: str) -> dict[str, Any]:
    response = client.get(f"/api/v2/{endpoint}.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Access-Control-Allow-Origin"] == "*"
    return response.json()


def assert_page(body: dict[str, Any], page: Any) -> None:
    assert set(body) == PAGE_KEYS
    assert body["id"] == page.public_id
    assert PUBLIC_ID.match(body["id"])
    assert body["name"] == "Acme"
    assert body["url"] == "https://status.acme.test"
    assert body["time_zone"] == "UTC"
    assert TIMESTAMP.match(body["updated_at"])


def assert_component(body: dict[str, Any], page: Any) -> None:
    expected = COMPONENT_KEYS | ({"components"} if body["group"] else set())
    assert set(body) == expected
    assert PUBLIC_ID.match(body["id"])
    assert body["status"] in COMPONENT_STATUSES
    assert TIMESTAMP.match(body["created_at"]) and TIMESTAMP.match(body["updated_at"])
    assert isinstance(body["position"], int)
    assert body["description"] is None or isinstance(body["description"], str)
    assert isinstance(body["showcase"], bool)
    assert isinstance(body["only_show_if_degraded"], bool)
    assert body["start_date"] is None or re.match(
        r"^\d{4}-\d\d-\d\d$", body["start_date"]
    )
    assert body["group_id"] is None or PUBLIC_ID.match(body["group_id"])
    assert body["page_id"] == page.public_id


def assert_incident(body: dict[str, Any], page: Any, maintenance: bool = False) -> None:
    extra = {"scheduled_for", "scheduled_until"} if maintenance else set()
    assert set(body) == INCIDENT_KEYS | extra
    assert PUBLIC_ID.match(body["id"])
    statuses = MaintenanceStatus.values if maintenance else IncidentStatus.values
    assert body["status"] in statuses
    impacts = {"none", "minor", "major", "critical"} | (
        {"maintenance"} if maintenance else set()
    )
    assert body["impact"] in impacts
    for key in ("created_at", "updated_at", "started_at", *sorted(extra)):
        assert TIMESTAMP.match(body[key]), key
    for key in ("monitoring_at", "resolved_at"):
        assert body[key] is None or TIMESTAMP.match(body[key])
    assert body["shortlink"] == f"https://status.acme.test/incidents/{body['id']}"
    assert body["page_id"] == page.public_id
    display = [update["display_at"] for update in body["incident_updates"]]
    assert display == sorted(display, reverse=True), "updates are newest first"
    for update in body["incident_updates"]:
        assert set(update) == UPDATE_KEYS
        assert update["incident_id"] == body["id"]
        assert update["custom_tweet"] is None and update["tweet_id"] is None
        assert isinstance(update["deliver_notifications"], bool)
        for entry in update["affected_components"] or []:
            assert list(entry) == ["code", "name", "old_status", "new_status"]
    for component in body["components"]:
        assert_component(component, page)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_it_serves_every_endpoint_with_page_and_open_cors(
    client: Any, acme: dict[str, Any], endpoint: str
) -> None:
    body = get(client, endpoint)
    assert_page(body["page"], acme["page"])
    for incident in body.get("incidents", []):
        assert_incident(incident, acme["page"])
    for maintenance in body.get("scheduled_maintenances", []):
        assert_incident(maintenance, acme["page"], maintenance=True)
    for component in body.get("components", []):
        assert_component(component, acme["page"])


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_it_answers_cors_preflight_and_refuses_writes(
    client: Any, endpoint: str
) -> None:
    preflight = client.options(f"/api/v2/{endpoint}.json")
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Origin"] == "*"
    assert client.post(f"/api/v2/{endpoint}.json").status_code == 405


def test_it_lists_groups_with_their_children_in_order(
    client: Any, acme: dict[str, Any]
) -> None:
    components = get(client, "components")["components"]
    assert [c["name"] for c in components] == [
        "Acme app",
        "Login/logout path",
        "Web app",
        "API",
    ]
    group, login, webapp, api = components
    assert group["group"] is True and group["group_id"] is None
    assert group["components"] == [acme["login"].public_id, acme["webapp"].public_id]
    assert group["description"] == "The product"
    assert login["group_id"] == webapp["group_id"] == group["id"]
    assert (login["position"], webapp["position"]) == (0, 1)
    assert login["description"] is None
    assert webapp["start_date"] == "2024-05-01"
    assert api["showcase"] is False and "components" not in api


def test_it_derives_group_status_from_its_worst_child(
    client: Any, acme: dict[str, Any]
) -> None:
    statuses = {c["name"]: c["status"] for c in get(client, "components")["components"]}
    assert statuses["Login/logout path"] == "under_maintenance"
    assert statuses["Web app"] == "degraded_performance"
    assert statuses["Acme app"] == "degraded_performance"
    assert statuses["API"] == "operational"


def test_it_reports_the_page_indicator(client: Any, acme: dict[str, Any]) -> None:
    assert get(client, "status")["status"] == {
        "indicator": "minor",
        "description": "Partially Degraded Service",
    }
    services.component_set_status(
        component=acme["api"], status=ComponentStatus.MAJOR_OUTAGE, source="staff"
    )
    assert get(client, "summary")["status"] == {
        "indicator": "critical",
        "description": "Major Service Outage",
    }


def test_it_reports_all_operational_for_a_quiet_page(client: Any) -> None:
    make_page()
    make_component()
    assert get(client, "status")["status"] == {
        "indicator": "none",
        "description": "All Systems Operational",
    }


def test_it_shows_only_unresolved_incidents_where_asked(
    client: Any, acme: dict[str, Any]
) -> None:
    unresolved = get(client, "incidents/unresolved")["incidents"]
    assert [i["name"] for i in unresolved] == ["Slow pages"]
    summary = get(client, "summary")
    assert [i["name"] for i in summary["incidents"]] == ["Slow pages"]
    recent = get(client, "incidents")["incidents"]
    assert [i["name"] for i in recent] == ["Slow pages", "Sign-in failures"]


def test_it_describes_an_incident_and_its_updates(
    client: Any, acme: dict[str, Any]
) -> None:
    recent = {i["name"]: i for i in get(client, "incidents")["incidents"]}
    resolved = recent["Sign-in failures"]
    assert resolved["status"] == "resolved"
    assert resolved["impact"] == "critical"
    assert resolved["resolved_at"] is not None and resolved["monitoring_at"] is None
    assert [u["status"] for u in resolved["incident_updates"]] == [
        "resolved",
        "investigating",
    ]
    latest, first = resolved["incident_updates"]
    assert latest["body"] == "Fixed." and first["body"] == "Looking into it."
    assert first["affected_components"] == [
        {
            "code": acme["login"].public_id,
            "name": "Acme app - Login/logout path",
            "old_status": "operational",
            "new_status": "major_outage",
        }
    ]
    assert [c["id"] for c in resolved["components"]] == [acme["login"].public_id]
    assert recent["Slow pages"]["impact"] == "minor"
    assert recent["Slow pages"]["resolved_at"] is None


def test_it_keeps_only_the_fifty_most_recent_incidents(client: Any) -> None:
    make_page()
    start = timezone.now() - dt.timedelta(days=60)
    for day in range(52):
        make_incident(name=f"Incident {day}", display_at=start + dt.timedelta(days=day))
    incidents = get(client, "incidents")["incidents"]
    assert len(incidents) == 50
    assert incidents[0]["name"] == "Incident 51"
    assert incidents[-1]["name"] == "Incident 2"


def test_it_separates_upcoming_and_active_maintenance(
    client: Any, acme: dict[str, Any]
) -> None:
    upcoming = get(client, "scheduled-maintenances/upcoming")["scheduled_maintenances"]
    active = get(client, "scheduled-maintenances/active")["scheduled_maintenances"]
    assert [(m["name"], m["status"]) for m in upcoming] == [("Upgrade", "scheduled")]
    assert [(m["name"], m["status"]) for m in active] == [
        ("Network work", "in_progress")
    ]
    assert active[0]["impact"] == "maintenance"
    assert active[0]["components"][0]["status"] == "under_maintenance"
    summary = get(client, "summary")["scheduled_maintenances"]
    assert [m["name"] for m in summary] == ["Network work", "Upgrade"]


def test_it_lists_completed_maintenance_only_among_all(
    client: Any, acme: dict[str, Any]
) -> None:
    services.incident_post_update(
        incident=acme["active"], status=MaintenanceStatus.COMPLETED, body="Done."
    )
    everything = get(client, "scheduled-maintenances")["scheduled_maintenances"]
    assert {m["name"]: m["status"] for m in everything} == {
        "Upgrade": "scheduled",
        "Network work": "completed",
    }
    assert get(client, "scheduled-maintenances/active")["scheduled_maintenances"] == []
    summary = get(client, "summary")["scheduled_maintenances"]
    assert [m["name"] for m in summary] == ["Upgrade"]


def test_it_gives_times_in_the_page_time_zone(client: Any) -> None:
    make_page(time_zone="America/Denver")
    at = dt.datetime(2026, 1, 15, 18, 30, 5, 123000, tzinfo=dt.UTC)
    make_incident(display_at=at)
    incident = get(client, "incidents")["incidents"][0]
    assert incident["started_at"] == "2026-01-15T11:30:05.123-07:00"
    assert get(client, "status")["page"]["time_zone"] == "America/Denver"


def test_it_leaves_deleted_components_out(client: Any, acme: dict[str, Any]) -> None:
    services.component_delete(component=acme["api"])
    names = [c["name"] for c in get(client, "components")["components"]]
    assert "API" not in names


def _queries(client: Any, endpoint: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        get(client, endpoint)
    return len(captured)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_it_runs_a_fixed_number_of_queries(client: Any, endpoint: str) -> None:
    make_page()
    group = make_group()

    def grow() -> None:
        for _ in range(3):
            component = make_component(group=group)
            make_incident(
                component_statuses={component: ComponentStatus.PARTIAL_OUTAGE}
            )
            make_maintenance(components=[component])

    grow()
    small = _queries(client, endpoint)
    grow()
    grow()
    assert _queries(client, endpoint) == small
    # Two of them: which page the host is for, and how fresh the evidence is.
    assert small <= 12
