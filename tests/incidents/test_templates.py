"""Incident templates: the services and the console."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from incidents import services
from incidents.models import IncidentTemplate
from tests.conftest import make_component, make_group

pytestmark = pytest.mark.django_db


def test_it_creates_and_changes_a_template_with_its_components() -> None:
    api, web = make_component(name="API"), make_component(name="Web")
    template = services.template_create(
        name="API down", title="API unavailable", body="We are on it.", components=[api]
    )
    assert list(template.components.all()) == [api]
    services.template_update(template=template, body="Fixed text", components=[web])
    template.refresh_from_db()
    assert template.body == "Fixed text"
    assert template.title == "API unavailable"
    assert list(template.components.all()) == [web]


def test_it_keeps_the_components_when_they_are_not_given() -> None:
    api = make_component(name="API")
    template = services.template_create(name="t", title="T", components=[api])
    services.template_update(template=template, title="New")
    assert list(template.components.all()) == [api]


def test_it_refuses_groups_duplicates_and_postmortem_status() -> None:
    group = make_group()
    with pytest.raises(ValidationError) as refusal:
        services.template_create(name="g", title="G", components=[group])
    assert "components" in refusal.value.message_dict
    services.template_create(name="same", title="A")
    with pytest.raises(ValidationError) as refusal:
        services.template_create(name="same", title="B")
    assert "name" in refusal.value.message_dict
    with pytest.raises(ValidationError) as refusal:
        services.template_create(name="pm", title="P", update_status="postmortem")
    assert "update_status" in refusal.value.message_dict
    assert IncidentTemplate.objects.count() == 1


def test_it_creates_a_template_from_the_console(admin_client: Client) -> None:
    api = make_component(name="API")
    response = admin_client.post(
        reverse("admin:incidents_incidenttemplate_add"),
        {
            "name": "API down",
            "title": "API unavailable",
            "body": "Investigating.",
            "update_status": "investigating",
            "should_send_notifications": "on",
            "components": [api.pk],
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    template = IncidentTemplate.objects.get()
    assert template.title == "API unavailable"
    assert list(template.components.all()) == [api]


def test_it_starts_an_incident_from_a_template_in_the_console(
    admin_client: Client,
) -> None:
    template = services.template_create(
        name="Login down",
        title="Sign-in failing",
        body="We are <looking> into it.",
        update_status="identified",
        should_send_notifications=False,
    )
    add = reverse("admin:incidents_incident_add")
    listing = admin_client.get(add).content.decode()
    assert f'href="?template={template.public_id}"' in listing
    page = admin_client.get(add, {"template": template.public_id})
    form = page.context["form"]
    assert form.initial["name"] == "Sign-in failing"
    assert form.initial["status"] == "identified"
    assert form.initial["deliver_notifications"] is False
    assert "We are &lt;looking&gt; into it." in page.content.decode()
    unknown = admin_client.get(add, {"template": "nope"})
    assert unknown.status_code == 200
    assert unknown.context["form"].initial == {}
