"""The record on the public pages: the 90-day bars, the component page and its
response-time charts, and both in the published snapshot."""

from __future__ import annotations

import datetime as dt
import html
import re
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from incidents import services
from incidents.models import Component
from tests.conftest import make_component, make_group, make_incident, make_page
from uptime.models import ComponentDay, ComponentLatencyHour
from visitor.snapshot import publish

pytestmark = pytest.mark.django_db

UTC = dt.UTC
NOW = dt.datetime(2025, 3, 20, 12, 0, tzinfo=UTC)
TODAY = NOW.date()
DAY = 86_400


@pytest.fixture(autouse=True)
def frozen() -> Any:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def store_days(component: Component, days: int, **fields: Any) -> None:
    """``days`` whole operational days ending today, with ``fields`` on some."""
    ComponentDay.objects.bulk_create(
        ComponentDay(
            component=component,
            day=TODAY - dt.timedelta(days=back),
            operational_seconds=DAY,
            **fields,
        )
        for back in range(days)
    )


def store_day(component: Component, date: dt.date, **fields: Any) -> None:
    ComponentDay.objects.update_or_create(
        component=component, day=date, defaults=fields
    )


@pytest.fixture
def record() -> dict[str, Any]:
    """API with 60 days of record (a partial outage with an incident, a maintenance,
    30 older days without data), Login in a group, and Website not showcased."""
    make_page(name="Acme")
    api = make_component(name="API")
    product = make_group(name="Product")
    login = make_component(name="Login", group=product)
    website = make_component(name="Website", showcase=False)
    incident = make_incident(
        name="Login failures", component_statuses={login: "major_outage"}
    )
    store_days(api, 60)
    store_day(
        api,
        dt.date(2025, 3, 19),
        operational_seconds=DAY - 7_200,
        partial_seconds=7_200,
        incidents=[
            {"id": incident.public_id, "name": "Login failures", "impact": "major"}
        ],
    )
    store_day(
        api,
        dt.date(2025, 3, 10),
        operational_seconds=DAY - 7_200,
        maintenance_seconds=7_200,
    )
    store_days(website, 90)
    return {"api": api, "login": login, "website": website, "incident": incident}


