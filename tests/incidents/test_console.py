"""The staff console (Django's admin) through the test client, signed in as staff."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django import forms
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from incidents import services
from incidents.models import (
    Component,
    ComponentStatusChange,
    Incident,
    IncidentUpdate,
    Page,
)
from tests.conftest import (
    make_component,
    make_group,
    make_incident,
    make_maintenance,
    make_page,
)

pytestmark = pytest.mark.django_db

COMPONENTS = reverse("admin:incidents_component_changelist")
OPEN_INCIDENT = reverse("admin:incidents_incident_add")
SCHEDULE = reverse("admin:incidents_incident_schedule")


def change_url(obj: Component | Incident) -> str:
    return reverse(f"admin:incidents_{obj._meta.model_name}_change", args=[obj.pk])


def filled(form: forms.BaseForm, **overrides: Any) -> dict[str, Any]:
    """What a browser would send for ``form`` as shown, with some fields changed."""
    data: dict[str, Any] = {}
    for name in form.fields:
        value = form[name].value()
        if value in (None, False, "", []):
            continue
        if isinstance(value, list):
            data[form.add_prefix(name)] = [str(item) for item in value]
            continue
        data[form.add_prefix(name)] = "on" if value is True else str(value)
    for name, value in overrides.items():
        key = form.add_prefix(name)
        if value is False:
            data.pop(key, None)
        else:
            data[key] = "on" if value is True else value
    return data


def component_form(**overrides: Any) -> dict[str, Any]:
    data = {"name": "API", "status": "operational", "showcase": "on", "_save": "Save"}
    data.update(overrides)
    return data


def post_update(
    client: Client, incident: Incident, action: str = "update", **fields: Any
) -> Any:
    form = client.get(change_url(incident)).context["update_form"]
    data = filled(form, **fields)
    return client.post(change_url(incident), {**data, "_action": action})


def when(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


# Components and groups ----------------------------------------------------------------


def test_it_creates_a_group_and_a_component(admin_client: Client) -> None:
    add = reverse("admin:incidents_component_add")

    response = admin_client.post(add, component_form(name="Acme", is_group="on"))
    assert response.status_code == 302
    group = Component.objects.get(name="Acme")
    assert group.is_group
    response = admin_client.post(add, component_form(name="Login", group=group.pk))

    assert response.status_code == 302
    login = Component.objects.get(name="Login")
    assert login.group == group
    assert login.position == 0
    listing = admin_client.get(COMPONENTS).content.decode()
    assert "Acme" in listing and "Login" in listing


def test_it_shows_a_refusal_to_nest_groups(admin_client: Client) -> None:
    outer = make_group(name="Outer")
    data = component_form(name="Inner", is_group="on", group=outer.pk)

    response = admin_client.post(reverse("admin:incidents_component_add"), data)

    assert response.status_code == 200
    assert "A group cannot belong to another group" in response.content.decode()
    assert response.context["adminform"].form["group"].errors
    assert not Component.objects.filter(name="Inner").exists()


def test_it_reorders_components_with_the_move_actions(admin_client: Client) -> None:
    web, api, docs = (make_component(name=name) for name in ("Web", "API", "Docs"))

    response = admin_client.post(
        COMPONENTS, {"action": "move_up", "_selected_action": [docs.pk], "index": 0}
    )

    assert response.status_code == 302
    names = list(Component.objects.order_by("position").values_list("name", flat=True))
    assert names == ["Web", "Docs", "API"]
    admin_client.post(
        COMPONENTS, {"action": "move_down", "_selected_action": [web.pk], "index": 0}
    )
    names = list(Component.objects.order_by("position").values_list("name", flat=True))
    assert names == ["Docs", "Web", "API"]
    assert api.pk


def test_it_reorders_components_from_the_list(admin_client: Client) -> None:
    web, api = make_component(name="Web"), make_component(name="API")
    data = {
        "form-TOTAL_FORMS": "2",
        "form-INITIAL_FORMS": "2",
        "form-0-id": str(web.pk),
        "form-0-position": "1",
        "form-1-id": str(api.pk),
        "form-1-position": "0",
        "_save": "Save",
    }

    response = admin_client.post(COMPONENTS, data)

    assert response.status_code == 302
    names = list(Component.objects.order_by("position").values_list("name", flat=True))
    assert names == ["API", "Web"]


def test_it_lists_groups_with_their_components_and_hides_deleted_ones(
    admin_client: Client,
) -> None:
    product = make_group(name="Product")
    make_component(name="Website")
    make_component(name="Login", group=product)
    gone = make_component(name="Retired")
    admin_client.post(
        COMPONENTS,
        {"action": "delete_components", "_selected_action": [gone.pk], "index": 0},
    )

    listing = admin_client.get(COMPONENTS).context["cl"].result_list

    assert [c.name for c in listing] == ["Product", "Login", "Website"]
    gone.refresh_from_db()
    assert gone.is_deleted


def test_it_sets_a_component_status_by_hand(
    admin_client: Client, admin_user: User
) -> None:
    api = make_component(name="API")
    data = component_form(name="API", status="major_outage", position="0")

    response = admin_client.post(change_url(api), data)

    assert response.status_code == 302
    api.refresh_from_db()
    assert api.status == "major_outage"
    change = ComponentStatusChange.objects.get(component=api)
    assert (change.old_status, change.new_status) == ("operational", "major_outage")
    assert (change.source, change.actor) == ("staff", admin_user)
    history = admin_client.get(change_url(api)).content.decode()
    assert "Operational &rarr; Major outage (Staff user, admin)" in history


def test_it_pins_a_component_against_the_probes(admin_client: Client) -> None:
    api = make_component(name="API")
    data = component_form(name="API", pinned="on", position="0")

    response = admin_client.post(change_url(api), data)

    assert response.status_code == 302
    api.refresh_from_db()
    assert api.pinned


def test_it_sets_statuses_with_a_list_action(
    admin_client: Client, admin_user: User
) -> None:
    group = make_group(name="Product")
    login = make_component(name="Login", group=group)
    data = {
        "action": "set_partial_outage",
        "_selected_action": [login.pk, group.pk],
        "index": 0,
    }

    response = admin_client.post(COMPONENTS, data, follow=True)

    login.refresh_from_db()
    group.refresh_from_db()
    assert login.status == group.status == "partial_outage"
    assert ComponentStatusChange.objects.get().actor == admin_user
    # The group itself was refused, and said so.
    assert "is a group: its status follows its components" in response.content.decode()


def test_it_refuses_to_delete_a_group_that_has_components(
    admin_client: Client,
) -> None:
    group = make_group(name="Product")
    make_component(name="Login", group=group)
    delete = reverse("admin:incidents_component_delete", args=[group.pk])

    response = admin_client.post(delete, {"post": "yes"}, follow=True)

    assert "still has components" in response.content.decode()
    group.refresh_from_db()
    assert not group.is_deleted


# Incidents ----------------------------------------------------------------------------


def test_it_opens_an_incident_with_affected_components(
    admin_client: Client, admin_user: User
) -> None:
    product = make_group(name="Product")
    login = make_component(name="Login", group=product)
    api = make_component(name="API")
    form = admin_client.get(OPEN_INCIDENT).context["form"]
    data = filled(
        form,
        name="Login failures",
        body="We are **investigating**.",
        **{f"component_{login.pk}": "partial_outage"},
    )

    response = admin_client.post(OPEN_INCIDENT, data)

    incident = Incident.objects.get(name="Login failures")
    assert response.status_code == 302
    assert response["Location"] == change_url(incident)
    assert (incident.status, incident.impact) == ("investigating", "major")
    assert list(incident.components.all()) == [login]
    login.refresh_from_db()
    api.refresh_from_db()
    assert (login.status, api.status) == ("partial_outage", "operational")
    update = incident.updates.get()
    assert update.author == admin_user
    assert update.body == "We are **investigating**."
    assert update.affected_components == [
        {
            "code": login.public_id,
            "name": "Product - Login",
            "old_status": "operational",
            "new_status": "partial_outage",
        }
    ]
    change = ComponentStatusChange.objects.get(component=login)
    assert (change.incident, change.actor) == (incident, admin_user)


def test_it_posts_an_update(admin_client: Client) -> None:
    api = make_component(name="API")
    incident = make_incident(component_statuses={api: "major_outage"})

    response = post_update(
        admin_client,
        incident,
        status="identified",
        body="Found it.",
        **{f"component_{api.pk}": "degraded_performance"},
    )

    assert response.status_code == 302
    incident.refresh_from_db()
    api.refresh_from_db()
    assert incident.status == "identified"
    assert api.status == "degraded_performance"
    update = incident.updates.first()
    assert update is not None
    assert update.body == "Found it."
    assert update.affected_components == [
        {
            "code": api.public_id,
            "name": "API",
            "old_status": "major_outage",
            "new_status": "degraded_performance",
        }
    ]
    page = admin_client.get(change_url(incident)).content.decode()
    assert "Found it." in page and "Posted a “Identified” update." in page


def test_it_resolves_an_incident_and_restores_its_components(
    admin_client: Client,
) -> None:
    api, web = make_component(name="API"), make_component(name="Web")
    incident = make_incident(
        component_statuses={api: "major_outage", web: "degraded_performance"}
    )

    response = post_update(
        admin_client,
        incident,
        action="resolve",
        body="All good.",
        **{f"component_{web.pk}": "partial_outage"},
    )

    assert response.status_code == 302
    incident.refresh_from_db()
    api.refresh_from_db()
    web.refresh_from_db()
    assert incident.status == "resolved"
    assert incident.resolved_at is not None
    # Left as it was, API went back to operational; Web was chosen by hand.
    assert (api.status, web.status) == ("operational", "partial_outage")


def test_it_refuses_an_update_dated_in_the_future(admin_client: Client) -> None:
    incident = make_incident()
    later = when(timezone.now() + dt.timedelta(days=1))

    response = post_update(
        admin_client, incident, status="monitoring", display_at=later
    )

    assert response.status_code == 200
    errors = response.context["update_form"].errors
    assert "cannot be dated in the future" in str(errors["display_at"])
    assert incident.updates.count() == 1


def test_it_publishes_a_postmortem(admin_client: Client) -> None:
    incident = make_incident(status="resolved")
    data = {"postmortem-postmortem_body": "# What happened", "_action": "postmortem"}

    response = admin_client.post(change_url(incident), data)

    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.status == "postmortem"
    assert incident.postmortem_body == "# What happened"
    assert incident.postmortem_published_at is not None


def test_it_refuses_a_postmortem_on_an_unresolved_incident(
    admin_client: Client,
) -> None:
    incident = make_incident()
    data = {"postmortem-postmortem_body": "Too early", "_action": "postmortem"}

    response = admin_client.post(change_url(incident), data)

    assert response.status_code == 200
    assert "Resolve the incident before publishing its postmortem." in (
        response.content.decode()
    )
    incident.refresh_from_db()
    assert (incident.status, incident.postmortem_body) == ("investigating", "")


def test_it_edits_the_name_and_impact(admin_client: Client) -> None:
    incident = make_incident(name="Errros")
    data = {
        "edit-name": "Errors",
        "edit-impact_override": "critical",
        "_action": "edit",
    }

    response = admin_client.post(change_url(incident), data)

    assert response.status_code == 302
    incident.refresh_from_db()
    assert (incident.name, incident.impact) == ("Errors", "critical")


def test_it_lets_staff_take_over_an_automatic_incident(admin_client: Client) -> None:
    incident = make_incident(name="API down", origin="automatic")
    page = admin_client.get(change_url(incident)).content.decode()
    assert "Taken over by staff" in page and "Hold auto-resolve" in page
    data = {
        "edit-name": "API down",
        "edit-impact_override": "",
        "edit-hold_auto_resolve": "on",
        "edit-automation_stopped": "on",
        "_action": "edit",
    }

    response = admin_client.post(change_url(incident), data)

    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.hold_auto_resolve and incident.automation_stopped
    assert not incident.is_automated


def test_it_offers_no_takeover_for_a_staff_incident(admin_client: Client) -> None:
    page = admin_client.get(change_url(make_incident())).content.decode()
    assert "Taken over by staff" not in page


def test_it_deletes_an_incident(admin_client: Client) -> None:
    incident = make_incident()
    delete = reverse("admin:incidents_incident_delete", args=[incident.pk])

    response = admin_client.post(delete, {"post": "yes"})

    assert response.status_code == 302
    assert not Incident.objects.exists()
    assert not IncidentUpdate.objects.exists()


def test_it_lists_incidents_with_both_ways_to_add(admin_client: Client) -> None:
    make_incident(name="Errors")
    make_maintenance(name="Upgrade")

    page = admin_client.get(reverse("admin:incidents_incident_changelist"))

    text = page.content.decode()
    assert "Errors" in text and "Upgrade" in text
    assert OPEN_INCIDENT in text and SCHEDULE in text


# Scheduled maintenance ----------------------------------------------------------------


def test_it_schedules_maintenance(admin_client: Client, admin_user: User) -> None:
    database = make_component(name="Database")
    start = timezone.now().replace(second=0, microsecond=0) + dt.timedelta(days=2)
    data = filled(
        admin_client.get(SCHEDULE).context["form"],
        name="Database upgrade",
        scheduled_for=when(start),
        scheduled_until=when(start + dt.timedelta(hours=2)),
        components=[database.pk],
        body="Expect a short read-only window.",
        auto_complete=False,
    )

    response = admin_client.post(SCHEDULE, data)

    maintenance = Incident.objects.maintenances().get()
    assert response.status_code == 302
    assert (maintenance.name, maintenance.status) == ("Database upgrade", "scheduled")
    assert maintenance.scheduled_for == start
    assert maintenance.scheduled_until == start + dt.timedelta(hours=2)
    assert (maintenance.auto_start, maintenance.auto_complete) == (True, False)
    assert list(maintenance.components.all()) == [database]
    assert maintenance.updates.get().author == admin_user


def test_it_refuses_a_maintenance_that_ends_before_it_starts(
    admin_client: Client,
) -> None:
    start = timezone.now() + dt.timedelta(days=2)
    data = filled(
        admin_client.get(SCHEDULE).context["form"],
        name="Backwards",
        scheduled_for=when(start),
        scheduled_until=when(start - dt.timedelta(hours=1)),
    )

    response = admin_client.post(SCHEDULE, data)

    assert response.status_code == 200
    assert "The maintenance must end after it starts." in response.content.decode()
    assert response.context["form"].errors["scheduled_until"]
    assert not Incident.objects.exists()


def test_it_moves_a_maintenance_through_its_statuses(admin_client: Client) -> None:
    database = make_component(name="Database")
    maintenance = make_maintenance(components=[database])

    post_update(admin_client, maintenance, status="in_progress", body="Started.")
    database.refresh_from_db()
    assert database.status == "under_maintenance"
    response = post_update(admin_client, maintenance, action="resolve", body="Done.")

    assert response.status_code == 302
    maintenance.refresh_from_db()
    database.refresh_from_db()
    assert (maintenance.status, database.status) == ("completed", "operational")


# Several pages: which pages show an incident and each update ------------------------


@pytest.fixture
def two_pages() -> tuple[Page, Page]:
    """Acme's public page (the default) and its employees' page on ``localhost``."""
    public = make_page(name="Acme")
    internal = services.page_create(
        name="Acme internal", slug="internal", hosts=["localhost"]
    )
    return public, internal


def summary_updates(client: Client, host: str) -> list[str]:
    response = client.get("/api/v2/summary.json", HTTP_HOST=host)
    [incident] = json.loads(response.content)["incidents"]
    return [update["body"] for update in incident["incident_updates"]]


def test_it_posts_an_internal_update_on_the_chosen_pages_alone(
    admin_client: Client, client: Client, two_pages: tuple[Page, Page]
) -> None:
    public, internal = two_pages
    login = make_component(name="Login", pages=[public, internal])
    incident = make_incident(
        body="Some users cannot sign in.", component_statuses={login: "major_outage"}
    )
    form = admin_client.get(change_url(incident)).context["update_form"]
    assert form["shown_on"].value() == [public.pk, internal.pk]

    response = post_update(
        admin_client,
        incident,
        status="investigating",
        body="The session store failed over.",
        shown_on=[str(internal.pk)],
    )

    assert response.status_code == 302
    update = incident.updates.first()
    assert update is not None and list(update.shown_on.all()) == [internal]
    assert summary_updates(client, "localhost") == [
        "The session store failed over.",
        "Some users cannot sign in.",
    ]
    assert summary_updates(client, "127.0.0.1") == ["Some users cannot sign in."]
    page = admin_client.get(change_url(incident)).content.decode()
    assert "Shown only on Acme internal" in page


def test_it_shows_an_update_on_every_page_of_the_incident_by_default(
    admin_client: Client, two_pages: tuple[Page, Page]
) -> None:
    public, internal = two_pages
    login = make_component(name="Login", pages=[public, internal])
    incident = make_incident(component_statuses={login: "major_outage"})

    response = post_update(admin_client, incident, status="identified", body="Found.")

    assert response.status_code == 302
    update = incident.updates.get(body="Found.")
    assert list(update.shown_on.all()) == []  # every page, now and later


def test_it_refuses_an_update_on_a_page_the_incident_is_not_on(
    admin_client: Client, two_pages: tuple[Page, Page]
) -> None:
    public, internal = two_pages
    incident = make_incident(
        component_statuses={make_component(name="API"): "major_outage"}
    )
    assert list(incident.pages.all()) == [public]

    response = post_update(
        admin_client, incident, status="identified", shown_on=[str(internal.pk)]
    )

    assert response.status_code == 200
    errors = response.context["update_form"].errors
    assert "This incident is not on that page" in errors["shown_on"][0]
    assert incident.updates.count() == 1
    refused = post_update(admin_client, incident, status="identified", shown_on=[])
    assert "Choose at least one" in refused.context["update_form"].errors["shown_on"][0]
    assert incident.updates.count() == 1


def test_it_opens_an_incident_on_the_chosen_pages(
    admin_client: Client, two_pages: tuple[Page, Page]
) -> None:
    public, internal = two_pages
    api = make_component(name="API", pages=[public])
    form = admin_client.get(OPEN_INCIDENT).context["form"]
    assert form["pages"].value() in (None, [])

    chosen = filled(form, name="Drill", pages=[str(internal.pk)])
    admin_client.post(OPEN_INCIDENT, chosen)
    outage = {f"component_{api.pk}": "major_outage"}
    by_components = filled(form, name="API down", **outage)
    admin_client.post(OPEN_INCIDENT, by_components)
    neither = filled(form, name="Something")
    admin_client.post(OPEN_INCIDENT, neither)

    def pages_of(name: str) -> list[Page]:
        return list(Incident.objects.get(name=name).pages.all())

    assert pages_of("Drill") == [internal]
    assert pages_of("API down") == [public]
    assert pages_of("Something") == [public]  # the default page


def test_it_asks_for_no_pages_when_the_install_has_one(admin_client: Client) -> None:
    make_page(name="Acme")
    incident = make_incident(
        component_statuses={make_component(name="API"): "major_outage"}
    )

    open_form = admin_client.get(OPEN_INCIDENT).context["form"]
    update_form = admin_client.get(change_url(incident)).context["update_form"]

    assert "pages" not in open_form.fields
    assert "shown_on" not in update_form.fields
    response = post_update(admin_client, incident, status="identified")
    assert response.status_code == 302


# Page settings and access -------------------------------------------------------------


def test_it_edits_the_page_settings(admin_client: Client) -> None:
    make_page(name="Acme")
    listing = admin_client.get(reverse("admin:incidents_page_changelist"))
    settings_url = listing["Location"]
    data = {
        "name": "Acme status",
        "slug": "main",
        "url": "https://status.acme.test",
        "time_zone": "Europe/Berlin",
        "description": "How Acme is doing",
    }

    response = admin_client.post(settings_url, data)

    assert response.status_code == 302
    page = Page.get()
    assert (page.name, page.time_zone) == ("Acme status", "Europe/Berlin")
    data["time_zone"] = "Mars/Olympus"
    refused = admin_client.post(settings_url, data)
    assert refused.status_code == 200
    assert "is not an IANA time zone name" in refused.content.decode()


def test_it_sends_non_staff_to_the_login_page(client: Client) -> None:
    user = User.objects.create_user("visitor", password="secret")
    client.force_login(user)

    for url in (OPEN_INCIDENT, SCHEDULE, COMPONENTS):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))
