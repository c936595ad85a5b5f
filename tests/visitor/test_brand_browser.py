"""Branded pages in a real Chromium: each page its own logo, icon and colour, dark
mode when the visitor asks for it, and no accessibility violation axe-core finds."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from incidents import services
from incidents.models import Page, StatusSource
from tests.conftest import make_component, make_group, make_incident, make_page
from tests.visitor.test_brand import LOGO, NAVY, TEAL, png
from tests.visitor.test_embed import host_page, other_site  # noqa: F401 (a fixture)
from visitor.services import brand_update

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

AXE = Path(__file__).resolve().parents[1] / "axe" / "node_modules" / "axe-core"
DARK_CANVAS = "rgb(18, 22, 27)"
DARK_SURFACE = "rgb(27, 33, 40)"
DARK_LINK = "rgb(138, 180, 248)"


def rgb(colour: str) -> str:
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


@pytest.fixture
def branded() -> Page:
    """Two pages mid-incident, each with a brand of its own."""
    make_page(name="Acme", description="Live status of Acme's services")
    product = make_group(name="Acme product")
    login = make_component(name="Login and logout", group=product)
    api = make_component(name="Public API")
    make_incident(
        name="Login failures for some users",
        body="We are investigating **failed logins** for some users.",
        component_statuses={login: "partial_outage"},
    )
    services.component_set_status(
        component=api, status="degraded_performance", source=StatusSource.STAFF
    )
    brand_update(
        page=Page.get(),
        logo=LOGO,
        favicon=LOGO,
        colour=NAVY,
        header_links=[
            {"label": "Support", "url": "https://help.acme.test/"},
            {"label": "Main site", "url": "https://acme.test/"},
        ],
        footer_text="Acme Inc., 1 Example Street",
    )
    europe = Page.objects.create(name="Acme Europe", slug="europe", time_zone="UTC")
    services.page_components_add(page=europe, components=[api])
    brand_update(page=europe, logo=png(width=40, height=20), colour=TEAL)
    return europe


@pytest.fixture
def dark_tab(browser: Any) -> Iterator[Any]:
    context = browser.new_context(color_scheme="dark")
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    yield tab
    context.close()


def computed(tab: Any, selector: str, property: str) -> str:
    return str(
        tab.locator(selector)
        .first.evaluate(f"e => getComputedStyle(e).getPropertyValue('{property}')")
        .strip()
    )


def logo_loaded(tab: Any) -> bool:
    """The logo decoded (an SVG sized by its viewBox alone has no natural width)
    and drawn at some size."""
    return bool(
        tab.locator("img.site-logo").evaluate(
            "i => i.decode().then(() => i.getBoundingClientRect().width > 0,"
            " () => false)"
        )
    )


@pytest.mark.usefixtures("branded")
def test_it_shows_each_page_its_own_logo_icon_and_colour(
    page_in_browser: Any, live_server: Any
) -> None:
    tab = page_in_browser
    failed: list[str] = []
    tab.on("requestfailed", lambda request: failed.append(request.url))

    tab.goto(live_server.url + "/")
    assert logo_loaded(tab)
    assert tab.locator("img.site-logo").get_attribute("alt") == "Acme"
    icon = tab.locator("link[rel=icon]").get_attribute("href")
    assert icon.startswith("/brand/favicon.svg?v=")
    assert tab.request.get(live_server.url + icon).headers["content-type"] == (
        "image/svg+xml"
    )
    assert computed(tab, ".site-footer a", "color") == rgb(NAVY)
    assert rgb(NAVY) in computed(tab, ".site-header", "box-shadow")
    assert tab.get_by_role("link", name="Support").get_attribute("href") == (
        "https://help.acme.test/"
    )

    tab.goto(live_server.url + "/p/europe/")
    assert logo_loaded(tab)
    assert tab.locator("img.site-logo").get_attribute("alt") == "Acme Europe"
    assert "heliograph/favicon" in tab.locator("link[rel=icon]").get_attribute("href")
    assert computed(tab, ".site-footer a", "color") == rgb(TEAL)
    assert tab.get_by_role("link", name="Support").count() == 0
    assert failed == []


@pytest.mark.usefixtures("branded")
def test_it_follows_the_visitors_dark_mode(dark_tab: Any, live_server: Any) -> None:
    tab = dark_tab

    tab.goto(live_server.url + "/")

    assert computed(tab, "body", "background-color") == DARK_CANVAS
    assert computed(tab, ".components", "background-color") == DARK_SURFACE
    assert computed(tab, "body", "color") == "rgb(230, 233, 237)"
    # Links stay light on dark; the brand colour stays a band in the header.
    assert computed(tab, ".site-footer a", "color") == DARK_LINK
    assert rgb(NAVY) in computed(tab, ".site-header", "box-shadow")
    # The status colours are the dark ones, with dark words on the banner.
    assert computed(tab, ".banner", "background-color") == "rgb(251, 146, 60)"
    assert computed(tab, ".banner", "color") == DARK_CANVAS
    assert computed(tab, ".status--degraded_performance", "color") == (
        "rgb(250, 204, 21)"
    )

    tab.goto(live_server.url + "/compact/")
    assert computed(tab, "body", "background-color") == DARK_SURFACE
    assert computed(tab, ".banner", "color") == DARK_CANVAS


@pytest.mark.usefixtures("branded")
def test_it_keeps_the_light_colours_for_a_light_visitor(
    page_in_browser: Any, live_server: Any
) -> None:
    page_in_browser.goto(live_server.url + "/")

    assert computed(page_in_browser, "body", "background-color") == "rgb(246, 248, 250)"
    assert computed(page_in_browser, ".banner", "color") == "rgb(255, 255, 255)"


@pytest.mark.usefixtures("branded")
def test_the_embed_follows_the_visitors_dark_mode(
    dark_tab: Any, live_server: Any, request: pytest.FixtureRequest
) -> None:
    elsewhere: Callable[[str], str] = request.getfixturevalue("other_site")
    url = elsewhere(host_page(live_server, ""))

    dark_tab.goto(url)

    badge = dark_tab.locator(".heliograph-embed__badge")
    badge.wait_for()
    assert computed(dark_tab, ".heliograph-embed__badge", "background-color") == (
        DARK_SURFACE
    )
    assert computed(dark_tab, ".heliograph-embed__notice", "border-left-color") == (
        "rgb(251, 146, 60)"
    )


def axe_violations(browser: Any, url: str, scheme: str) -> list[dict[str, Any]]:
    """What axe-core finds on ``url``, loaded into the page past its policy (the
    test's script is not the page's)."""
    if not (AXE / "axe.min.js").is_file():
        pytest.fail(
            "tests/axe has no node_modules: run `npm ci` there (make test does)"
        )
    context = browser.new_context(color_scheme=scheme, bypass_csp=True)
    try:
        tab = context.new_page()
        tab.goto(url)
        tab.add_script_tag(path=str(AXE / "axe.min.js"))
        results = tab.evaluate(
            "async () => { const r = await axe.run(document);"
            " return {violations: r.violations, passes: r.passes.length}; }"
        )
    finally:
        context.close()
    assert results["passes"] > 10  # axe ran its rules, colour contrast among them
    found = results["violations"]
    return [
        {"id": v["id"], "nodes": [n["target"] for n in v["nodes"]][:5]} for v in found
    ]


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("path", ["/", "/p/europe/", "/compact/", "/history/"])
@pytest.mark.usefixtures("branded")
def test_axe_finds_no_violation_on_a_branded_page(
    browser: Any, live_server: Any, scheme: str, path: str
) -> None:
    violations = axe_violations(browser, live_server.url + path, scheme)

    assert violations == [], json.dumps(violations, indent=1)