def get(client: Client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return response.content.decode()


def history_of(page: str, name: str) -> str:
    """The uptime block whose bars are labelled with ``name``."""
    start = page.index(f'aria-label="{name}:')
    start = page.rindex('<div class="uptime">', 0, start)
    return page[start : page.index("</div>", start)]


def titles(block: str) -> list[str]:
    return [html.unescape(t) for t in re.findall(r"<title>(.*?)</title>", block)]


def day_names(block: str) -> list[str]:
    """The accessible names of the days, oldest first."""
    found = re.findall(r'<li class="[^"]*" tabindex="0" aria-label="([^"]*)"', block)
    return [html.unescape(name) for name in found]


def day_states(block: str) -> list[str]:
    return re.findall(r'<li class="(\w+)', block)


# The bars on the index ----------------------------------------------------------------


def test_it_draws_ninety_bars_for_each_showcased_component(
    client: Client, record: dict[str, Any]
) -> None:
    page = get(client, reverse("public:index"))

    api = history_of(page, "API")
    assert api.count('tabindex="0"') == 90
    assert '<ol class="uptime__days" aria-label="API: uptime by day">' in api
    assert "90 days ago" in api and "30 days ago" in api and "Today" in api
    login = history_of(page, "Product - Login")
    assert login.count('tabindex="0"') == 90
    assert 'aria-label="Website:' not in page
    assert page.count('<div class="uptime">') == 2


def test_it_titles_each_bar_with_its_date_availability_and_incidents(
    client: Client, record: dict[str, Any]
) -> None:
    bars = day_names(history_of(get(client, reverse("public:index")), "API"))

    assert len(bars) == 90
    assert bars[0] == "Dec 21, 2024: no data. No incidents."
    assert bars[-1] == "Mar 20, 2025: 100 % uptime. No incidents."
    assert bars[-2] == (
        "Mar 19, 2025: 97.50 % uptime; partial outage 2 h. Incidents: Login failures."
    )
    assert "Mar 10, 2025: 100 % uptime; maintenance 2 h. No incidents." in bars
    assert sum(t.endswith(": no data. No incidents.") for t in bars) == 30


def figures(block: str) -> dict[str, str]:
    """The uptime figure of each scale, by the screens it is for."""
    found = re.findall(
        r'<p class="uptime__scale (\w+)">.*?<span class="uptime__figure">(.*?)</span>'
        r"</span>",
        block,
    )
    return {shown: re.sub("<[^>]+>", "", text) for shown, text in found}


def test_it_gives_the_uptime_over_the_window(
    client: Client, record: dict[str, Any]
) -> None:
    page = get(client, reverse("public:index"))

    # 60 days counted less 2 h of maintenance; 2 h of partial outage weigh 0.3.
    api = history_of(page, "API")
    assert figures(api) == {
        "uptime__wide": "99.95 % uptime over the last 90 days",
        # The last 30 days, which narrow screens show: 30 days less 2 h.
        "uptime__narrow": "99.91 % uptime over the last 30 days",
    }
    login = history_of(page, "Product - Login")
    assert figures(login) == {
        "uptime__wide": "No data over the last 90 days",
        "uptime__narrow": "No data over the last 30 days",
    }


def test_it_draws_days_without_data_in_grey_never_as_uptime(
    client: Client, record: dict[str, Any]
) -> None:
    login = history_of(get(client, reverse("public:index")), "Product - Login")

    assert day_states(login) == ["no_data"] * 90
    assert "uptime." not in " ".join(day_names(login))


def test_it_colours_each_bar_by_the_worst_state_of_its_day(
    client: Client, record: dict[str, Any]
) -> None:
    store_day(
        record["api"],
        dt.date(2025, 3, 18),
        operational_seconds=DAY - 70,
        degraded_seconds=60,
        major_seconds=10,
    )

    api = history_of(get(client, reverse("public:index")), "API")

    states = day_states(api)
    assert states[-1] == "operational"
    assert states[-2] == "partial_outage"
    assert states[-3] == "major_outage"  # a major outage of 10 s outweighs the rest
    assert states[-11] == "under_maintenance"
    assert states[0] == "no_data"


def test_it_links_a_day_with_incidents_to_the_incident(
    client: Client, record: dict[str, Any]
) -> None:
    api = history_of(get(client, reverse("public:index")), "API")

    url = reverse("public:incident", args=[record["incident"].public_id])
    assert api.count("<a href=") == 1
    # The day's figures show with the link, in markup, for the link to be followed.
    tip = re.search(r'<span class="uptime__tip">(.*?)</span>', api)
    assert tip is not None
    assert tip.group(1) == (
        "Mar 19, 2025: 97.50 % uptime; partial outage 2 h. "
        f'Incidents: <a href="{url}">Login failures</a>.'
    )
    assert "Login failures" in get(client, url)


def test_it_names_the_incidents_of_a_day_without_data(
    client: Client, record: dict[str, Any]
) -> None:
    store_day(
        record["api"],
        dt.date(2024, 12, 21),
        no_data_seconds=DAY,
        incidents=[{"id": "blind0000000", "name": "Probes down", "impact": "minor"}],
    )

    api = history_of(get(client, reverse("public:index")), "API")

    assert day_names(api)[0] == "Dec 21, 2024: no data. Incidents: Probes down."
    assert '<a href="/incidents/blind0000000">' in api


def test_it_links_each_of_several_incidents(
    client: Client, record: dict[str, Any]
) -> None:
    store_day(
        record["api"],
        TODAY,
        operational_seconds=DAY,
        incidents=[
            {"id": "minor0000000", "name": "Slow search", "impact": "minor"},
            {"id": "critical0000", "name": "API down", "impact": "critical"},
        ],
    )

    api = history_of(get(client, reverse("public:index")), "API")

    assert (
        'Incidents: <a href="/incidents/minor0000000">Slow search</a>, '
        '<a href="/incidents/critical0000">API down</a>.</span>'
    ) in api
    assert day_names(api)[-1].endswith("Incidents: Slow search, API down.")


def test_it_escapes_an_incident_name_in_a_bar(
    client: Client, record: dict[str, Any]
) -> None:
    store_day(
        record["api"],
        TODAY,
        operational_seconds=DAY,
        incidents=[
            {
                "id": 'x"><script>alert(1)</script>',
                "name": '<script>alert("pwned")</script> & more',
                "impact": "major",
            }
        ],
    )
    make_component(name='<img src=x onerror="alert(2)">')

    page = get(client, reverse("public:index"))

    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt; &amp; more" in page
    api = history_of(page, "API")
    assert day_names(api)[-1].endswith(
        'Incidents: <script>alert("pwned")</script> & more.'
    )
    # An id that is no public id is not linked (the day keeps its name): the one
    # link is Mar 19's.
    assert api.count("<a href=") == 1
    assert 'aria-label="&lt;img src=x onerror=&quot;alert(2)&quot;&gt;: uptime' in page


def test_it_ends_the_window_on_today_in_the_pages_time_zone(
    client: Client, record: dict[str, Any]
) -> None:
    services.page_update(time_zone="Pacific/Auckland")  # already Mar 21 there

    bars = day_names(history_of(get(client, reverse("public:index")), "API"))

    assert bars[-1] == "Mar 21, 2025: no data. No incidents."
    assert bars[-2] == "Mar 20, 2025: 100 % uptime. No incidents."


def test_it_links_showcased_components_to_their_page(
    client: Client, record: dict[str, Any]
) -> None:
    page = get(client, reverse("public:index"))

    api = reverse("public:component", args=[record["api"].public_id])
    assert f'<a href="{api}">API</a>' in page
    website = reverse("public:component", args=[record["website"].public_id])
    assert website not in page
    assert "Bars show the last <span" in page and "No data</li>" in page


def test_it_reads_the_bars_of_any_number_of_components_in_one_query(
    client: Client,
) -> None:
    make_page()
    product = make_group(name="Product")

    def add(count: int) -> None:
        for n in range(count):
            parent = product if n % 2 else None
            store_days(make_component(name=f"Part {n}", group=parent), 90)

    def queries() -> int:
        with CaptureQueriesContext(connection) as done:
            get(client, reverse("public:index"))
        return len(done)

    add(2)
    Component.objects.update(showcase=False)
    none_showcased = queries()
    Component.objects.update(showcase=True)
    few = queries()
    add(30)
    many = queries()

    # One query more than with nothing showcased, whatever the number of components.
    assert few == many == none_showcased + 1
    page = get(client, reverse("public:index"))
    assert page.count('<div class="uptime">') == 32


# The component page -------------------------------------------------------------------


def store_hours(component: Component, hours: int, **fields: Any) -> None:
    top = NOW.replace(minute=0)
    ComponentLatencyHour.objects.bulk_create(
        ComponentLatencyHour(
            component=component,
            hour=top - dt.timedelta(hours=n),
            checks=60,
            p50_ms=40 + n % 5,
            p95_ms=90 + n % 7,
            p99_ms=300,
        )
        for n in range(hours)
        if n not in fields.get("skip", ())
    )


def charts(page: str) -> list[str]:
    return re.findall(r'<figure class="chart".*?</figure>', page, re.S)


def test_it_shows_response_time_charts_with_axes_and_units(
    client: Client, record: dict[str, Any], django_assert_num_queries: Any
) -> None:
    store_hours(record["api"], 720, skip={3})
    url = reverse("public:component", args=[record["api"].public_id])

    # Page, component, its evidence, the incidents only other pages show (its bars
    # name none of them), its 90 days, its response times, the page's brand.
    with django_assert_num_queries(7):
        page = get(client, url)

    assert '<h1 id="component-title">API</h1>' in page
    assert figures(page)["uptime__wide"] == "99.95 % uptime over the last 90 days"
    day_, week, month = charts(page)
    for chart, label in [(day_, "24 hours"), (week, "7 days"), (month, "30 days")]:
        assert f"Last {label}</figcaption>" in chart
        assert '<title id="latency-' in chart
        assert 'role="img"' in chart
        # Both lines, and y ticks with their unit.
        assert 'stroke="#0b5cad"' in chart and 'stroke-dasharray="5 3"/>' in chart
        assert re.search(r'text-anchor="end">\d+ ms</text>', chart)
        assert "p50 (median)" in chart and ">p95<" in chart
    # Hours in the page's time zone on a day, dates over a week and a month.
    assert ">18:00</text>" in day_ and ">06:00</text>" in day_
    assert ">Mar 19</text>" in week and ">Mar 14</text>" in week
    assert ">Mar 13</text>" in month and ">Feb 27</text>" in month
    hits = titles(day_)
    assert "Mar 20, 12:00: p50 40 ms, p95 90 ms (60 checks)" in hits
    assert "Mar 20, 09:00: no data" in hits
    # The gap breaks the line: two runs over the day.
    p50 = re.search(r'<path d="([^"]+)" fill="none" stroke="#0b5cad"', day_)
    assert p50 is not None and p50.group(1).count("M") == 2
    assert "Mar 20, 06:00–12:00: p50" in " ".join(titles(month))
    assert "<summary>Figures</summary>" in day_


def test_it_labels_the_charts_in_the_pages_time_zone(
    client: Client, record: dict[str, Any]
) -> None:
    services.page_update(time_zone="Pacific/Auckland")  # UTC+13 in March
    store_hours(record["api"], 720)

    page = get(client, reverse("public:component", args=[record["api"].public_id]))

    day_, week, month = charts(page)
    assert "Mar 21, 01:00: p50 40 ms, p95 90 ms (60 checks)" in titles(day_)
    assert ">Mar 21</text>" in week
    assert "Mar 21, 01:00–07:00: p50" in " ".join(titles(month))


def test_it_says_no_data_on_charts_without_response_times(
    client: Client, record: dict[str, Any]
) -> None:
    page = get(client, reverse("public:component", args=[record["login"].public_id]))

    assert "Product" in page and '<h1 id="component-title">Login</h1>' in page
    assert len(charts(page)) == 3
    for chart in charts(page):
        assert 'font-size="14">No data</text>' in chart
        assert "<path" not in chart
        assert "No data: no response time was measured in this period." in chart
    assert figures(page)["uptime__wide"] == "No data over the last 90 days"


def test_it_publishes_no_record_for_a_component_not_showcased(
    client: Client, record: dict[str, Any]
) -> None:
    store_hours(record["website"], 24)

    page = get(client, reverse("public:component", args=[record["website"].public_id]))

    assert "Website" in page and "Operational" in page
    assert "are not published" in page
    assert "<svg" not in page and "uptime__figure" not in page


def test_it_keeps_the_page_of_a_component_hidden_while_operational(
    client: Client, record: dict[str, Any]
) -> None:
    hidden = make_component(name="Batch jobs", only_show_if_degraded=True)

    index = get(client, reverse("public:index"))
    page = get(client, reverse("public:component", args=[hidden.public_id]))

    assert "Batch jobs" not in index
    assert "Batch jobs" in page and len(charts(page)) == 3


def test_it_answers_404_for_groups_deleted_and_unknown_components(
    client: Client, record: dict[str, Any]
) -> None:
    group = Component.objects.get(name="Product")
    services.component_delete(component=record["website"])

    for public_id in (group.public_id, record["website"].public_id, "nosuchid0000"):
        response = client.get(reverse("public:component", args=[public_id]))
        assert response.status_code == 404


# The snapshot -------------------------------------------------------------------------


def test_it_publishes_the_component_pages_and_serves_them_without_a_query(
    client: Client, record: dict[str, Any], django_assert_num_queries: Any
) -> None:
    store_hours(record["api"], 48)
    paths = {
        name: reverse("public:component", args=[record[name].public_id])
        for name in ("api", "login", "website")
    }
    rendered = {name: get(client, path) for name, path in paths.items()}

    manifest = publish.snapshot_publish()

    assert manifest is not None
    assert set(paths.values()) <= set(manifest.artifacts)
    group = Component.objects.get(name="Product")
    assert not any(
        group.public_id in key and "badge" not in key for key in manifest.artifacts
    )
    for path in paths.values():
        client.get(path)  # warm
    with django_assert_num_queries(0):
        served = {name: client.get(path) for name, path in paths.items()}
        index = client.get("/")
    for name, response in served.items():
        assert response.content.decode() == rendered[name]
        assert response["ETag"]
    assert history_of(index.content.decode(), "API").count('tabindex="0"') == 90


def test_it_exports_the_component_pages_and_their_bars(
    record: dict[str, Any], tmp_path: Path
) -> None:
    store_hours(record["api"], 48)
    folder = tmp_path / "site"

    call_command("publish", "--to", str(folder), stdout=open("/dev/null", "w"))

    page = folder / f"components/{record['api'].public_id}/index.html"
    assert page.is_file()
    body = page.read_text()
    assert len(charts(body)) == 3 and "Last 30 days" in body
    index = (folder / "index.html").read_text()
    assert f'href="/components/{record["api"].public_id}/"' in index
    assert f'href="/incidents/{record["incident"].public_id}"' in history_of(
        index, "API"
    )
    assert (folder / f"incidents/{record['incident'].public_id}/index.html").is_file()


def test_it_shows_new_rollups_once_published(
    client: Client, record: dict[str, Any]
) -> None:
    publish.snapshot_publish()
    store_day(record["login"], TODAY, operational_seconds=DAY - 600, major_seconds=600)

    before = history_of(get(client, "/"), "Product - Login")
    publish.snapshot_publish()
    after = history_of(get(client, "/"), "Product - Login")

    assert "No data" in before
    assert "99.30 % uptime" in after
