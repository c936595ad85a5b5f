"""What other sites embed: the compact framable page and the status script."""

from __future__ import annotations

import functools
import threading
import uuid
from collections.abc import Callable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from incidents import services
from incidents.models import Incident, StatusSource
from tests.conftest import (
    make_component,
    make_group,
    make_incident,
    make_maintenance,
    make_page,
)
from visitor.embed import EMBED_SCRIPT

SCREENSHOT = "/tmp/heliograph-embed.png"
NASTY = '<img src=x onerror="window.heliographPwned=1">'


def login_outage() -> Incident:
    make_page(name="Acme")
    make_component(name="Website")
    product = make_group(name="Acme product")
    login = make_component(name="Login", group=product)
    make_component(name="Dashboard", group=product)
    incident = make_incident(
        name="Login failures for some users",
        body="We are looking into **failed logins**.",
        component_statuses={login: "partial_outage"},
    )
    services.incident_post_update(
        incident=incident,
        status="identified",
        body="A certificate expired on one login node.",
    )
    return incident


# The compact view -----------------------------------------------------------------


@pytest.mark.django_db
def test_it_shows_the_page_in_brief(client: Client) -> None:
    incident = login_outage()

    response = client.get(reverse("public:compact"))

    assert response.status_code == 200
    html = response.content.decode()
    assert "banner--major" in html
    assert "Partial System Outage" in html
    assert "Login failures for some users" in html
    assert reverse("public:incident", args=[incident.public_id]) in html
    assert "A certificate expired on one login node." in html
    # Only the latest update, not the whole timeline.
    assert "failed logins" not in html
    for name in ("Website", "Acme product", "Login", "Dashboard"):
        assert f'<span class="component__name">{name}</span>' in html
    assert "Partial outage" in html
    assert "site-header" not in html
    assert "site-footer" not in html


@pytest.mark.django_db
def test_it_shows_a_maintenance_in_progress_in_brief(client: Client) -> None:
    make_page(name="Acme")
    maintenance = make_maintenance(name="Storage migration")
    services.incident_post_update(
        incident=maintenance, status="in_progress", body="Migration under way."
    )

    html = client.get(reverse("public:compact")).content.decode()

    assert "Maintenance in progress" in html
    assert "Storage migration" in html
    assert "Migration under way." in html


@pytest.mark.django_db
def test_it_opens_every_compact_link_in_a_new_tab(client: Client) -> None:
    login_outage()

    html = client.get(reverse("public:compact")).content.decode()

    assert '<base target="_blank">' in html
    links = html.split("<a ")[1:]
    assert len(links) >= 3
    for link in links:
        assert 'target="_blank" rel="noopener"' in link


