"""Statuspage's older clients and scripts: ``.json`` paths and bracketed forms."""

from __future__ import annotations

import pytest

from incidents.models import Component, Incident
from kit.api.compat import nest
from tests.api_helpers import api_client, body, v1
from tests.conftest import make_component, make_group

pytestmark = pytest.mark.django_db


def test_it_nests_bracketed_form_keys() -> None:
    assert nest(
        [
            ("incident[name]", ["Down"]),
            ("incident[components][abc]", ["major_outage"]),
            ("incident[component_ids][]", ["a", "b"]),
            ("plain", ["1"]),
            ("broken[key", ["x"]),
        ]
    ) == {
        "incident": {
            "name": "Down",
            "components": {"abc": "major_outage"},
            "component_ids": ["a", "b"],
        },
        "plain": "1",
        "broken[key": "x",
    }


def test_it_takes_paths_ending_in_json() -> None:
    component = make_component(name="API")
    api = api_client()
    listing = api.get(v1("components.json"))
    assert listing.status_code == 200
    assert [row["id"] for row in body(listing)] == [component.public_id]
    one = api.get(v1(f"components/{component.public_id}.json"))
    assert body(one)["name"] == "API"
    assert api.get(v1() + ".json").status_code == 200


def test_it_takes_a_form_encoded_status_change_as_statuspage_documented() -> None:
    component = make_component(name="API")
    response = api_client().patch(
        v1(f"components/{component.public_id}.json"),
        "component[status]=major_outage&component[showcase]=false",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200, response.content
    component.refresh_from_db()
    assert component.status == "major_outage"
    assert component.showcase is False


def test_it_opens_an_incident_from_a_form_encoded_body() -> None:
    group = make_group(name="Acme")
    login = make_component(name="Login", group=group)
    form = (
        "incident[name]=Sign-in+failing&incident[status]=identified"
        f"&incident[components][{login.public_id}]=partial_outage"
        "&incident[deliver_notifications]=false&incident[body]=Rolling+back"
    )
    response = api_client().post(
        v1("incidents.json"), form, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 201, response.content
    incident = Incident.objects.get()
    assert incident.status == "identified"
    assert incident.updates.get().deliver_notifications is False
    assert Component.objects.get(pk=login.pk).status == "partial_outage"


def test_it_still_names_the_field_of_a_bad_form_value() -> None:
    component = make_component(name="API")
    response = api_client().patch(
        v1(f"components/{component.public_id}"),
        "component[status]=on_fire",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400
    assert "component.status" in body(response)["errors"]


def test_it_keeps_json_strict_about_types() -> None:
    component = make_component(name="API")
    response = api_client().patch(
        v1(f"components/{component.public_id}"),
        {"component": {"showcase": "false"}},
        format="json",
    )
    assert response.status_code == 400
    assert "component.showcase" in body(response)["errors"]


def test_it_takes_a_group_description_beside_the_envelope() -> None:
    login = make_component(name="Login")
    response = api_client().post(
        v1("component-groups"),
        {
            "description": "Everything Acme",
            "component_group": {"name": "Acme", "components": [login.public_id]},
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert body(response)["description"] == "Everything Acme"
