"""The public page as a Statuspage visitor expects it: 30 days of bars on a phone and
90 on a desktop, each with the uptime over the days it shows; a day's figures for the
keyboard, a tap and a screen reader, not only a mouse; and a 404 page in the status
page's own dress. In a real headless Chromium without JavaScript, where it shows."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.http import Http404
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from incidents.models import Incident, Page
from kit import errors
from tests.conftest import make_component, make_incident, make_page
from uptime import selectors as uptime
from uptime.models import ComponentDay
from visitor.charts import DAY_COLOURS, NARROW_DAYS

DAY = 86_400
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
DAYS = "ol.uptime__days"
STATIC = Path(__file__).resolve().parents[2] / "visitor/static/heliograph"
PHONE_SCREENSHOT = "/tmp/heliograph-polish-phone.png"
FOCUS_SCREENSHOT = "/tmp/heliograph-polish-focus.png"
TAP_SCREENSHOT = "/tmp/heliograph-polish-tap.png"


@pytest.fixture
def record() -> dict[str, Any]:
    """Public API with 60 days of record and a partial outage of 1 h yesterday, under
    an incident: 99.97 % over 90 days (60 counted), 99.95 % over the last 30."""
    make_page(name="Acme")
    api = make_component(name="Public API")
    incident = make_incident(name="API errors", component_statuses={api: "operational"})
    today = timezone.localdate()
    ComponentDay.objects.bulk_create(
        ComponentDay(
            component=api, day=today - dt.timedelta(days=n), operational_seconds=DAY
        )
        for n in range(60)
        if n != 1
    )
    ComponentDay.objects.create(
        component=api,
        day=today - dt.timedelta(days=1),
        operational_seconds=DAY - 3_600,
        partial_seconds=3_600,
        incidents=[{"id": incident.public_id, "name": "API errors", "impact": "major"}],
    )
    return {"api": api, "incident": incident, "today": today}


def uptime_since(first: dt.date) -> str:
    """The uptime of the stored days from ``first`` on, as the page words it."""
    days = ComponentDay.objects.filter(day__gte=first)
    return f"{uptime.percent(uptime.availability(days))} uptime"


def label(date: dt.date) -> str:
    return f"{date:%b} {date.day}, {date.year}: "


def tooltip(day: Any) -> dict[str, str]:
    """What the stylesheet shows of a plain day: its ``::after``, the copy of its
    accessible name."""
    return day.evaluate(
        "e => { const s = getComputedStyle(e, '::after');"
        " return {display: s.display, content: s.content}; }"
    )


def words(text: str) -> str:
    """The text as read: the span for screen readers alone is laid out apart."""
    return " ".join(text.split())


def scroll_width(tab: Any) -> int:
    return tab.evaluate("document.documentElement.scrollWidth")


@pytest.fixture
def context(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A browser context without JavaScript; ``@pytest.mark.parametrize`` may pass
    Playwright's options for it indirectly."""
    options = getattr(request, "param", {})
    context = browser.new_context(java_script_enabled=False, **options)
    context.set_default_timeout(10_000)
    yield context
    context.close()


# How many days the bars show -----------------------------------------------------


@pytest.mark.parametrize("context", [{"viewport": PHONE}], indirect=True)
@pytest.mark.usefixtures("transactional_db")
@pytest.mark.browser
def test_it_shows_the_last_30_days_and_their_uptime_on_a_phone(
    context: Any, live_server: Any, record: dict[str, Any]
) -> None:
    tab = context.new_page()
    tab.goto(live_server.url + reverse("public:index"))

    days = tab.locator(DAYS).first.locator("li")
    shown = days.filter(visible=True)
    assert days.count() == 90 and shown.count() == NARROW_DAYS == 30
    first = record["today"] - dt.timedelta(days=29)
    assert (shown.first.get_attribute("aria-label") or "").startswith(label(first))
    assert shown.first.bounding_box()["width"] >= 6  # no hairlines
    scale = tab.locator(".uptime__scale").filter(visible=True)
    assert scale.count() == 1
    assert scale.inner_text().split("\n")[0] == "30 days ago"
    # The figure is that of the 30 days shown, not of the 90.
    figure = words(scale.locator(".uptime__figure").inner_text())
    assert figure == f"{uptime_since(first)} over the last 30 days"
    assert figure == "99.95 % uptime over the last 30 days"
    key = tab.locator(".uptime-key .meta").inner_text()
    assert key.startswith("Bars show the last 30 days")
    assert scroll_width(tab) <= PHONE["width"]
    tab.screenshot(path=PHONE_SCREENSHOT, full_page=True)


