"""Management API v1: the page, components and component groups."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from incidents.models import Component, ComponentStatusChange, Page, StatusSource
from tests.api_helpers import api_client, body, v1
from tests.conftest import make_component, make_group

pytestmark = pytest.mark.django_db


def test_it_lists_components_as_statuspage_does() -> None:
    group = make_group(name="Acme")
    make_component(name="Login", group=group)
    response = api_client("read").get(v1("components"))
    assert response.status_code == 200
    rows = body(response)
    assert [row["name"] for row in rows] == ["Acme", "Login"]
    login = rows[1]
    assert login["group_id"] == group.public_id
    assert login["group"] is False
    assert login["page_id"] == Page.get().public_id
    assert login["status"] == "operational"
    assert set(login) >= {"id", "description", "position", "showcase", "start_date"}
    assert response["X-Total-Count"] == "2"


def test_it_creates_a_component_from_a_wrapped_or_flat_body() -> None:
    group = make_group(name="Acme")
    api = api_client()
    wrapped = {
        "component": {
            "name": "API",
            "status": "degraded_performance",
            "group_id": group.public_id,
        }
    }
    response = api.post(v1("components"), wrapped, format="json")
    assert response.status_code == 201, response.content
    created = body(response)
    assert created["status"] == "degraded_performance"
    assert created["group_id"] == group.public_id
    response = api.post(v1("components"), {"name": "Web"}, format="json")
    assert response.status_code == 201
    assert Component.objects.filter(name="Web").exists()


def test_it_sets_a_status_through_the_service_recording_the_api() -> None:
    component = make_component(name="API")
    response = api_client().patch(
        v1(f"components/{component.public_id}"),
        {"component": {"status": "major_outage"}},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert body(response)["status"] == "major_outage"
    change = ComponentStatusChange.objects.get(component=component)
    assert change.source == StatusSource.API
    assert change.actor is not None and change.actor.username == "deploy-bot"


def test_it_answers_400_naming_the_field_and_the_reason() -> None:
    api = api_client()
    response = api.post(
        v1("components"), {"component": {"status": "on_fire"}}, format="json"
    )
    assert response.status_code == 400
    errors = body(response)["errors"]
    assert "component.name" in errors
    assert "component.status" in errors
    assert "component.status" in body(response)["error"]
    response = api.post(
        v1("components"),
        {"component": {"name": "x", "group_id": "nope"}},
        format="json",
    )
    assert response.status_code == 400
    assert "component.group_id" in body(response)["errors"]
    response = api.post(v1("components"), ["not", "an", "object"], format="json")
    assert response.status_code == 400


def test_it_refuses_a_service_rule_as_400_with_the_api_field_name() -> None:
    group = make_group(name="Acme")
    response = api_client().patch(
        v1(f"components/{group.public_id}"),
        {"component": {"status": "major_outage"}},
        format="json",
    )
    assert response.status_code == 400
    assert "component.component" in body(response)["errors"] or body(response)[
        "error"
    ].startswith("component")


def test_it_deletes_softly_and_answers_404_after() -> None:
    component = make_component(name="API")
    api = api_client()
    assert api.delete(v1(f"components/{component.public_id}")).status_code == 204
    component.refresh_from_db()
    assert component.is_deleted
    assert api.get(v1(f"components/{component.public_id}")).status_code == 404


def test_it_answers_409_deleting_a_group_in_use_by_components_api() -> None:
    group = make_group(name="Acme")
    child = make_component(name="Login", group=group)
    response = api_client().delete(v1(f"components/{group.public_id}"))
    assert response.status_code == 409
    assert "still has components" in body(response)["error"]
    child.refresh_from_db()
    assert child.group == group


def test_it_manages_groups_and_their_members() -> None:
    login, web = make_component(name="Login"), make_component(name="Web")
    api = api_client()
    response = api.post(
        v1("component-groups"),
        {
            "component_group": {
                "name": "Acme",
                "components": [web.public_id, login.public_id],
            }
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    group = body(response)
    assert group["components"] == [web.public_id, login.public_id]
    response = api.patch(
        v1(f"component-groups/{group['id']}"),
        {"component_group": {"components": [login.public_id]}},
        format="json",
    )
    assert body(response)["components"] == [login.public_id]
    web.refresh_from_db()
    assert web.group is None
    assert api.delete(v1(f"component-groups/{group['id']}")).status_code == 204
    login.refresh_from_db()
    assert login.group is None and not login.is_deleted


def test_it_reads_and_changes_the_page_settings() -> None:
    api = api_client()
    pages = body(api.get("/api/v1/pages"))
    assert [page["id"] for page in pages] == [Page.get().public_id]
    response = api.patch(
        v1(),
        {"page": {"name": "Acme status", "page_description": "All of Acme"}},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert Page.get().description == "All of Acme"
    response = api.patch(v1(), {"page": {"time_zone": "Mars/Olympus"}}, format="json")
    assert response.status_code == 400
    assert "page.time_zone" in body(response)["errors"]


def test_it_answers_404_for_another_page_id() -> None:
    response = api_client().get("/api/v1/pages/nosuchpage/components")
    assert response.status_code == 404
    assert "error" in body(response)


def test_it_lists_components_in_a_constant_number_of_queries() -> None:
    group = make_group(name="Acme")
    api = api_client("read")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert api.get(v1("components")).status_code == 200
        return len(captured)

    make_component(name="c0", group=group)
    queries()  # the token's first use of the minute writes its last-used time
    few = queries()
    for index in range(20):
        make_component(name=f"c{index + 1}", group=group)
    assert queries() == few


def test_it_lists_groups_and_templates_in_a_constant_number_of_queries() -> None:
    from incidents import services

    api = api_client("read")

    def queries(path: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert api.get(v1(path)).status_code == 200
        return len(captured)

    def grow(count: int) -> None:
        for index in range(count):
            group = make_group(name=f"g{index}-{Component.objects.count()}")
            child = make_component(name=f"c{index}", group=group)
            services.template_create(
                name=f"t{Component.objects.count()}", title="T", components=[child]
            )

    grow(1)
    queries("component-groups")  # the token's first use writes its last-used time
    few = {path: queries(path) for path in ("component-groups", "incident_templates")}
    grow(10)
    assert {path: queries(path) for path in few} == few
