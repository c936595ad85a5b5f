"""Every way into a private page tried as a visitor would, in Chromium: allowed,
refused, an expired link, an address at the wrong domain."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine

from audience import services as audience
from incidents import services
from incidents.models import Page
from tests.audience.test_private_pages import queued_links
from tests.conftest import make_component, make_page
from tests.notifications.conftest import (  # noqa: F401  (fixtures)
    notifications_queue,
    rate_limit_cache,
    smtp_server,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.usefixtures(
        "transactional_db", "rate_limit_cache", "notifications_queue"
    ),
]

PASSWORD = "correct horse battery staple"
SECRET = "Session store"


@pytest.fixture
def internal(live_server: Any) -> Page:
    """The employees' page on ``localhost`` (the live server's host); the public
    page answers on 127.0.0.1."""
    public = make_page(name="Acme")
    page = services.page_create(
        name="Acme internal", slug="internal", hosts=["localhost"]
    )
    make_component(name="Login", pages=[public, page])
    make_component(name=SECRET, pages=[page])
    return page


def test_the_password_lets_in_and_a_wrong_one_is_refused(
    page_in_browser: Any, live_server: Any, internal: Page
) -> None:
    audience.access_update(page=internal, password=PASSWORD)
    tab = page_in_browser

    tab.goto(f"{live_server.url}/history/")
    assert "/access/" in tab.url
    assert tab.get_by_role("heading", name="This status page is private").is_visible()
    assert SECRET not in tab.content()

    tab.get_by_label("Password", exact=True).fill("a wrong guess")
    tab.get_by_role("button", name="Sign in").click()
    assert tab.get_by_role("alert").inner_text() == "That password is not right."

    tab.get_by_label("Password", exact=True).fill(PASSWORD)
    tab.get_by_role("button", name="Sign in").click()
    tab.wait_for_url(f"{live_server.url}/history/")
    tab.goto(live_server.url)
    assert tab.get_by_text(SECRET).first.is_visible()


def test_an_allowed_network_sees_the_page_and_another_is_sent_to_sign_in(
    page_in_browser: Any, live_server: Any, internal: Page
) -> None:
    tab = page_in_browser
    audience.access_update(page=internal, ip_allowlist="127.0.0.0/8")
    tab.goto(live_server.url)
    assert tab.get_by_text(SECRET).first.is_visible()

    audience.access_update(page=internal, ip_allowlist="10.0.0.0/8", password=PASSWORD)
    tab.goto(live_server.url)
    assert "/access/" in tab.url and SECRET not in tab.content()


def test_a_mailed_link_lets_in_and_a_wrong_domain_gets_no_mail(
    page_in_browser: Any,
    live_server: Any,
    internal: Page,
    smtp_server: Any,  # noqa: F811
) -> None:
    from audience.tasks import link_send

    audience.access_update(page=internal, email_domains="acme.test")
    queued_links()
    tab = page_in_browser
    tab.goto(live_server.url)

    tab.get_by_label("Your work email address").fill("eve@evil.test")
    tab.get_by_role("button", name="Email me a link").click()
    assert "a sign-in link is on its way" in tab.get_by_role("status").inner_text()
    assert queued_links() == []

    tab.get_by_label("Your work email address").fill("ada@acme.test")
    tab.get_by_role("button", name="Email me a link").click()
    tab.get_by_role("status").wait_for()
    [queued] = queued_links()
    link_send(**queued)
    [mail] = smtp_server.to("ada@acme.test")
    url = next(w for w in mail.get_content().split() if "/access/enter?token=" in w)

    tab.goto(url)
    assert SECRET not in tab.content()  # opening the link only asks to confirm
    tab.get_by_role("button", name="Sign in").click()
    tab.wait_for_url(f"{live_server.url}/")
    assert tab.get_by_text(SECRET).first.is_visible()


def test_an_expired_link_is_refused(
    page_in_browser: Any, live_server: Any, internal: Page, settings: Any
) -> None:
    audience.access_update(page=internal, email_domains="acme.test")
    queued_links()
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(
        seconds=settings.AUDIENCE_LINK_MAX_AGE_SECONDS + 60
    )
    with time_machine.travel(long_ago, tick=False):
        audience.link_request(
            page=internal,
            email="ada@acme.test",
            link_base=f"{live_server.url}/access/enter",
        )
    [queued] = queued_links()
    tab = page_in_browser

    tab.goto(queued["url"])
    tab.get_by_role("button", name="Sign in").click()

    assert "expired" in tab.get_by_role("alert").inner_text()
    tab.goto(live_server.url)
    assert "/access/" in tab.url and SECRET not in tab.content()
