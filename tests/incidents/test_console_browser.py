"""A staff member works an incident in headless Chromium; the public side follows.

Each step is checked where the world reads it: the Statuspage API (exact values) and
the public page's text.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from incidents.models import Component
from tests.conftest import make_component, make_group, make_page

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

SCREENSHOT = "/tmp/console.png"
NAME = "Login failures for some users"


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode()


def summary(live_server: Any) -> dict[str, Any]:
    return json.loads(fetch(f"{live_server.url}/api/v2/summary.json"))


def component_status(body: dict[str, Any], name: str) -> str:
    return next(c["status"] for c in body["components"] if c["name"] == name)


def sign_in(tab: Any, live_server: Any) -> None:
    User.objects.create_user(
        "alice", password="correct horse", is_staff=True, is_superuser=True
    )
    tab.goto(live_server.url + reverse("admin:login"))  # leads to the sign-in page
    tab.fill("#id_login", "alice")
    tab.fill("#id_password", "correct horse")
    tab.get_by_role("button", name="Sign in").click()
    tab.wait_for_url(live_server.url + reverse("admin:index"))


def open_incident(tab: Any, live_server: Any, login: Component) -> None:
    tab.goto(live_server.url + reverse("admin:incidents_incident_add"))
    tab.fill("#id_name", NAME)
    tab.fill("#id_body", "We are investigating failed logins.")
    tab.select_option(f"#id_component_{login.pk}", "partial_outage")
    tab.get_by_role("button", name="Open incident").click()
    tab.wait_for_url("**/change/")


def test_it_works_an_incident_from_open_to_resolved(
    page_in_browser: Any, live_server: Any
) -> None:
    make_page(name="Acme")
    product = make_group(name="Acme product")
    login = make_component(name="Login and logout", group=product)
    make_component(name="Public API")
    tab = page_in_browser
    sign_in(tab, live_server)

    open_incident(tab, live_server, login)
    body = summary(live_server)
    assert [(i["name"], i["status"]) for i in body["incidents"]] == [
        (NAME, "investigating")
    ]
    assert component_status(body, "Login and logout") == "partial_outage"
    assert component_status(body, "Public API") == "operational"
    assert NAME in fetch(live_server.url + "/")

    tab.select_option("#id_update-status", "identified")
    tab.fill("#id_update-body", "An expired certificate on one login node.")
    tab.screenshot(path=SCREENSHOT, full_page=True)
    tab.get_by_role("button", name="Post update").click()
    tab.get_by_text("Posted a “Identified” update.").wait_for()
    body = summary(live_server)
    assert [(i["name"], i["status"]) for i in body["incidents"]] == [
        (NAME, "identified")
    ]
    assert "An expired certificate" in tab.locator("#timeline").inner_text()

    tab.fill("#id_update-body", "Replaced the certificate; logins work again.")
    tab.get_by_role("button", name="Resolve").click()
    tab.get_by_text("Posted a “Resolved” update.").wait_for()
    body = summary(live_server)
    assert body["incidents"] == []
    assert component_status(body, "Login and logout") == "operational"
    assert body["status"]["indicator"] == "none"
