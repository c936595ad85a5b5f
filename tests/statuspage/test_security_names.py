"""A name that reaches a mail header or subject is one line, whichever way it comes.

A line break in the page's name (the sender's name of every mail) or an incident's
made every message fail to send (a header cannot hold one). The services refuse it,
so the console, the API and ``manage.py apply`` all say which field and why.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from incidents import services
from incidents.models import Component, Incident, IncidentTemplate, Page
from tests.api_helpers import api_client, body, v1
from tests.conftest import make_component, make_page

pytestmark = pytest.mark.django_db

SINGLE_LINE = "Must be a single line: remove a line break (U+000A) at character 5."


@pytest.fixture(autouse=True)
def page() -> Page:
    return make_page(name="Acme")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Acme\nBcc: all@example.com", "a line break (U+000A)"),
        ("Acme\r\nX", "a line break (U+000D)"),
        ("Acme\u2028X", "a line break (U+2028)"),
        ("Acme\x85X", "a line break (U+0085)"),
        ("Acme\x07X", "a control character (U+0007)"),
        ("Acme\tX", "a control character (U+0009)"),
    ],
)
def test_it_refuses_line_breaks_and_control_characters_in_the_page_name(
    text: str, reason: str
) -> None:
    with pytest.raises(ValidationError) as refusal:
        services.page_update(name=text)

    assert refusal.value.message_dict == {
        "name": [f"Must be a single line: remove {reason} at character 5."]
    }
    assert Page.get().name == "Acme"


def test_it_keeps_names_that_are_one_line() -> None:
    services.page_update(name="Acme · Status — ünïcode ✓")
    component = make_component(name="Login / logout (EU)")

    assert Page.get().name == "Acme · Status — ünïcode ✓"
    assert component.name == "Login / logout (EU)"


# The console ----------------------------------------------------------------------


def test_it_shows_the_refusal_on_the_field_in_the_console(admin_client: Client) -> None:
    page_form = {
        "name": "Acme\nBcc: all@example.com",
        "slug": Page.get().slug,
        "url": "https://status.acme.test",
        "time_zone": "UTC",
    }
    response = admin_client.post(
        reverse("admin:incidents_page_change", args=[Page.get().pk]), page_form
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["name"] == [SINGLE_LINE]

    open_form = admin_client.get(reverse("admin:incidents_incident_add"))
    data = {
        "name": "Down\nBcc: all@example.com",
        "status": "investigating",
        "body": "Looking.",
    }
    response = admin_client.post(reverse("admin:incidents_incident_add"), data)
    assert open_form.status_code == 200
    assert response.status_code == 200
    assert response.context["form"].errors["name"] == [SINGLE_LINE]
    assert not Incident.objects.exists()
    assert Page.get().name == "Acme"


# The API --------------------------------------------------------------------------


def test_it_answers_400_naming_the_field_in_the_api() -> None:
    client = api_client()
    cases = [
        (v1("components"), "post", {"component": {"name": "Open\nAPI"}}),
        (v1("incidents"), "post", {"incident": {"name": "Down\nnow", "body": "x"}}),
        (
            v1("incident_templates"),
            "post",
            {"template": {"name": "T", "title": "Down\nnow", "body": "x"}},
        ),
        (v1(), "patch", {"page": {"name": "Acme\nX"}}),
    ]
    for url, method, data in cases:
        response = getattr(client, method)(url, data, format="json")

        assert response.status_code == 400, (url, response.content)
        (field,) = body(response)["errors"]
        assert field.endswith(("name", "title")), field
        assert body(response)["errors"][field][0].startswith("Must be a single line")
    assert not Component.objects.exists()
    assert not Incident.objects.exists()
    assert not IncidentTemplate.objects.exists()
    assert Page.get().name == "Acme"


# Configuration files --------------------------------------------------------------


def test_it_names_the_line_and_field_in_a_configuration_file(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        "version: 1\n"
        'page: {name: "Acme\\nBcc: all@example.com"}\n'
        "components:\n"
        '  - name: "Web\\r\\nfront end"\n'
        "templates:\n"
        '  - {name: Slow, title: "Slow\\u2028again"}\n'
    )

    with pytest.raises(CommandError) as refusal:
        call_command("apply", str(config), stdout=io.StringIO())

    assert str(refusal.value).replace(str(config), "FILE").splitlines() == [
        f"FILE:2: page.name: page: {SINGLE_LINE}",
        'FILE:4: components[0].name: component "Web\\r\\nfront end": Must be a '
        "single line: remove a line break (U+000D) at character 4.",
        'FILE:6: templates[0].title: template "Slow": Must be a single line: remove '
        "a line break (U+2028) at character 5.",
        "Nothing was written.",
    ]
    assert not Component.objects.exists()
    assert Page.get().name == "Acme"
