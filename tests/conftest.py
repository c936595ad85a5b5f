"""Shared fixtures: plain ``make_<model>`` helpers and a real headless Chromium."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import timezone

from incidents import services
from incidents.models import Component, Incident, Page

CHROMIUM = (
    os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def make_page(**overrides: Any) -> Page:
    fields = {"name": "Acme", "url": "https://status.acme.test", "time_zone": "UTC"}
    fields.update(overrides)
    return services.page_update(**fields)


def make_group(**overrides: Any) -> Component:
    fields: dict[str, Any] = {"name": "Acme product", "is_group": True}
    fields.update(overrides)
    return services.component_create(**fields)


def make_component(**overrides: Any) -> Component:
    fields: dict[str, Any] = {"name": "API"}
    fields.update(overrides)
    return services.component_create(**fields)


def make_incident(**overrides: Any) -> Incident:
    fields: dict[str, Any] = {
        "name": "Elevated error rates",
        "body": "Looking into it.",
    }
    fields.update(overrides)
    return services.incident_create(**fields)


def make_maintenance(**overrides: Any) -> Incident:
    start = timezone.now() + dt.timedelta(hours=1)
    fields: dict[str, Any] = {
        "name": "Database upgrade",
        "scheduled_for": start,
        "scheduled_until": start + dt.timedelta(hours=2),
        "body": "We will upgrade the database.",
    }
    fields.update(overrides)
    return services.maintenance_schedule(**fields)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium (Debian's) for the whole run, driven by Playwright."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the live server's
    # database calls from test code are still synchronous and safe.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture
def page_in_browser(browser: Any) -> Iterator[Any]:
    context = browser.new_context()
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    yield tab
    context.close()
