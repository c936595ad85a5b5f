"""The Content-Security-Policy, proved in headless Chromium: every kind of page sends
it, reports no violation, and still works; injected script does not run.

Violations are collected twice: by a ``securitypolicyviolation`` listener put in
every frame before any of the page's own script, and from the console, where
Chromium also reports what it refused.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from incidents.models import Component, Incident, IncidentTemplate
from notifications.models import Channel, Subscriber, SubscriberState
from tests.conftest import (
    make_component,
    make_group,
    make_incident,
    make_maintenance,
    make_page,
)
from tests.servers import free_port
from visitor.snapshot import publish
from visitor.snapshot.export import snapshot_export
from visitor.snapshot.serve import VERSION_HEADER

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

LISTEN = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(`${event.effectiveDirective} ${event.blockedURI}`);
});
"""
# Would run if a sanitiser ever let it through.
PROBE = (
    "<script>window.__ran = 'script';</script>"
    '<img src="data:," onerror="window.__ran = \'onerror\'">'
)
LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
CANVAS = "rgb(246, 248, 250)"  # public.css and errors.css: the page's background
LINE = "rgb(217, 222, 228)"  # public.css: a panel's border


class Tab:
    """A browser tab that remembers every violation and refusal reported in it."""

    def __init__(self, context: Any) -> None:
        self.page = context.new_page()
        self.page.set_default_timeout(15_000)
        self.console: list[str] = []
        self.page.on("console", lambda message: self.console.append(message.text))

    def goto(self, url: str) -> Any:
        self.console.clear()  # what the page before reported
        response = self.page.goto(url)
        self.page.wait_for_load_state("load")
        return response

    def violations(self) -> list[str]:
        reported = [
            entry
            for frame in self.page.frames
            for entry in frame.evaluate("window.__violations || []")
        ]
        refused = [
            text
            for text in self.console
            if "Content Security Policy" in text or "Refused to" in text
        ]
        return reported + refused

    def style(self, selector: str, property_name: str) -> str:
        return str(
            self.page.eval_on_selector(
                selector,
                f"e => getComputedStyle(e).getPropertyValue('{property_name}')",
            )
        )


@pytest.fixture
def tab(browser: Any) -> Iterator[Tab]:
    context = browser.new_context()
    context.add_init_script(LISTEN)
    yield Tab(context)
    context.close()


@pytest.fixture
def published(settings: Any) -> dict[str, Any]:
    """A page with something of every kind, published to the snapshot."""
    settings.NOTIFICATIONS_ALLOW_PRIVATE_TARGETS = True
    make_page(name="Acme", description="Status of Acme's product")
    product = make_group(name="Acme product")
    login = make_component(name="Login path", group=product)
    make_component(name="Public API")
    incident = make_incident(
        name="Sign-in errors",
        body=f"Some sign-ins fail. {PROBE}",
        component_statuses={login: "partial_outage"},
    )
    make_maintenance(name="Database upgrade")
    publish.snapshot_publish()
    return {"incident": incident, "login": login}


def policy(response: Any) -> dict[str, str]:
    header = response.headers["content-security-policy"]
    return {
        part.split()[0]: part.partition(" ")[2]
        for part in header.split("; ")
        if part.strip()
    }


def assert_strict(response: Any) -> None:
    directives = policy(response)
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["base-uri"] == "'none'"
    assert "unsafe" not in response.headers["content-security-policy"]


# Public pages ---------------------------------------------------------------------


def test_it_serves_the_public_pages_under_a_strict_policy(
    tab: Tab, live_server: Any, published: dict[str, Any]
) -> None:
    incident: Incident = published["incident"]
    login: Component = published["login"]
    pages = {
        "/": "Sign-in errors",
        "/history/": "Sign-in errors",
        f"/incidents/{incident.public_id}": "Some sign-ins fail.",
        f"/components/{login.public_id}/": "Login path",
    }
    for path, text in pages.items():
        response = tab.goto(live_server.url + path)

        assert response.status == 200, path
        assert VERSION_HEADER.lower() in response.headers, f"{path}: not the snapshot"
        assert_strict(response)
        assert policy(response)["frame-ancestors"] == "'none'"
        assert text in tab.page.inner_text("main"), path
        assert tab.style("body", "background-color") == CANVAS, path  # public.css
        assert tab.violations() == [], path
        assert tab.page.evaluate("window.__ran") is None, path


