"""The public page in a real headless Chromium, with JavaScript turned off."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from incidents import services
from incidents.models import Incident, StatusSource
from tests.conftest import make_component, make_group, make_incident, make_page

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

PHONE = {"width": 375, "height": 740}
SCREENSHOT = "/tmp/heliograph-index.png"
PHONE_SCREENSHOT = "/tmp/heliograph-index-phone.png"


@pytest.fixture
def outage() -> Incident:
    """A page mid-incident: a group, a degraded component and an open incident."""
    make_page(name="Acme", description="Live status of Acme's services")
    make_component(name="Website", description="www.acme.test and the docs")
    product = make_group(name="Acme product")
    login = make_component(name="Login and logout", group=product)
    make_component(name="Dashboard", group=product)
    api = make_component(name="Public API")
    incident = make_incident(
        name="Login failures for some users",
        body="We are investigating **failed logins** for some users.",
        component_statuses={login: "partial_outage"},
    )
    services.incident_post_update(
        incident=incident,
        status="identified",
        body="A certificate expired on one login node; replacing it now.\n\n"
        "- Sessions already open keep working\n- New logins may fail",
    )
    services.component_set_status(
        component=api, status="degraded_performance", source=StatusSource.STAFF
    )
    return incident


def open_index(page_in_browser: Any, live_server: Any) -> Any:
    page_in_browser.goto(live_server.url + reverse("public:index"))
    return page_in_browser


@pytest.mark.usefixtures("outage")
def test_it_shows_the_banner_components_and_open_incident(
    page_in_browser: Any, live_server: Any
) -> None:
    tab = open_index(page_in_browser, live_server)

    heading = tab.get_by_role("heading", level=1).inner_text()
    assert heading.split() == ["Acme", "status:", "Partial", "System", "Outage"]
    components = tab.locator(".components").first.inner_text()
    for name in ("Website", "Acme product", "Login and logout", "Public API"):
        assert name in components
    assert "Partial outage" in components
    assert "Degraded performance" in components
    incident = tab.locator("article.incident").first
    assert "Login failures for some users" in incident.inner_text()
    assert "Identified" in incident.inner_text()
    # The stylesheet loaded: the banner is painted, not left as plain text.
    colour = tab.locator(".banner").evaluate("e => getComputedStyle(e).backgroundColor")
    assert colour not in ("rgba(0, 0, 0, 0)", "transparent")
    tab.screenshot(path=SCREENSHOT, full_page=True)


@pytest.mark.usefixtures("outage")
def test_it_follows_the_link_to_the_incident_without_javascript(
    browser: Any, live_server: Any
) -> None:
    context = browser.new_context(java_script_enabled=False)
    try:
        tab = context.new_page()
        tab.goto(live_server.url + reverse("public:index"))
        tab.get_by_role("link", name="Login failures for some users").click()

        assert tab.locator("h1").inner_text() == "Login failures for some users"
        assert "Acme product - Login and logout" in tab.locator("main").inner_text()
    finally:
        context.close()


def test_it_fits_a_phone_screen_without_horizontal_scrolling(
    page_in_browser: Any, live_server: Any, outage: Incident
) -> None:
    page_in_browser.set_viewport_size(PHONE)
    paths = [
        reverse("public:incident", args=[outage.public_id]),
        reverse("public:history"),
        reverse("public:index"),
    ]

    for path in paths:
        page_in_browser.goto(live_server.url + path)
        width = page_in_browser.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], path
    page_in_browser.screenshot(path=PHONE_SCREENSHOT, full_page=True)


@pytest.mark.parametrize("width", [320, 390])
def test_it_never_breaks_a_navigation_word_on_a_narrow_screen(
    page_in_browser: Any, live_server: Any, outage: Incident, width: int
) -> None:
    page_in_browser.set_viewport_size({"width": width, "height": 740})
    open_index(page_in_browser, live_server)

    words = page_in_browser.evaluate(
        """() => [...document.querySelectorAll('.site-nav a')].map(link => {
            // An inline box has one rectangle per line it spans.
            const lines = link.getClientRects().length;
            return [link.textContent.trim(), lines];
        })"""
    )
    assert [text for text, _ in words] == [
        "Current status",
        "History",
        "Subscribe to updates",
    ]
    assert all(lines == 1 for _, lines in words), words
    width_used = page_in_browser.evaluate("document.documentElement.scrollWidth")
    assert width_used <= width