@pytest.mark.django_db
def test_it_lets_any_site_frame_the_compact_view_only(client: Client) -> None:
    make_page(name="Acme")

    compact = client.get(reverse("public:compact"))
    index = client.get(reverse("public:index"))

    assert "X-Frame-Options" not in compact.headers
    assert "frame-ancestors *;" in compact["Content-Security-Policy"]
    assert index["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none';" in index["Content-Security-Policy"]


# The script ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_serves_the_script_as_javascript(client: Client) -> None:
    response = client.get(reverse("public:embed-js"))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/javascript; charset=utf-8"
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "public" in response["Cache-Control"]
    assert response.content == EMBED_SCRIPT.read_bytes()


def test_it_never_writes_markup_from_the_script() -> None:
    source = EMBED_SCRIPT.read_text()

    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write"):
        assert sink not in source
    assert "eval(" not in source
    assert "document.cookie" not in source


# In a real browser, on another site ---------------------------------------------------


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def other_site(tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """A plain static server on another port: a third-party site's own origin.

    ``other_site(html)`` publishes ``html`` as a page there and returns its URL.
    """
    root = tmp_path / "other-site"
    root.mkdir()
    handler = functools.partial(QuietHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def publish(html: str) -> str:
        name = f"{uuid.uuid4().hex}.html"
        (root / name).write_text(html)
        return f"http://127.0.0.1:{server.server_address[1]}/{name}"

    yield publish
    server.shutdown()
    server.server_close()


def host_page(live_server: Any, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        "<title>Acme blog</title></head><body><h1>Acme blog</h1>"
        f"{body}"
        f'<script src="{live_server.url}/embed.js" async></script>'
        "<p>Footer</p></body></html>"
    )


GLOBALS_ADDED = """() => {
  const frame = document.createElement("iframe");
  document.body.appendChild(frame);
  const fresh = new Set(Object.getOwnPropertyNames(frame.contentWindow));
  frame.remove();
  const added = Object.getOwnPropertyNames(window).filter((name) => !fresh.has(name));
  return added.filter((name) => !/^[0-9]+$/.test(name));  // the page's own frames
}"""


@pytest.mark.browser
@pytest.mark.usefixtures("transactional_db")
def test_it_shows_the_badge_on_another_site(
    page_in_browser: Any, live_server: Any, other_site: Callable[[str], str]
) -> None:
    make_page(name="Acme")
    make_component(name="API")
    compact = f"{live_server.url}{reverse('public:compact')}"
    url = other_site(
        host_page(live_server, f'<iframe title="Acme status" src="{compact}"></iframe>')
    )
    tab = page_in_browser
    requested: list[str] = []
    tab.on("request", lambda request: requested.append(request.url))

    tab.goto(url)

    badge = tab.get_by_role("link", name="Acme status: All Systems Operational")
    badge.wait_for()
    assert badge.inner_text() == "All Systems Operational"
    assert badge.get_attribute("href") == f"{live_server.url}/"
    assert badge.get_attribute("target") == "_blank"
    # Right after its script tag, with no notice while all is well.
    after_script = tab.locator("script + .heliograph-embed")
    assert after_script.count() == 1
    assert tab.locator(".heliograph-embed__notice").count() == 0
    # The framed compact view: another origin may show it.
    framed = tab.frame_locator("iframe").get_by_role("heading", level=1)
    assert "All Systems Operational" in framed.inner_text()
    assert tab.evaluate(GLOBALS_ADDED) == ["HeliographEmbed"]
    assert tab.context.cookies() == []
    ours = [u for u in requested if u.startswith(live_server.url)]
    scripted = [u for u in ours if "compact" not in u and "/static/" not in u]
    assert scripted == [
        f"{live_server.url}/embed.js",
        f"{live_server.url}/api/v2/summary.json",
    ]
    assert all(u.startswith(("http://127.0.0.1:", live_server.url)) for u in requested)


@pytest.mark.browser
@pytest.mark.usefixtures("transactional_db")
def test_it_shows_a_dismissable_notice_during_an_incident(
    page_in_browser: Any, live_server: Any, other_site: Callable[[str], str]
) -> None:
    login_outage()
    api = make_component(name="API")
    services.component_set_status(
        component=api, status="degraded_performance", source=StatusSource.STAFF
    )
    compact = f"{live_server.url}{reverse('public:compact')}"
    frame = f'<iframe title="Acme status" src="{compact}" width="480" height="420">'
    url = other_site(
        host_page(
            live_server, f'<div id="status" data-heliograph></div>{frame}</iframe>'
        )
    )
    tab = page_in_browser
    tab.emulate_media(reduced_motion="reduce")

    tab.goto(url)

    notice = tab.locator("#status .heliograph-embed__notice")
    notice.wait_for()
    assert tab.locator("#status .heliograph-embed__badge").inner_text() == (
        "Partial System Outage"
    )
    assert notice.locator(".heliograph-embed__title").inner_text() == (
        "Login failures for some users"
    )
    assert (
        notice.locator(".heliograph-embed__meta").inner_text().startswith("Identified")
    )
    body = notice.locator(".heliograph-embed__body").inner_text()
    assert body == "A certificate expired on one login node."
    animation = notice.evaluate("node => getComputedStyle(node).animationName")
    assert animation == "none"
    framed = tab.frame_locator("iframe")
    assert "Login failures for some users" in framed.locator("main").inner_text()
    tab.screenshot(path=SCREENSHOT, full_page=True)

    tab.get_by_role(
        "button", name="Dismiss notice: Login failures for some users"
    ).click()

    assert notice.count() == 0
    assert tab.evaluate("document.activeElement.className").startswith(
        "heliograph-embed__badge"
    )


@pytest.mark.browser
@pytest.mark.usefixtures("transactional_db")
def test_it_shows_markup_in_an_incident_as_text(
    page_in_browser: Any, live_server: Any, other_site: Callable[[str], str]
) -> None:
    make_page(name="Acme")
    make_incident(name=NASTY, body=f"<script>window.heliographPwned=2</script>{NASTY}")
    url = other_site(host_page(live_server, "<div data-heliograph></div>"))
    tab = page_in_browser
    requested: list[str] = []
    tab.on("request", lambda request: requested.append(request.url))

    tab.goto(url)

    notice = tab.locator(".heliograph-embed__notice")
    notice.wait_for()
    assert notice.locator(".heliograph-embed__title").inner_text() == NASTY
    assert NASTY in notice.locator(".heliograph-embed__body").inner_text()
    assert tab.locator(".heliograph-embed img, .heliograph-embed script").count() == 0
    tab.wait_for_timeout(200)
    assert tab.evaluate("window.heliographPwned") is None
    assert not [u for u in requested if u.endswith("/x")]