def test_it_lets_other_sites_use_the_script_and_frame_the_compact_view(
    tab: Tab, live_server: Any, published: dict[str, Any], tmp_path: Path
) -> None:
    # Another origin: 127.0.0.1 here, localhost for the live server.
    (tmp_path / "index.html").write_text(
        "<!doctype html><title>Another site</title>"
        "<div data-heliograph></div>"
        f'<script src="{live_server.url}/embed.js" async></script>'
        f'<iframe src="{live_server.url}/compact/" title="Status"></iframe>'
    )
    with static_server(tmp_path) as other_site:
        tab.goto(other_site)

        tab.page.wait_for_selector(".heliograph-embed__badge")
        assert "Sign-in errors" in tab.page.inner_text(".heliograph-embed")
        frame = tab.page.frame_locator("iframe")
        assert "Sign-in errors" in frame.locator("main").inner_text()
        compact = next(f for f in tab.page.frames if f.url.endswith("/compact/"))
        background = compact.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(255, 255, 255)"  # the compact rules in public.css
        assert tab.violations() == []

    response = tab.goto(live_server.url + "/compact/")
    assert_strict(response)
    assert policy(response)["frame-ancestors"] == "*"


def test_it_serves_the_subscription_pages_styled_and_without_violations(
    tab: Tab, live_server: Any, published: dict[str, Any]
) -> None:
    response = tab.goto(live_server.url + reverse("notifications:subscribe"))

    assert_strict(response)
    assert tab.style("form.panel", "border-top-color") == LINE
    tab.page.fill("#id_email", "reader@acme.test")
    tab.page.locator("form.panel button[type=submit]").first.click()
    tab.page.wait_for_load_state("load")
    assert "reader@acme.test" in tab.page.inner_text("main")
    assert tab.violations() == []


# The console ----------------------------------------------------------------------


def sign_in(tab: Tab, live_server: Any) -> User:
    user = User.objects.create_superuser("alice", "alice@acme.test", "correct horse")
    response = tab.goto(live_server.url + reverse("admin:login"))
    assert_strict(response)
    tab.page.fill("#id_login", "alice")
    tab.page.fill("#id_password", "correct horse")
    tab.page.get_by_role("button", name="Sign in").click()
    tab.page.wait_for_url(live_server.url + reverse("admin:index"))
    return user


def test_it_keeps_the_console_and_its_widgets_working(
    tab: Tab, live_server: Any, published: dict[str, Any]
) -> None:
    user = sign_in(tab, live_server)
    incident: Incident = published["incident"]
    subscriber = Subscriber.objects.create(
        channel=Channel.SLACK,
        url="https://hooks.slack.com/services/T000/B000/XXXXXXXX",
        state=SubscriberState.ACTIVE,
        confirmed_at=timezone.now(),
    )
    pages = [
        reverse("admin:index"),
        reverse("admin:incidents_incident_add"),
        reverse("admin:incidents_incident_change", args=[incident.pk]),
        reverse("admin:incidents_component_changelist"),
        reverse("admin:notifications_subscriber_change", args=[subscriber.pk]),
    ]
    for path in pages:
        response = tab.goto(live_server.url + path)
        assert response.status == 200, path
        assert_strict(response)
        assert tab.violations() == [], path

    # filter_horizontal (SelectFilter2.js) builds its two boxes and moves options.
    tab.goto(live_server.url + reverse("admin:incidents_incidenttemplate_add"))
    tab.page.select_option("#id_components_from", label="Acme product - Login path")
    tab.page.click("#id_components_add")
    chosen = tab.page.locator("#id_components_to option").all_inner_texts()
    assert chosen == ["Acme product - Login path"]
    tab.page.fill("#id_name", "Login down")
    tab.page.fill("#id_title", "Sign-in is failing")
    tab.page.locator("input[name=_save]").click()
    tab.page.wait_for_load_state("load")
    template = IncidentTemplate.objects.get(name="Login down")
    assert [c.name for c in template.components.all()] == ["Login path"]

    # The calendar and clock shortcuts (DateTimeShortcuts.js).
    tab.goto(live_server.url + reverse("admin:auth_user_change", args=[user.pk]))
    tab.page.fill("#id_date_joined_0", "")
    shortcuts = tab.page.locator("#id_date_joined_0 + .datetimeshortcuts")
    shortcuts.get_by_text("Today").click()
    today = timezone.localdate().isoformat()
    assert tab.page.input_value("#id_date_joined_0") == today
    tab.page.locator("#id_date_joined_1 + .datetimeshortcuts .clock-icon").click()
    assert tab.page.locator(".clockbox:visible").count() == 1
    assert tab.violations() == []


# The API documentation ------------------------------------------------------------


