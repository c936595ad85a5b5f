"""One request, one transaction: a management API write refused part way leaves
nothing behind (the review's reproductions)."""

from __future__ import annotations

import pytest

from audit.models import AuditEntry
from incidents.models import Component, Incident, Origin
from tests.api_helpers import api_client, body, v1
from tests.conftest import make_component, make_group, make_incident, make_page

pytestmark = pytest.mark.django_db


def test_it_renames_nothing_when_an_incident_patch_is_refused() -> None:
    make_page()
    incident = make_incident(name="Before")
    Incident.objects.filter(pk=incident.pk).update(
        origin=Origin.AUTOMATIC, automation_stopped=False
    )
    client = api_client()
    before = AuditEntry.objects.count()

    response = client.patch(
        v1(f"incidents/{incident.public_id}"),
        {"incident": {"name": "After", "status": "postmortem"}},
        format="json",
    )

    assert response.status_code == 400
    assert "incident.status" in body(response)["errors"]
    kept = Incident.objects.get(pk=incident.pk)
    assert (kept.name, kept.automation_stopped) == ("Before", False)
    assert kept.updates.count() == 1
    assert AuditEntry.objects.count() == before


def test_it_renames_nothing_when_a_group_is_given_a_status() -> None:
    make_page()
    group = make_group(name="Before")
    make_component(name="API", group=group)

    response = api_client().patch(
        v1(f"components/{group.public_id}"),
        {"component": {"name": "After", "status": "major_outage"}},
        format="json",
    )

    assert response.status_code == 400
    assert "is a group" in body(response)["error"]
    assert Component.objects.get(pk=group.pk).name == "Before"


def test_it_keeps_every_change_of_a_write_that_succeeds() -> None:
    make_page()
    incident = make_incident(name="Before")

    response = api_client().patch(
        v1(f"incidents/{incident.public_id}"),
        {"incident": {"name": "After", "status": "identified", "body": "Found it."}},
        format="json",
    )

    assert response.status_code == 200
    kept = Incident.objects.get(pk=incident.pk)
    assert (kept.name, kept.status) == ("After", "identified")