@pytest.mark.parametrize("context", [{"viewport": DESKTOP}], indirect=True)
@pytest.mark.usefixtures("transactional_db")
@pytest.mark.browser
def test_it_shows_90_days_and_their_uptime_on_a_desktop(
    context: Any, live_server: Any, record: dict[str, Any]
) -> None:
    tab = context.new_page()
    tab.goto(live_server.url + reverse("public:index"))

    shown = tab.locator(DAYS).first.locator("li").filter(visible=True)
    assert shown.count() == 90
    first = record["today"] - dt.timedelta(days=89)
    assert (shown.first.get_attribute("aria-label") or "").startswith(label(first))
    scale = tab.locator(".uptime__scale").filter(visible=True)
    assert scale.inner_text().split("\n")[0] == "90 days ago"
    figure = words(scale.locator(".uptime__figure").inner_text())
    assert figure == f"{uptime_since(first)} over the last 90 days"
    assert figure == "99.97 % uptime over the last 90 days"
    key = tab.locator(".uptime-key .meta").inner_text()
    assert key.startswith("Bars show the last 90 days")


# A day's figures, for every kind of visitor --------------------------------------


@pytest.mark.parametrize("context", [{"viewport": DESKTOP}], indirect=True)
@pytest.mark.usefixtures("transactional_db")
@pytest.mark.browser
def test_it_shows_a_days_figures_to_the_keyboard(
    context: Any, live_server: Any, record: dict[str, Any]
) -> None:
    tab = context.new_page()
    tab.goto(live_server.url + reverse("public:index"))

    for _ in range(20):
        tab.keyboard.press("Tab")
        if tab.evaluate("document.activeElement.matches('ol.uptime__days > li')"):
            break
    day = tab.locator(f"{DAYS} > li:focus")
    assert day.count() == 1, "Tab never reached a day"
    oldest = record["today"] - dt.timedelta(days=89)
    expect(day).to_have_accessible_name(f"{label(oldest)}no data. No incidents.")
    assert tooltip(day) == {
        "display": "block",
        "content": f'"{label(oldest)}no data. No incidents."',
    }
    assert day.evaluate("e => getComputedStyle(e).outlineStyle") == "solid"
    # On to yesterday's: its figures and the link to its incident, then the link.
    for _ in range(88):
        tab.keyboard.press("Tab")
    day = tab.locator(DAYS).first.locator("li").nth(88)
    expect(day).to_be_focused()
    yesterday = record["today"] - dt.timedelta(days=1)
    figures = f"{label(yesterday)}98.75 % uptime; partial outage 1 h."
    expect(day).to_have_accessible_name(f"{figures} Incidents: API errors.")
    tip = day.locator(".uptime__tip")
    expect(tip).to_be_visible()
    assert tip.inner_text() == f"{figures} Incidents: API errors."
    tab.screenshot(path=FOCUS_SCREENSHOT)
    tab.keyboard.press("Tab")
    expect(tip.get_by_role("link", name="API errors")).to_be_focused()
    expect(tip).to_be_visible()
    tab.keyboard.press("Enter")
    incident: Incident = record["incident"]
    tab.wait_for_url(f"**{reverse('public:incident', args=[incident.public_id])}")


@pytest.mark.parametrize(
    "context",
    [{"viewport": PHONE, "has_touch": True, "is_mobile": True}],
    indirect=True,
)
@pytest.mark.usefixtures("transactional_db")
@pytest.mark.browser
def test_it_shows_a_days_figures_on_a_tap(
    context: Any, live_server: Any, record: dict[str, Any]
) -> None:
    tab = context.new_page()
    tab.goto(live_server.url + reverse("public:index"))
    days = tab.locator(DAYS).first.locator("li")

    today = days.nth(89)
    assert tooltip(today)["display"] == "none"
    today.tap()
    assert tooltip(today) == {
        "display": "block",
        "content": f'"{label(record["today"])}100 % uptime. No incidents."',
    }
    assert scroll_width(tab) <= PHONE["width"]
    tab.screenshot(path=TAP_SCREENSHOT)

    days.nth(88).tap()
    assert tooltip(today)["display"] == "none"
    tip = days.nth(88).locator(".uptime__tip")
    expect(tip).to_be_visible()
    assert "98.75 % uptime; partial outage 1 h. Incidents: API errors." in (
        tip.inner_text()
    )
    box = tip.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    tip.get_by_role("link", name="API errors").tap()
    incident: Incident = record["incident"]
    tab.wait_for_url(f"**{reverse('public:incident', args=[incident.public_id])}")


# What the bars weigh and how they are painted ------------------------------------


