"""The management API as a whole: authentication, scopes, rate limits, schema, docs."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.test import override_settings
from rest_framework.test import APIClient

from tests.api_helpers import api_client, body, v1
from tests.conftest import make_component

pytestmark = pytest.mark.django_db


def test_it_answers_401_without_a_token_and_403_to_read_scope_writes() -> None:
    response = APIClient().get(v1("components"))
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "error" in body(response)
    reader = api_client("read")
    assert reader.get(v1("components")).status_code == 200
    refused = reader.post(v1("components"), {"component": {"name": "x"}}, format="json")
    assert refused.status_code == 403
    assert "read scope" in body(refused)["error"]


def test_it_accepts_bearer_as_well_as_oauth() -> None:
    from django.contrib.auth.models import Group, User

    from tokens import services

    user = User.objects.create_user(username="ci", is_staff=True)
    user.groups.add(Group.objects.get(name="viewer"))
    _, plaintext = services.token_create(user=user, name="ci", scope="read")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    assert client.get(v1("components")).status_code == 200


@override_settings(API_RATE_LIMIT_PER_MINUTE=3)
def test_it_limits_each_token_with_429_and_retry_after() -> None:
    cache.clear()
    busy, other = api_client("read", "busy"), api_client("read", "other")
    codes = [busy.get(v1("components")).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    refused = busy.get(v1("components"))
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert "throttled" in body(refused)["error"].lower()
    assert other.get(v1("components")).status_code == 200


@pytest.mark.schema
def test_it_publishes_an_openapi_3_schema_of_every_resource() -> None:
    response = APIClient().get("/api/v1/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    paths = schema["paths"]
    for resource in (
        "components",
        "component-groups",
        "incidents",
        "incident_templates",
        "subscribers",
        "deliveries",
        "probes",
    ):
        assert f"/api/v1/pages/{{page_id}}/{resource}" in paths, resource
    assert "apiToken" in schema["components"]["securitySchemes"]


def test_it_serves_a_documentation_page_with_its_own_assets(client: Any) -> None:
    response = client.get("/api/v1/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/api/v1/openapi.json" in html
    assert "cdn" not in html.lower()  # self-hosted: the docs work offline


@pytest.mark.browser
def test_it_renders_the_documentation_in_a_browser(
    page_in_browser: Any, live_server: Any
) -> None:
    make_component(name="API")
    page_in_browser.goto(live_server.url + "/api/v1/docs/")
    page_in_browser.get_by_text("Heliograph management API").first.wait_for()
    assert page_in_browser.get_by_text("/pages/{page_id}/incidents").count() > 0


def test_it_answers_nul_characters_with_4xx_not_a_server_error() -> None:
    api = api_client()
    assert api.get(v1("components/a%00b")).status_code == 404
    assert api.get(v1("incidents/a%00b/incident_updates/x")).status_code == 404
    assert api.get(v1("incidents"), {"q": "a\x00b"}).status_code == 400
    response = api.post(
        v1("incidents"),
        {"incident": {"name": "x", "components": {"a\x00b": "major_outage"}}},
        format="json",
    )
    assert response.status_code == 400
    assert "incident.components" in body(response)["errors"]
    response = api.post(
        v1("components"), {"component": {"name": "a\x00b"}}, format="json"
    )
    assert response.status_code == 400


COLLECTIONS = [
    "components",
    "component-groups",
    "incidents",
    "incident_templates",
    "subscribers",
    "deliveries",
    "probes",
]
CREATABLE = [c for c in COLLECTIONS if c != "deliveries"]


@pytest.mark.parametrize("collection", COLLECTIONS)
def test_it_lets_every_scope_read_every_collection(collection: str) -> None:
    for scope in ("read", "write"):
        response = api_client(scope).get(v1(collection))
        assert response.status_code == 200, (scope, response.content)
        assert isinstance(body(response), list)


@pytest.mark.parametrize("collection", CREATABLE)
def test_it_refuses_every_write_to_read_scope(collection: str) -> None:
    make_component(name="API")
    reader = api_client("read")
    assert reader.post(v1(collection), {"name": "x"}, format="json").status_code == 403
    assert APIClient().post(v1(collection), {}, format="json").status_code == 401


def test_it_answers_unknown_api_addresses_in_json(client: Any) -> None:
    response = client.get("/api/v1/no/such/thing")
    assert response.status_code == 404
    assert response.json() == {"error": "Not found."}
    page = client.get("/no/such/page/")
    assert page.status_code == 404
    assert page["Content-Type"].startswith("text/html")