def test_it_renders_the_api_documentation_from_this_install_only(
    tab: Tab, live_server: Any
) -> None:
    failed: dict[str, str] = {}
    tab.page.on("requestfailed", lambda r: failed.setdefault(r.url, r.failure))
    answered: list[str] = []
    tab.page.on("response", lambda response: answered.append(response.url))
    workers: list[str] = []
    tab.page.on("worker", lambda worker: workers.append(worker.url))

    response = tab.goto(live_server.url + reverse("api-v1-docs"))
    tab.page.wait_for_selector("#redoc-container h1")
    tab.page.wait_for_selector("img[alt='redocly logo']", state="detached")

    assert "Heliograph management API" in tab.page.inner_text("#redoc-container h1")
    assert any(url.startswith("blob:") for url in workers)  # Redoc's search
    directives = policy(response)
    assert directives["script-src"].startswith("'self' 'nonce-")
    assert directives["style-src"].startswith("'self' 'nonce-")
    assert directives["worker-src"] == "blob:"
    assert "unsafe" not in response.headers["content-security-policy"]
    assert all(url.startswith((live_server.url, "blob:")) for url in answered)
    # Redoc's sidebar always links its maker's logo from a CDN: refused, and the
    # one violation of the page (Redoc then hides the image).
    assert failed == {LOGO: "csp"}
    assert f"img-src {LOGO}" in tab.violations()
    assert [v for v in tab.violations() if LOGO not in v] == []


# Error pages ----------------------------------------------------------------------


def test_it_styles_a_refused_form_with_the_error_pages_stylesheet(
    tab: Tab, live_server: Any, published: dict[str, Any]
) -> None:
    tab.goto(live_server.url + reverse("notifications:subscribe"))
    tab.page.context.clear_cookies()  # the CSRF cookie: the form is refused
    tab.page.fill("#id_email", "reader@acme.test")
    tab.page.locator("form.panel button[type=submit]").first.click()
    tab.page.wait_for_load_state("load")

    assert "This form could not be accepted" in tab.page.inner_text("h1")
    assert tab.style("body", "background-color") == CANVAS  # errors.css
    assert tab.violations() == []


def test_it_styles_the_error_pages_from_a_stylesheet(client: Any) -> None:
    from django.template.loader import render_to_string

    html = render_to_string("500.html")

    assert "<style" not in html and " style=" not in html
    assert '<link rel="stylesheet" href="/static/heliograph/errors.css">' in html


# Injected script ------------------------------------------------------------------


def test_it_blocks_script_that_got_past_the_sanitiser(
    tab: Tab, live_server: Any, published: dict[str, Any]
) -> None:
    """Stored content is sanitised (nh3) before it reaches a page; were a way
    round it found, the policy still refuses inline script and handlers."""

    def inject(route: Any) -> None:
        answer = route.fetch()
        body = answer.text().replace("</main>", f"{PROBE}</main>")
        route.fulfill(response=answer, body=body)

    tab.page.route(f"{live_server.url}/", inject)
    tab.goto(live_server.url + "/")

    assert tab.page.locator("main script").count() == 1  # it is in the page
    assert tab.page.evaluate("window.__ran") is None
    blocked = {entry.split()[0] for entry in tab.page.evaluate("window.__violations")}
    assert blocked == {"script-src-elem", "script-src-attr"}


def test_it_keeps_the_policy_in_the_exported_site(
    tab: Tab, live_server: Any, published: dict[str, Any], tmp_path: Path
) -> None:
    """A static host sends no header: the exported pages carry the policy in a
    <meta> element, and it refuses injected script there too."""
    snapshot_export(to=tmp_path)

    def inject(route: Any) -> None:
        answer = route.fetch()
        body = answer.text().replace("</main>", f"{PROBE}</main>")
        route.fulfill(response=answer, body=body)

    with static_server(tmp_path) as exported:
        tab.page.route(f"{exported}/", inject)
        response = tab.goto(exported + "/")

        assert "content-security-policy" not in response.headers
        assert tab.style("body", "background-color") == CANVAS
        assert tab.page.evaluate("window.__ran") is None
        blocked = {v.split()[0] for v in tab.page.evaluate("window.__violations")}
        assert blocked == {"script-src-elem", "script-src-attr"}

        tab.goto(exported + "/history/")
        assert tab.violations() == []
        assert "Sign-in errors" in tab.page.inner_text("main")


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class static_server:  # noqa: N801 - used as a context manager, like open()
    """A plain static file server on a free loopback port: no header of its own."""

    def __init__(self, folder: Path) -> None:
        handler = partial(_Quiet, directory=str(folder))
        self.server = http.server.ThreadingHTTPServer(
            ("127.0.0.1", free_port()), handler
        )

    def __enter__(self) -> str:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