@pytest.mark.django_db
def test_it_keeps_a_components_bars_light(
    client: Client, record: dict[str, Any]
) -> None:
    page = client.get(reverse("public:index")).content.decode()

    start = page.index('<div class="uptime">')
    bars = page[start : page.index("</div>", start) + len("</div>")]
    # 90 days, their names, both scales: about 100 bytes a day (SVG took 140).
    assert len(bars.encode()) < 10_000, len(bars.encode())
    # Nothing the page's policy would block: no inline style or script.
    assert " style=" not in page and "<script" not in page


def test_the_stylesheet_paints_each_day_in_the_colour_of_its_state() -> None:
    css = (STATIC / "public.css").read_text()
    light = css[: css.index("prefers-color-scheme: dark")]  # the light tones first
    tones = dict(re.findall(r"--([\w-]+): (#[0-9a-f]{6});", light))
    painted = dict(
        re.findall(r"\.uptime__days > \.(\w+) \{\s*background: var\(--([\w-]+)\);", css)
    )
    painted[uptime.NO_DATA] = re.search(
        r"\.uptime__days > li \{[^}]*background: var\(--([\w-]+)\);", css
    )[1]
    assert {state: tones[tone] for state, tone in painted.items()} == DAY_COLOURS
    # The narrow screens hide all but the last NARROW_DAYS.
    assert f"li:nth-child(-n + {90 - NARROW_DAYS})" in css


# The 404 page --------------------------------------------------------------------


@pytest.mark.django_db
def test_it_answers_404_with_the_pages_header_and_a_way_home(
    client: Client, settings: Any
) -> None:
    settings.DEBUG = False
    make_page(name="Acme Cloud")

    for path in ["/no-such-page/", reverse("public:incident", args=["nosuchid0000"])]:
        response = client.get(path)

        assert response.status_code == 404, path
        assert response["Content-Type"].startswith("text/html")
        body = response.content.decode()
        assert '<a class="site-name" href="/">Acme Cloud</a>' in body
        assert '<nav class="site-nav" aria-label="Status page">' in body
        assert "<h1" in body and "Page not found" in body
        assert '<a href="/">Back to current status</a>' in body
        assert "<title>Page not found · Acme Cloud status</title>" in body


@pytest.mark.django_db
def test_it_keeps_json_404s_under_the_api(client: Client, settings: Any) -> None:
    settings.DEBUG = False
    make_page(name="Acme Cloud")

    response = client.get("/api/v2/no-such-thing.json")

    assert response.status_code == 404
    assert response.json() == {"error": "Not found."}


@pytest.mark.django_db
def test_it_names_the_page_the_request_is_for() -> None:
    make_page(name="Acme Cloud")
    request = RequestFactory().get("/no-such-page/")
    request.page = Page(name="Acme Payments")  # type: ignore[attr-defined]

    response = errors.page_not_found(request, Http404())

    assert response.status_code == 404
    body = response.content.decode()
    assert '<a class="site-name" href="/">Acme Payments</a>' in body


@pytest.mark.django_db
def test_it_dresses_a_404_under_a_pages_path_as_that_page(
    client: Client, settings: Any
) -> None:
    settings.DEBUG = False
    make_page(name="Acme Cloud")
    # pk 2: the default page took pk 1 by hand, which its sequence never counted.
    Page.objects.create(pk=2, name="Acme Europe", slug="europe", time_zone="UTC")

    response = client.get("/p/europe/no-such-page/")

    assert response.status_code == 404
    body = response.content.decode()
    assert '<a class="site-name" href="/p/europe/">Acme Europe</a>' in body
    assert '<a href="/p/europe/">Back to current status</a>' in body


@pytest.mark.usefixtures("database_out")
def test_it_says_it_cannot_tell_while_the_database_is_out(settings: Any) -> None:
    """A path the snapshot lacks may be an incident opened since it was published,
    or a private page's: without the database neither "not found" nor the page is
    true, so the answer says the database is out, and links the last known state."""
    settings.DEBUG = False

    response = Client(raise_request_exception=False).get("/no-such-page/")

    assert response.status_code == 503
    body = response.content.decode()
    assert "cannot reach" in body and '<a href="/">' in body
    assert "site-name" not in body


@pytest.mark.django_db
def test_it_answers_404_to_an_id_holding_a_nul(client: Client, settings: Any) -> None:
    settings.DEBUG = False
    make_page(name="Acme")

    for path in ("/incidents/%00", "/incidents/a%00b", "/components/%00/"):
        assert client.get(path).status_code == 404, path
    assert client.get("/incidents/a%00b/", follow=True).status_code == 404
