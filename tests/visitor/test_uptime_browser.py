"""The record in a real headless Chromium: bars and charts drawn, days named,
incident links followed, a phone's width respected, all without JavaScript."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from incidents.models import Component, Incident
from tests.conftest import make_component, make_group, make_incident, make_page
from uptime.models import ComponentDay, ComponentLatencyHour

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

DAY = 86_400
PHONE = {"width": 375, "height": 740}
SCREENSHOT = "/tmp/heliograph-uptime.png"
COMPONENT_SCREENSHOT = "/tmp/heliograph-component.png"
PHONE_SCREENSHOT = "/tmp/heliograph-uptime-phone.png"


@pytest.fixture
def record() -> dict[str, Any]:
    """API with 60 days of record and a partial outage yesterday, under an incident;
    Login with no record at all; 30 days of response times for API."""
    make_page(name="Acme")
    api = make_component(name="Public API")
    product = make_group(name="Acme product")
    make_component(name="Login and logout", group=product)
    incident = make_incident(name="API errors", component_statuses={api: "operational"})
    today = timezone.localdate()
    yesterday = today - dt.timedelta(days=1)
    ComponentDay.objects.bulk_create(
        ComponentDay(
            component=api, day=today - dt.timedelta(days=n), operational_seconds=DAY
        )
        for n in range(60)
        if n != 1
    )
    ComponentDay.objects.create(
        component=api,
        day=yesterday,
        operational_seconds=DAY - 3_600,
        partial_seconds=3_600,
        incidents=[{"id": incident.public_id, "name": "API errors", "impact": "major"}],
    )
    top = timezone.now().replace(minute=0, second=0, microsecond=0)
    ComponentLatencyHour.objects.bulk_create(
        ComponentLatencyHour(
            component=api,
            hour=top - dt.timedelta(hours=n),
            checks=60,
            p50_ms=80 + 30 * (n % 24 > 16),
            p95_ms=180 + 120 * (n % 24 > 16),
        )
        for n in range(720)
    )
    return {"api": api, "incident": incident, "yesterday": yesterday}


def no_script(browser: Any, **options: Any) -> Any:
    return browser.new_context(java_script_enabled=False, **options)


def test_it_shows_the_bars_and_names_each_day(
    browser: Any, live_server: Any, record: dict[str, Any]
) -> None:
    context = no_script(browser)
    try:
        tab = context.new_page()
        tab.goto(live_server.url + reverse("public:index"))

        bars = tab.locator("ol.uptime__days")
        assert bars.count() == 2
        box = bars.first.bounding_box()
        assert box is not None and box["width"] > 500 and box["height"] >= 30
        days = bars.first.locator("li")
        assert days.count() == 90
        # The last bar is today; the one before carries the outage and its incident.
        today = days.nth(89).get_attribute("aria-label") or ""
        assert today.endswith(": 100 % uptime. No incidents.")
        name = days.nth(88).get_attribute("aria-label") or ""
        date = f"{record['yesterday']:%b} {record['yesterday'].day}, "
        assert name.startswith(date)
        assert "98.75 % uptime; partial outage 1 h. Incidents: API errors." in name
        figure = tab.locator(".uptime__figure").filter(visible=True)
        assert figure.nth(0).text_content() == "99.97 % uptime over the last 90 days"
        assert figure.nth(1).text_content() == "No data over the last 90 days"
        # The bars are painted in their colours, no data in grey.
        colour = days.nth(89).evaluate("e => getComputedStyle(e).backgroundColor")
        assert colour == "rgb(19, 115, 51)"
        grey = bars.nth(1).locator("li").first
        colour = grey.evaluate("e => getComputedStyle(e).backgroundColor")
        assert colour == "rgb(196, 204, 212)"
        tab.screenshot(path=SCREENSHOT, full_page=True)
    finally:
        context.close()


def test_it_names_the_bars_for_assistive_technology(
    page_in_browser: Any, live_server: Any, record: dict[str, Any]
) -> None:
    page_in_browser.goto(live_server.url + reverse("public:index"))

    days = page_in_browser.get_by_role("list", name="Public API: uptime by day")
    assert days.get_by_role("listitem").count() == 90
    outage = days.get_by_role("listitem", name=re.compile("Incidents: API errors"))
    assert outage.count() == 1


def test_it_follows_a_bar_to_its_incident_without_javascript(
    browser: Any, live_server: Any, record: dict[str, Any]
) -> None:
    incident: Incident = record["incident"]
    context = no_script(browser)
    try:
        tab = context.new_page()
        tab.goto(live_server.url + reverse("public:index"))

        # A click shows the day's figures, with the link to its incident.
        day = tab.locator("ol.uptime__days .uptime__linked").first
        day.click()
        day.get_by_role("link", name="API errors", exact=True).click()

        tab.wait_for_url(f"**{reverse('public:incident', args=[incident.public_id])}")
        assert tab.get_by_role("heading", level=1).inner_text() == "API errors"
    finally:
        context.close()


def test_it_shows_the_response_time_charts(
    browser: Any, live_server: Any, record: dict[str, Any]
) -> None:
    api: Component = record["api"]
    context = no_script(browser)
    try:
        tab = context.new_page()
        tab.goto(live_server.url + reverse("public:index"))
        tab.get_by_role("link", name="Public API", exact=True).click()
        tab.wait_for_url(f"**{reverse('public:component', args=[api.public_id])}")

        charts = tab.locator("figure.chart")
        assert charts.count() == 3
        captions = [charts.nth(n).locator("figcaption").inner_text() for n in range(3)]
        assert captions == ["Last 24 hours", "Last 7 days", "Last 30 days"]
        for n in range(3):
            svg = charts.nth(n).locator("svg")
            box = svg.bounding_box()
            assert box is not None and box["width"] > 300 and box["height"] > 100
            labels = svg.locator("text").all_text_contents()
            assert any(re.fullmatch(r"\d+ ms", label) for label in labels), labels
            assert "p50 (median)" in labels and "p95" in labels
            assert svg.locator("path").count() == 2
        day_labels = charts.nth(0).locator("svg text").all_text_contents()
        assert any(re.fullmatch(r"\d\d:00", label) for label in day_labels)
        chart = tab.get_by_role("img", name=re.compile("Response time, last 24 hours"))
        assert chart.count() == 1
        tab.screenshot(path=COMPONENT_SCREENSHOT, full_page=True)
    finally:
        context.close()


def test_it_fits_the_bars_and_charts_on_a_phone(
    browser: Any, live_server: Any, record: dict[str, Any]
) -> None:
    context = no_script(browser, viewport=PHONE)
    try:
        tab = context.new_page()
        for name, args in [
            ("public:index", []),
            ("public:component", [record["api"].public_id]),
        ]:
            tab.goto(live_server.url + reverse(name, args=args))
            width = tab.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], name
            for svg in tab.locator("ol.uptime__days, svg.chart__svg").all():
                box = svg.bounding_box()
                assert box is not None and 0 < box["x"] + box["width"] <= PHONE["width"]
            if name == "public:index":
                tab.screenshot(path=PHONE_SCREENSHOT, full_page=True)
    finally:
        context.close()
