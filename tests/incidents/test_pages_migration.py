"""An install made when Heliograph had one page migrates to several pages without
losing anything: its page becomes the default one, and every component, incident,
subscriber and past event is on it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client

from incidents.models import Component, Incident, IncidentTemplate, Page
from notifications.models import Event, Subscriber
from notifications.services.delivery import subscribers_for

# One page: before the pages came.
BEFORE = [
    ("incidents", "0007_uptime_record_moves_out"),
    ("notifications", "0003_attempt_started_heartbeat"),
    ("access", "0003_admin_every_permission"),
]


def migrate(targets: list[tuple[str, str | None]]) -> Any:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state(list(executor.loader.applied_migrations)).apps


@pytest.fixture
def leaves() -> Iterator[list[tuple[str, str | None]]]:
    latest = list(MigrationExecutor(connection).loader.graph.leaf_nodes())
    yield latest
    migrate(latest)
    ContentType.objects.clear_cache()


def one_page_install(apps: Any) -> dict[str, Any]:
    page = apps.get_model("incidents", "Page").objects.create(
        pk=1, name="Acme", url="https://status.acme.test", time_zone="Europe/Berlin"
    )
    component = apps.get_model("incidents", "Component")
    group = component.objects.create(name="Product", is_group=True, public_id="grp0")
    login = component.objects.create(name="Login", group=group, public_id="log0")
    incident = apps.get_model("incidents", "Incident").objects.create(
        name="Sign-in failures", status="investigating", public_id="inc0"
    )
    incident.components.add(login)
    apps.get_model("incidents", "IncidentUpdate").objects.create(
        incident=incident, status="investigating", body="Looking.", public_id="upd0"
    )
    apps.get_model("incidents", "IncidentTemplate").objects.create(
        name="Login down", title="Sign-in failures"
    )
    subscriber = apps.get_model("notifications", "Subscriber").objects.create(
        channel="email", email="a@example.com", state="active", public_id="sub0"
    )
    apps.get_model("notifications", "Event").objects.create(
        kind="incident.created", incident=incident, payload={}, subject="Old"
    )
    # The roles as the access migrations left them (a flushed database lost them).
    apps.get_model("auth", "Group").objects.get_or_create(name="admin")
    return {"page": page.pk, "subscriber": subscriber.pk}


@pytest.mark.schema
@pytest.mark.django_db(transaction=True)
def test_a_one_page_install_becomes_the_default_page_with_everything_on_it(
    leaves: list[tuple[str, str | None]],
) -> None:
    made = one_page_install(migrate(BEFORE))

    migrate(leaves)
    ContentType.objects.clear_cache()

    page = Page.objects.get()
    assert page.pk == made["page"] and page == Page.get()
    assert (page.slug, page.is_default, page.name) == ("main", True, "Acme")
    assert page.time_zone == "Europe/Berlin" and not page.hosts.exists()
    assert {c.name for c in page.components.all()} == {"Product", "Login"}
    assert Component.objects.filter(pages=None).count() == 0
    assert list(page.incidents.values_list("name", flat=True)) == ["Sign-in failures"]
    assert Incident.objects.get().updates.get().shown_on.count() == 0  # on all pages
    assert IncidentTemplate.objects.get().page is None  # every page's
    subscriber = Subscriber.objects.get()
    assert subscriber.page == page
    # An event recorded before still reaches the page's subscribers.
    old = Event.objects.get()
    assert old.page is None and list(subscribers_for(old)) == [subscriber]
    # The admin role may manage the new host names.
    admin = Group.objects.get(name="admin")
    assert admin.permissions.filter(codename="add_pagehost").exists()
    # And the page still answers.
    body = Client().get("/api/v2/summary.json").json()
    assert body["page"]["id"] == page.public_id
    assert [c["name"] for c in body["components"]] == ["Product", "Login"]


@pytest.mark.schema
@pytest.mark.django_db(transaction=True)
def test_an_empty_install_migrates_to_no_page_and_makes_its_default_on_first_use(
    leaves: list[tuple[str, str | None]],
) -> None:
    migrate(BEFORE)
    migrate(leaves)

    assert not Page.objects.exists()
    page = Page.get()
    assert (page.slug, page.is_default) == ("main", True)
    assert Page.get() == page and Page.objects.count() == 1
