"""The public pages, read through Django's test client."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from incidents import services
from incidents.models import Component, Incident, StatusSource
from tests.conftest import (
    make_component,
    make_group,
    make_incident,
    make_maintenance,
    make_page,
)

pytestmark = pytest.mark.django_db

UTC = dt.UTC
NOW = dt.datetime(2025, 3, 20, 12, 0, tzinfo=UTC)
# Page, components, each of unresolved / upcoming / active with its two prefetches, and
# the 90 days of every showcased component, the incidents the page shows (its bars name
# no other page's), how fresh the monitoring's evidence is, the page's access rules
# (audience) and its brand.
INDEX_QUERIES = 16


@pytest.fixture
def frozen() -> Any:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def get(client: Client, name: str, *args: str, **query: Any) -> str:
    response = client.get(reverse(name, args=args), query)
    assert response.status_code == 200
    return response.content.decode()


def set_status(component: Component, status: str) -> None:
    services.component_set_status(
        component=component, status=status, source=StatusSource.STAFF
    )


def between(html: str, start: str, end: str) -> str:
    """The part of ``html`` after ``start`` and before the next ``end``."""
    after = html[html.index(start) + len(start) :]
    return after[: after.index(end)]


# Index --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "indicator", "description"),
    [
        ("operational", "none", "All Systems Operational"),
        ("degraded_performance", "minor", "Partially Degraded Service"),
        ("partial_outage", "major", "Partial System Outage"),
        ("major_outage", "critical", "Major Service Outage"),
        ("under_maintenance", "maintenance", "Service Under Maintenance"),
    ],
)
def test_it_shows_the_banner_for_each_indicator(
    client: Client, status: str, indicator: str, description: str
) -> None:
    make_page(name="Acme")
    set_status(make_component(name="API"), status)

    html = get(client, "public:index")

    banner = between(html, '<section class="banner', "</section>")
    assert f"banner--{indicator}" in banner
    assert description in banner


def test_it_names_the_page_and_declares_language_and_viewport(client: Client) -> None:
    make_page(name="Acme Cloud", description="Live status of Acme Cloud")

    html = get(client, "public:index")

    assert '<html lang="en">' in html
    assert 'name="viewport"' in html
    assert "<title>Acme Cloud status</title>" in html
    for landmark in ("<header", "<nav", "<main", "<footer"):
        assert landmark in html


def test_it_lists_groups_with_their_children_in_order(client: Client) -> None:
    make_page()
    make_component(name="Website")
    product = make_group(name="Acme product")
    make_component(name="Login and logout", group=product)
    make_component(name="Dashboard", group=product)
    set_status(make_component(name="Public API"), "partial_outage")

    html = get(client, "public:index")

    names = ["Website", "Acme product", "Login and logout", "Dashboard", "Public API"]
    positions = [html.index(f">{name}<") for name in names]
    assert positions == sorted(positions)
    children = between(html, 'aria-label="Acme product components"', "</ul>")
    assert "Login and logout" in children
    assert "Dashboard" in children
    assert "Public API" not in children
    assert "Partial outage" in html


def test_it_hides_only_show_if_degraded_components_while_operational(
    client: Client,
) -> None:
    make_page()
    make_component(name="Website")
    make_component(name="Legacy SOAP API", only_show_if_degraded=True)
    quiet_group = make_group(name="Batch jobs")
    make_component(name="Nightly export", group=quiet_group, only_show_if_degraded=True)

    html = get(client, "public:index")

    assert "Website" in html
    assert "Legacy SOAP API" not in html
    assert "Nightly export" not in html
    assert "Batch jobs" not in html  # a group with nothing to show is hidden too


def test_it_shows_only_show_if_degraded_components_when_degraded(
    client: Client,
) -> None:
    make_page()
    group = make_group(name="Batch jobs")
    export = make_component(
        name="Nightly export", group=group, only_show_if_degraded=True
    )
    set_status(export, "degraded_performance")

    html = get(client, "public:index")

    assert "Batch jobs" in html
    assert "Nightly export" in html
    assert "Degraded performance" in html


def test_it_leaves_out_deleted_components(client: Client) -> None:
    make_page()
    make_component(name="Website")
    services.component_delete(component=make_component(name="Old CDN"))

    html = get(client, "public:index")

    assert "Website" in html
    assert "Old CDN" not in html


def test_it_shows_an_unresolved_incident_with_its_updates(client: Client) -> None:
    make_page()
    api = make_component(name="Public API")
    incident = make_incident(
        name="Elevated API errors",
        body="We are *looking* into it.",
        component_statuses={api: "major_outage"},
    )
    services.incident_post_update(
        incident=incident, status="identified", body="A bad deploy; rolling back."
    )

    html = get(client, "public:index")

    card = between(html, '<article class="incident', "</article>")
    assert "Elevated API errors" in card
    assert reverse("public:incident", args=[incident.public_id]) in card
    assert "Impact: Critical" in card
    assert "Identified" in card
    assert "Investigating" in card
    assert "<em>looking</em>" in card
    assert card.index("A bad deploy") < card.index("looking")  # newest first
    assert "This incident affected:</span> Public API" in card
    assert reverse("public:history") in html


def test_it_escapes_script_in_an_update_body(client: Client) -> None:
    make_page()
    make_incident(name="Odd", body="<script>alert(1)</script><b onclick=x()>hi</b>")

    html = get(client, "public:index")

    assert "alert(1)" not in html
    assert "onclick" not in html


def test_it_keeps_resolved_incidents_off_the_index_and_in_history_by_month(
    client: Client, frozen: Any
) -> None:
    make_page(time_zone="America/New_York")
    # 04:30 UTC on Feb 1 is still Jan 31 in New York: the page's month is January.
    make_incident(
        name="January outage",
        status="resolved",
        body="All fixed.",
        display_at=dt.datetime(2025, 2, 1, 4, 30, tzinfo=UTC),
    )

    index = get(client, "public:index")
    history = get(client, "public:history")

    assert "January outage" not in index
    january = between(history, 'id="month-2025-01"', "</section>")
    assert "January 2025" in january
    assert "January outage" in january
    assert "All fixed." in january
    assert "No incidents reported." in between(
        history, 'id="month-2025-02"', "</section>"
    )


def test_it_shows_completed_maintenance_in_history_but_not_upcoming(
    client: Client, frozen: Any
) -> None:
    make_page()
    done = make_maintenance(
        name="Past database upgrade",
        scheduled_for=NOW - dt.timedelta(days=3),
        scheduled_until=NOW - dt.timedelta(days=3) + dt.timedelta(hours=1),
    )
    services.maintenance_advance()
    make_maintenance(name="Future network work")

    history = get(client, "public:history")

    done.refresh_from_db()
    assert done.status == "completed"
    march = between(history, 'id="month-2025-03"', "</section>")
    assert "Past database upgrade" in march
    assert "Future network work" not in history


def test_it_pages_history_a_few_months_at_a_time(client: Client, frozen: Any) -> None:
    make_page()
    make_incident(
        name="Autumn outage",
        status="resolved",
        display_at=dt.datetime(2024, 10, 5, 9, 0, tzinfo=UTC),
    )

    first = get(client, "public:history")
    second = get(client, "public:history", page="2")

    assert "March 2025" in first
    assert "January 2025" in first
    assert "December 2024" not in first
    assert "Autumn outage" not in first
    assert 'href="?page=2"' in first
    assert "December 2024" in second
    assert "Autumn outage" in second
    assert 'href="?page=1"' in second


@pytest.mark.parametrize("value", ["abc", "", "1.5"])
def test_it_shows_the_first_history_page_for_a_malformed_page(
    client: Client, value: str
) -> None:
    make_page()

    html = get(client, "public:history", page=value)

    assert "Page 1 of" in html


@pytest.mark.parametrize("value", ["0", "-1", "99"])
def test_it_answers_404_for_a_history_page_out_of_range(
    client: Client, value: str
) -> None:
    make_page()

    response = client.get(reverse("public:history"), {"page": value})

    assert response.status_code == 404


def test_it_shows_active_and_upcoming_maintenance_with_their_window(
    client: Client,
) -> None:
    make_page()
    database = make_component(name="Database")
    active = make_maintenance(name="Storage migration", components=[database])
    services.incident_post_update(
        incident=active, status="in_progress", body="Migration under way."
    )
    make_maintenance(name="Network upgrade")

    html = get(client, "public:index")

    in_progress = between(html, 'id="active-heading"', "</section>")
    upcoming = between(html, 'id="upcoming-heading"', "</section>")
    assert "Storage migration" in in_progress
    assert "Migration under way." in in_progress
    assert "Network upgrade" in upcoming
    assert "Scheduled for" in upcoming
    assert "Network upgrade" not in in_progress
    assert "Under maintenance" in html
    assert "Service Under Maintenance" in html


def test_it_shows_times_in_the_page_time_zone(client: Client, frozen: Any) -> None:
    make_page(time_zone="America/New_York")
    make_incident(display_at=dt.datetime(2025, 1, 15, 15, 0, tzinfo=UTC))
    start = dt.datetime(2025, 7, 1, 6, 0, tzinfo=UTC)
    make_maintenance(scheduled_for=start, scheduled_until=start + dt.timedelta(hours=2))

    html = get(client, "public:index")

    assert "Jan 15, 2025, 10:00 EST" in html
    assert 'datetime="2025-01-15T10:00:00-05:00"' in html
    assert "Jul 1, 2025, 02:00 EDT" in html
    assert "Jul 1, 2025, 04:00 EDT" in html
    assert "America/New_York" in html


@pytest.mark.parametrize("size", [3, 30])
def test_it_loads_the_index_in_a_constant_number_of_queries(
    client: Client, django_assert_max_num_queries: Any, size: int
) -> None:
    make_page()
    group = make_group(name="Product")
    components = [
        make_component(name=f"Part {n}", group=group if n % 2 else None)
        for n in range(size)
    ]
    for n, component in enumerate(components):
        make_incident(
            name=f"Incident {n}", component_statuses={component: "major_outage"}
        )
        make_maintenance(name=f"Maintenance {n}", components=[component])
    started = make_maintenance(name="Running now", components=components[:2])
    services.incident_post_update(incident=started, status="in_progress")

    with django_assert_max_num_queries(INDEX_QUERIES):
        html = get(client, "public:index")

    assert f"Incident {size - 1}" in html
    assert f"Product - Part {size - 1 if size % 2 == 0 else size - 2}" in html


# Incident detail ----------------------------------------------------------------------


def test_it_answers_404_for_an_unknown_incident(client: Client) -> None:
    make_page()

    response = client.get(reverse("public:incident", args=["nosuchid0000"]))

    assert response.status_code == 404


def test_it_shows_an_incident_with_its_full_timeline(client: Client) -> None:
    make_page()
    group = make_group(name="Acme product")
    login = make_component(name="Login", group=group)
    incident = make_incident(
        name="Login failures", component_statuses={login: "partial_outage"}
    )
    services.incident_post_update(
        incident=incident, status="monitoring", body="Fix out."
    )
    services.incident_post_update(
        incident=incident,
        status="resolved",
        body="Resolved.",
        component_statuses={login: "operational"},
    )

    html = get(client, "public:incident", incident.public_id)

    assert "<h1" in html
    assert "Login failures" in html
    assert "Major" in html  # impact of a partial outage
    assert "Acme product - Login" in html
    timeline = between(html, 'id="updates-heading"', "</section>")
    order = [timeline.index(s) for s in ("Resolved.", "Fix out.", "Looking into it.")]
    assert order == sorted(order)
    assert "Postmortem" not in html


def test_it_shows_the_postmortem_once_published(client: Client) -> None:
    make_page()
    incident = make_incident(name="Data loss scare", status="resolved")
    services.incident_publish_postmortem(
        incident=incident, body="# What happened\n\nA **disk** filled up."
    )

    html = get(client, "public:incident", incident.public_id)

    postmortem = between(html, 'id="postmortem-heading"', "</section>")
    assert "<h3>What happened</h3>" in postmortem
    assert "<strong>disk</strong>" in postmortem
    assert "Published" in postmortem


def test_it_shows_a_maintenance_window_on_its_detail_page(
    client: Client, frozen: Any
) -> None:
    make_page(time_zone="Europe/Berlin")
    start = dt.datetime(2025, 4, 2, 22, 0, tzinfo=UTC)
    maintenance = make_maintenance(
        name="Kernel patching",
        scheduled_for=start,
        scheduled_until=start + dt.timedelta(hours=3),
    )

    html = get(client, "public:incident", maintenance.public_id)

    assert "Kernel patching" in html
    assert "Scheduled for" in html
    assert "Apr 3, 2025, 00:00 CEST" in html
    assert "Apr 3, 2025, 03:00 CEST" in html
    assert "Postmortem" not in html
    assert Incident.objects.get(pk=maintenance.pk).is_maintenance


# Small addresses ----------------------------------------------------------------------


def test_it_sends_an_incident_address_with_a_slash_to_the_incident(
    client: Client,
) -> None:
    make_page()
    incident = make_incident(name="Slow logins")

    response = client.get(f"/incidents/{incident.public_id}/")

    assert response.status_code == 301
    assert response["Location"] == reverse("public:incident", args=[incident.public_id])
    assert client.get(response["Location"]).status_code == 200


def test_it_answers_the_favicon_with_the_page_icon(client: Client) -> None:
    make_page()

    response = client.get("/favicon.ico")

    assert response.status_code == 302
    assert response["Location"].endswith(".svg")
    assert "heliograph/favicon" in response["Location"]
    assert "max-age=86400" in response["Cache-Control"]
    assert f'<link rel="icon" href="{response["Location"]}"' in get(
        client, "public:index"
    )


def test_it_shows_upcoming_maintenance_before_the_components(
    client: Client, frozen: Any
) -> None:
    make_page()
    make_component(name="API")
    make_maintenance(
        name="Database upgrade",
        scheduled_for=NOW + dt.timedelta(days=2),
        scheduled_until=NOW + dt.timedelta(days=2, hours=1),
    )

    html = get(client, "public:index")

    assert "Database upgrade" in html
    assert html.index("Scheduled maintenance") < html.index("components-heading")
