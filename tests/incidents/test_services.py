"""The write services: components, incidents, postmortems and page settings."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils import timezone

from incidents import services
from incidents.models import (
    Component,
    ComponentStatusChange,
    Impact,
    Incident,
    IncidentUpdate,
    Origin,
    Page,
)
from tests.conftest import make_component, make_group, make_incident, make_page

pytestmark = pytest.mark.django_db


def messages(error: pytest.ExceptionInfo[ValidationError]) -> list[str]:
    return error.value.messages


def status_of(component: Component) -> str:
    return Component.objects.get(pk=component.pk).status


def set_status(component: Component, status: str, **kwargs: object) -> object:
    return services.component_set_status(
        component=component, status=status, source="staff", **kwargs
    )


# Components ---------------------------------------------------------------------------


def test_it_appends_new_components_at_the_end_of_their_level() -> None:
    group = make_group()
    first_top = make_component(name="Website")
    first_child = make_component(name="Login", group=group)
    second_child = make_component(name="Logout", group=group)
    second_top = make_component(name="API")

    assert [group.position, first_top.position, second_top.position] == [0, 1, 2]
    assert [first_child.position, second_child.position] == [0, 1]


def test_it_ignores_deleted_components_when_appending() -> None:
    first = make_component(name="Website")
    second = make_component(name="API")
    services.component_delete(component=second)

    third = make_component(name="CDN")

    assert (first.position, third.position) == (0, 1)


def test_it_refuses_to_nest_a_group_in_a_group() -> None:
    group = make_group()

    with pytest.raises(ValidationError) as error:
        make_group(name="Inner", group=group)

    assert messages(error) == [
        "A group cannot belong to another group: only two levels exist."
    ]
    assert not Component.objects.filter(name="Inner").exists()


def test_it_refuses_a_component_as_a_group() -> None:
    parent = make_component(name="Website")

    with pytest.raises(ValidationError) as error:
        make_component(name="Login", group=parent)

    assert messages(error) == ["'Website' is a component, not a group."]


def test_it_refuses_a_deleted_group() -> None:
    group = make_group(name="Legacy")
    services.component_delete(component=group)

    with pytest.raises(ValidationError) as error:
        make_component(name="Login", group=group)

    assert messages(error) == ["The group 'Legacy' was deleted."]


def test_it_derives_a_group_status_from_its_worst_child() -> None:
    group = make_group()
    login = make_component(name="Login", group=group)
    make_component(name="Logout", group=group, status="degraded_performance")
    assert status_of(group) == "degraded_performance"

    set_status(login, "major_outage")
    assert status_of(group) == "major_outage"

    set_status(login, "operational")
    assert status_of(group) == "degraded_performance"


def test_it_ignores_the_requested_status_of_a_new_group() -> None:
    group = make_group(status="major_outage")

    assert status_of(group) == "operational"


def test_it_recomputes_both_groups_when_a_child_moves() -> None:
    old_group = make_group(name="Old")
    new_group = make_group(name="New")
    login = make_component(name="Login", group=old_group)
    make_component(name="Other", group=new_group)
    set_status(login, "major_outage")

    moved = services.component_update(component=login, group=new_group)

    assert moved.group == new_group
    assert status_of(login) == "major_outage"
    assert status_of(old_group) == "operational"
    assert status_of(new_group) == "major_outage"
    assert Component.objects.get(pk=login.pk).position == 1


def test_it_recomputes_the_group_when_a_child_is_deleted() -> None:
    group = make_group()
    login = make_component(name="Login", group=group)
    make_component(name="Logout", group=group)
    set_status(login, "partial_outage")
    assert status_of(group) == "partial_outage"

    services.component_delete(component=login)

    assert status_of(group) == "operational"


def test_it_keeps_the_status_when_a_component_is_edited() -> None:
    api = make_component(name="API")
    set_status(api, "major_outage")

    services.component_update(component=api, description="The public API")

    stored = Component.objects.get(pk=api.pk)
    assert (stored.description, stored.status) == ("The public API", "major_outage")


def test_it_records_who_changed_a_status() -> None:
    user = get_user_model().objects.create_user("operator")
    api = make_component(name="API")

    change = set_status(api, "partial_outage", actor=user)

    assert isinstance(change, ComponentStatusChange)
    recorded = ComponentStatusChange.objects.get(component=api)
    assert (
        recorded.old_status,
        recorded.new_status,
        recorded.source,
        recorded.actor,
    ) == ("operational", "partial_outage", "staff", user)
    assert status_of(api) == "partial_outage"


def test_it_records_nothing_when_the_status_is_unchanged() -> None:
    api = make_component(name="API", status="degraded_performance")

    assert set_status(api, "degraded_performance") is None
    assert not ComponentStatusChange.objects.exists()


def test_it_refuses_to_set_a_group_status() -> None:
    group = make_group(name="Acme product")

    with pytest.raises(ValidationError) as error:
        set_status(group, "major_outage")

    assert messages(error) == [
        "'Acme product' is a group: its status follows its components."
    ]
    assert status_of(group) == "operational"


def test_it_refuses_to_set_a_deleted_component_status() -> None:
    api = make_component(name="API")
    services.component_delete(component=api)

    with pytest.raises(ValidationError) as error:
        set_status(api, "major_outage")

    assert messages(error) == ["The component 'API' was deleted."]
    assert status_of(api) == "operational"


def test_it_refuses_an_unknown_component_status() -> None:
    api = make_component(name="API")

    with pytest.raises(ValidationError) as error:
        set_status(api, "on_fire")

    assert messages(error) == [
        "'on_fire' is not a component status; use one of operational, "
        "degraded_performance, partial_outage, major_outage, under_maintenance."
    ]
    assert not ComponentStatusChange.objects.exists()


def test_it_deletes_softly() -> None:
    api = make_component(name="API")

    services.component_delete(component=api)

    stored = Component.objects.get(pk=api.pk)
    assert stored.deleted_at is not None
    assert list(Component.objects.live()) == []


def test_it_refuses_to_delete_a_group_with_live_children() -> None:
    group = make_group(name="Acme product")
    make_component(name="Login", group=group)

    with pytest.raises(ValidationError) as error:
        services.component_delete(component=group)

    assert messages(error) == [
        "The group 'Acme product' still has components: move or delete them first."
    ]
    assert Component.objects.get(pk=group.pk).deleted_at is None


def test_it_deletes_a_group_whose_children_are_deleted() -> None:
    group = make_group()
    login = make_component(name="Login", group=group)
    services.component_delete(component=login)

    services.component_delete(component=group)

    assert not Component.objects.live().exists()


def test_it_reorders_components_of_one_level() -> None:
    website = make_component(name="Website")
    api = make_component(name="API")
    cdn = make_component(name="CDN")

    services.components_reorder(ordered=[cdn, website, api])

    assert [c.name for c in Component.objects.all()] == ["CDN", "Website", "API"]


def test_it_refuses_to_reorder_across_levels() -> None:
    group = make_group()
    website = make_component(name="Website")
    login = make_component(name="Login", group=group)

    with pytest.raises(ValidationError) as error:
        services.components_reorder(ordered=[login, website])

    assert messages(error) == [
        "Only components of the same level can be reordered together."
    ]


# Incidents ----------------------------------------------------------------------------


def test_it_opens_an_incident_with_its_components() -> None:
    group = make_group(name="Acme product")
    login = make_component(name="Login", group=group)
    api = make_component(name="API")

    incident = make_incident(
        component_statuses={login: "partial_outage", api: "degraded_performance"}
    )

    assert (incident.status, incident.impact, incident.origin) == (
        "investigating",
        "major",
        "staff",
    )
    assert (status_of(login), status_of(api), status_of(group)) == (
        "partial_outage",
        "degraded_performance",
        "partial_outage",
    )
    assert set(incident.components.all()) == {login, api}
    update = incident.updates.get()
    assert update.body == "Looking into it."
    assert update.affected_components == [
        {
            "code": login.public_id,
            "name": "Acme product - Login",
            "old_status": "operational",
            "new_status": "partial_outage",
        },
        {
            "code": api.public_id,
            "name": "API",
            "old_status": "operational",
            "new_status": "degraded_performance",
        },
    ]
    changes = ComponentStatusChange.objects.filter(incident=incident)
    assert {(c.component_id, c.new_status) for c in changes} == {
        (login.pk, "partial_outage"),
        (api.pk, "degraded_performance"),
    }


@pytest.mark.parametrize(
    ("component_status", "impact"),
    [
        ("operational", "none"),
        ("under_maintenance", "none"),
        ("degraded_performance", "minor"),
        ("partial_outage", "major"),
        ("major_outage", "critical"),
    ],
)
def test_it_computes_the_impact_from_the_components(
    component_status: str, impact: str
) -> None:
    api = make_component(name="API")

    incident = make_incident(component_statuses={api: component_status})

    assert incident.impact == impact


def test_it_takes_the_worst_component_for_the_impact() -> None:
    api = make_component(name="API")
    web = make_component(name="Website")

    incident = make_incident(
        component_statuses={api: "major_outage", web: "degraded_performance"}
    )

    assert incident.impact == "critical"


def test_it_lets_the_impact_override_win() -> None:
    api = make_component(name="API")

    incident = make_incident(
        component_statuses={api: "major_outage"}, impact_override="minor"
    )

    assert incident.impact == "minor"


def test_it_records_the_origin() -> None:
    incident = make_incident(origin=Origin.AUTOMATIC)

    assert incident.origin == "automatic"


def test_it_refuses_a_maintenance_status_for_a_new_incident() -> None:
    with pytest.raises(ValidationError) as error:
        make_incident(status="scheduled")

    assert "'scheduled' is not a status of an incident" in messages(error)[0]
    assert not Incident.objects.exists()


def test_it_opens_an_incident_atomically() -> None:
    api = make_component(name="API")
    gone = make_component(name="Legacy")
    stale_gone = Component.objects.get(pk=gone.pk)
    services.component_delete(component=gone)

    with pytest.raises(ValidationError):
        make_incident(
            component_statuses={api: "major_outage", stale_gone: "major_outage"}
        )

    assert not Incident.objects.exists()
    assert not IncidentUpdate.objects.exists()
    assert status_of(api) == "operational"
    assert not ComponentStatusChange.objects.exists()


def test_it_moves_the_incident_status_with_each_update() -> None:
    incident = make_incident()

    update = services.incident_post_update(
        incident=incident, status="identified", body="Found it."
    )

    incident.refresh_from_db()
    assert incident.status == "identified"
    assert (update.status, update.body, update.affected_components) == (
        "identified",
        "Found it.",
        None,
    )
    assert [u.status for u in incident.updates.order_by("id")] == [
        "investigating",
        "identified",
    ]


def test_it_sets_monitoring_at_once() -> None:
    incident = make_incident()
    first = timezone.now() - dt.timedelta(minutes=30)
    services.incident_post_update(
        incident=incident, status="monitoring", display_at=first
    )
    services.incident_post_update(incident=incident, status="identified")

    services.incident_post_update(incident=incident, status="monitoring")

    incident.refresh_from_db()
    assert incident.monitoring_at == first


def test_it_sets_resolved_at_on_resolve_and_clears_it_on_reopen() -> None:
    incident = make_incident()

    services.incident_post_update(incident=incident, status="resolved")
    incident.refresh_from_db()
    assert incident.resolved_at is not None
    assert not incident.is_open

    services.incident_post_update(incident=incident, status="investigating")
    incident.refresh_from_db()
    assert incident.resolved_at is None
    assert incident.is_open


def test_it_keeps_the_worst_impact_reached() -> None:
    api = make_component(name="API")
    incident = make_incident(component_statuses={api: "major_outage"})

    services.incident_post_update(
        incident=incident,
        status="monitoring",
        component_statuses={api: "operational"},
    )

    incident.refresh_from_db()
    assert incident.impact == "critical"
    assert status_of(api) == "operational"


def test_it_raises_the_impact_when_things_get_worse() -> None:
    api = make_component(name="API")
    incident = make_incident(component_statuses={api: "degraded_performance"})

    services.incident_post_update(
        incident=incident,
        status="identified",
        component_statuses={api: "partial_outage"},
    )

    incident.refresh_from_db()
    assert incident.impact == "major"


def test_it_accepts_a_back_dated_update() -> None:
    incident = make_incident()
    earlier = timezone.now() - dt.timedelta(hours=3)

    update = services.incident_post_update(
        incident=incident, status="resolved", display_at=earlier
    )

    incident.refresh_from_db()
    assert update.display_at == earlier
    assert incident.resolved_at == earlier


def test_it_refuses_an_update_dated_in_the_future() -> None:
    incident = make_incident()

    with pytest.raises(ValidationError) as error:
        services.incident_post_update(
            incident=incident,
            status="resolved",
            display_at=timezone.now() + dt.timedelta(hours=1),
        )

    assert messages(error) == [
        "An update cannot be dated in the future; back-dating is allowed."
    ]
    incident.refresh_from_db()
    assert incident.status == "investigating"
    assert incident.updates.count() == 1


def test_it_refuses_an_update_on_a_deleted_component_and_writes_nothing() -> None:
    api = make_component(name="API")
    web = make_component(name="Website")
    incident = make_incident(component_statuses={api: "degraded_performance"})
    # A form or API client still holding the row from before it was deleted.
    stale_web = Component.objects.get(pk=web.pk)
    services.component_delete(component=web)

    with pytest.raises(ValidationError) as error:
        services.incident_post_update(
            incident=incident,
            status="identified",
            component_statuses={api: "major_outage", stale_web: "major_outage"},
        )

    assert messages(error) == ["The component 'Website' was deleted."]
    incident.refresh_from_db()
    assert (incident.status, incident.impact) == ("investigating", "minor")
    assert incident.updates.count() == 1
    assert status_of(api) == "degraded_performance"
    assert status_of(web) == "operational"
    assert ComponentStatusChange.objects.count() == 1


def test_it_refuses_a_deleted_component_before_touching_anything() -> None:
    api = make_component(name="API")
    web = make_component(name="Website")
    incident = make_incident()
    services.component_delete(component=web)

    with pytest.raises(ValidationError) as error:
        services.incident_post_update(
            incident=incident,
            status="identified",
            component_statuses={api: "major_outage", web: "major_outage"},
        )

    assert messages(error) == [
        "The component 'Website' was deleted; it can no longer be part of an incident."
    ]
    incident.refresh_from_db()
    assert incident.status == "investigating"
    assert status_of(api) == "operational"


def test_it_refuses_the_postmortem_status_in_an_update() -> None:
    incident = make_incident(status="resolved")

    with pytest.raises(ValidationError) as error:
        services.incident_post_update(incident=incident, status="postmortem")

    assert messages(error) == [
        "Publish a postmortem to give an incident the postmortem status."
    ]
    incident.refresh_from_db()
    assert incident.status == "resolved"


def test_it_refuses_a_maintenance_status_on_an_incident() -> None:
    incident = make_incident()

    with pytest.raises(ValidationError) as error:
        services.incident_post_update(incident=incident, status="in_progress")

    assert messages(error) == [
        "'in_progress' is not a status of an incident; use one of investigating, "
        "identified, monitoring, resolved, postmortem."
    ]
    incident.refresh_from_db()
    assert incident.status == "investigating"


def test_it_refuses_an_incident_status_on_a_maintenance() -> None:
    start = timezone.now() + dt.timedelta(hours=1)
    maintenance = services.maintenance_schedule(
        name="Database upgrade",
        scheduled_for=start,
        scheduled_until=start + dt.timedelta(hours=1),
    )

    with pytest.raises(ValidationError) as error:
        services.incident_post_update(incident=maintenance, status="resolved")

    assert messages(error) == [
        "'resolved' is not a status of a scheduled maintenance; use one of "
        "scheduled, in_progress, verifying, completed."
    ]
    maintenance.refresh_from_db()
    assert maintenance.status == "scheduled"


# Postmortems and edits ----------------------------------------------------------------


def test_it_refuses_a_postmortem_before_the_incident_is_resolved() -> None:
    incident = make_incident()

    with pytest.raises(ValidationError) as error:
        services.incident_publish_postmortem(incident=incident, body="What happened")

    assert messages(error) == ["Resolve the incident before publishing its postmortem."]
    incident.refresh_from_db()
    assert (incident.status, incident.postmortem_body) == ("investigating", "")


def test_it_refuses_an_empty_postmortem() -> None:
    incident = make_incident(status="resolved")

    with pytest.raises(ValidationError) as error:
        services.incident_publish_postmortem(incident=incident, body="  \n ")

    assert messages(error) == ["The postmortem is empty."]
    incident.refresh_from_db()
    assert incident.status == "resolved"


def test_it_publishes_a_postmortem() -> None:
    incident = make_incident(status="resolved")
    before = timezone.now()

    published = services.incident_publish_postmortem(
        incident=incident, body="A bad deploy."
    )

    stored = Incident.objects.get(pk=incident.pk)
    assert (stored.status, stored.postmortem_body) == ("postmortem", "A bad deploy.")
    assert stored.postmortem_published_at is not None
    assert stored.postmortem_published_at >= before
    assert published.status == "postmortem"


def test_it_recomputes_the_impact_when_the_override_is_cleared() -> None:
    api = make_component(name="API")
    incident = make_incident(component_statuses={api: "partial_outage"})

    services.incident_edit(incident=incident, impact_override="critical")
    incident.refresh_from_db()
    assert (incident.impact, incident.impact_override) == ("critical", "critical")

    services.incident_edit(incident=incident, impact_override="")
    incident.refresh_from_db()
    assert (incident.impact, incident.impact_override) == ("major", "")


def test_it_keeps_the_override_across_updates() -> None:
    api = make_component(name="API")
    incident = make_incident(impact_override=Impact.MINOR)

    services.incident_post_update(
        incident=incident,
        status="identified",
        component_statuses={api: "major_outage"},
    )

    incident.refresh_from_db()
    assert incident.impact == "minor"


def test_it_renames_an_incident() -> None:
    incident = make_incident()

    services.incident_edit(incident=incident, name="  Login failures ")

    incident.refresh_from_db()
    assert incident.name == "Login failures"


# Page settings ------------------------------------------------------------------------


def test_it_updates_the_page_settings() -> None:
    make_page(name="Acme status", time_zone="Europe/Berlin")

    page = Page.get()
    assert (page.name, page.time_zone) == ("Acme status", "Europe/Berlin")


def test_it_refuses_an_invalid_time_zone() -> None:
    make_page(time_zone="UTC")

    with pytest.raises(ValidationError) as error:
        services.page_update(time_zone="Mars/Olympus")

    assert error.value.message_dict == {
        "time_zone": [
            "'Mars/Olympus' is not an IANA time zone name (for example Europe/Berlin)."
        ]
    }
    assert Page.get().time_zone == "UTC"


def test_it_refuses_unknown_page_settings() -> None:
    with pytest.raises(ValidationError) as error:
        services.page_update(colour="red")

    assert messages(error) == ["Unknown page settings: colour."]
