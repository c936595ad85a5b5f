"""The Atom and RSS history feeds, read back with feedparser as feed readers do."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import feedparser
import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from incidents import services
from incidents.models import IncidentStatus
from tests.conftest import make_component, make_incident, make_maintenance, make_page

pytestmark = pytest.mark.django_db

UTC = dt.UTC
START = dt.datetime(2025, 3, 20, 12, 0, tzinfo=UTC)
FEEDS = ["public:feed-atom", "public:feed-rss"]
# Page, incidents, their updates, their components.
FEED_QUERIES = 4


def fetch(client: Client, name: str, raw: bool = False) -> Any:
    response = client.get(reverse(name))
    assert response.status_code == 200
    if raw:
        return response
    # Unsanitised, so the tests see the HTML exactly as Heliograph wrote it.
    parsed = feedparser.parse(response.content, sanitize_html=False)
    assert not parsed.bozo, parsed.get("bozo_exception")
    return parsed


def at(minutes: int) -> dt.datetime:
    return START + dt.timedelta(minutes=minutes)


def utc(parsed_time: time.struct_time) -> dt.datetime:
    return dt.datetime(*parsed_time[:6], tzinfo=UTC)


@pytest.fixture
def history() -> dict[str, Any]:
    """An incident with two updates, then a maintenance scheduled after it."""
    make_page(name="Acme", url="https://status.acme.test", time_zone="Europe/Berlin")
    api = make_component(name="API")
    with time_machine.travel(at(0), tick=False):
        outage = make_incident(
            name="Slow & failing <API>",
            body="We are **looking** into it.",
            component_statuses={api: "major_outage"},
        )
    with time_machine.travel(at(30), tick=False):
        services.incident_post_update(
            incident=outage,
            status=IncidentStatus.RESOLVED,
            body="Fixed by a rollback.",
        )
    with time_machine.travel(at(60), tick=False):
        upgrade = make_maintenance(name="Database upgrade")
    return {"outage": outage, "upgrade": upgrade}


@pytest.mark.parametrize("name", FEEDS)
def test_it_names_the_feed_after_the_page_and_links_to_it(
    client: Client, history: dict[str, Any], name: str
) -> None:
    feed = fetch(client, name).feed

    assert feed.title == "Acme status"
    assert feed.link == "https://status.acme.test/"
    if name == "public:feed-atom":
        assert feed.author == "Acme"


@pytest.mark.parametrize("name", FEEDS)
def test_it_lists_incidents_and_maintenance_newest_first(
    client: Client, history: dict[str, Any], name: str
) -> None:
    entries = fetch(client, name).entries

    assert [entry.title for entry in entries] == [
        "Database upgrade",
        "Slow & failing <API>",
    ]
    outage = history["outage"]
    assert entries[1].link == f"https://status.acme.test/incidents/{outage.public_id}"
    assert entries[1].id.endswith(f":incident/{outage.public_id}")
    assert entries[0].id != entries[1].id


def test_it_dates_each_entry_by_publication_and_latest_change(
    client: Client, history: dict[str, Any]
) -> None:
    outage = fetch(client, "public:feed-atom").entries[1]
    rss_outage = fetch(client, "public:feed-rss").entries[1]

    assert utc(outage.published_parsed) == at(0)
    assert utc(outage.updated_parsed) == at(30)
    assert utc(rss_outage.published_parsed) == at(0)


@pytest.mark.parametrize("name", FEEDS)
def test_it_shows_every_update_with_its_status_and_time_in_the_page_zone(
    client: Client, history: dict[str, Any], name: str
) -> None:
    outage = fetch(client, name).entries[1]

    text = outage.summary
    assert "<strong>Resolved</strong>" in text
    assert "<strong>Investigating</strong>" in text
    # 12:30 UTC is 13:30 in Berlin in March (CET).
    assert "Mar 20, 2025, 13:30 CET" in text
    assert "<p>We are <strong>looking</strong> into it.</p>" in text
    assert text.index("Fixed by a rollback.") < text.index("looking")
    assert "Affected: API" in text


def test_it_shows_a_maintenance_window(client: Client, history: dict[str, Any]) -> None:
    upgrade = fetch(client, "public:feed-atom").entries[0]

    assert "Scheduled: Mar 20, 2025, 15:00 CET to Mar 20, 2025, 17:00 CET" in (
        upgrade.summary
    )
    assert "We will upgrade the database." in upgrade.summary


@pytest.mark.parametrize("name", FEEDS)
def test_it_leaves_no_script_from_an_update_in_the_feed(
    client: Client, name: str
) -> None:
    make_page(name="Acme")
    make_incident(
        name="Outage",
        body='Hello <script>alert("feed")</script><a href="javascript:x()">y</a>',
    )

    response = fetch(client, name, raw=True)
    [entry] = feedparser.parse(response.content, sanitize_html=False).entries

    assert "Hello" in entry.summary
    assert "<script" not in entry.summary.lower()
    assert "alert" not in entry.summary
    assert "javascript:" not in entry.summary
    # The HTML is escaped text inside the XML, never markup of the feed itself.
    assert b"<script" not in response.content.lower()


@pytest.mark.parametrize("name", FEEDS)
def test_it_builds_links_on_the_request_when_the_page_has_no_address(
    client: Client, name: str
) -> None:
    make_page(name="Acme", url="")
    incident = make_incident()

    parsed = fetch(client, name)

    assert parsed.feed.link == "http://testserver/"
    assert parsed.entries[0].link == (
        f"http://testserver/incidents/{incident.public_id}"
    )


@pytest.mark.parametrize("name", FEEDS)
def test_it_reads_a_constant_number_of_queries(
    client: Client, django_assert_max_num_queries: Any, name: str
) -> None:
    make_page()
    api = make_component(name="API")
    for number in range(3):
        make_incident(
            name=f"Few {number}", component_statuses={api: "degraded_performance"}
        )
    with django_assert_max_num_queries(FEED_QUERIES):
        assert len(fetch(client, name).entries) == 3

    for number in range(17):
        incident = make_incident(name=f"Many {number}")
        services.incident_post_update(incident=incident, status="resolved", body="ok")
    with django_assert_max_num_queries(FEED_QUERIES):
        assert len(fetch(client, name).entries) == 20


def test_it_is_discoverable_from_the_public_page(client: Client) -> None:
    make_page(name="Acme")

    html = client.get(reverse("public:index")).content.decode()

    assert (
        '<link rel="alternate" type="application/atom+xml" '
        'title="Acme status history (Atom)" href="/feed.atom">'
    ) in html
    assert 'type="application/rss+xml"' in html
    assert 'href="/feed.rss"' in html


def test_it_serves_each_format_with_its_content_type(client: Client) -> None:
    make_page()

    atom = fetch(client, "public:feed-atom", raw=True)
    rss = fetch(client, "public:feed-rss", raw=True)

    assert atom["Content-Type"].startswith("application/atom+xml")
    assert rss["Content-Type"].startswith("application/rss+xml")
    assert feedparser.parse(atom.content).version == "atom10"
    assert feedparser.parse(rss.content).version == "rss20"
