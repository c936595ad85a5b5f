"""Shared fixtures: plain ``make_<model>`` helpers, a real headless Chromium, real
Celery workers; and each test's tier (tests/tiers.py)."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from incidents import events, services
from incidents.models import Component, Incident, Page
from tests.tiers import tier, tier_assign

ROOT = Path(__file__).resolve().parents[1]
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


@pytest.hookimpl(tryfirst=True)  # before -m deselects by the markers added here
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test gets exactly one tier marker (unit, schema, database, worker,
    browser, outage) from the fixtures it uses or a marker of its own: the
    precedence is in tests/tiers.py's docstring."""
    tier_assign(items)


@pytest.fixture(autouse=True)
def isolated_snapshot(settings: Any, tmp_path: Path) -> Iterator[Any]:
    """Every test publishes into a snapshot of its own: a fresh folder and Redis
    prefix, and readers that remember nothing. A leftover snapshot would otherwise
    answer public requests in place of the views under test."""
    import redis

    from visitor.snapshot import store

    settings.SNAPSHOT_DIR = tmp_path / "snapshot"
    settings.SNAPSHOT_REDIS_PREFIX = prefix = f"test-snapshot:{uuid.uuid4().hex}:"
    redis_url = settings.REDIS_URL  # a test may point it at a stopped server
    store.forget_readers()
    yield store.current_store()
    store.forget_readers()
    if redis_url:
        client = redis.Redis.from_url(redis_url)
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)


@pytest.fixture
def database_out(django_db_blocker: Any) -> Iterator[None]:
    """The database server stops answering: the connection points at a closed port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    kept = dict(connection.settings_dict)
    with django_db_blocker.unblock():
        connection.close()
        connection.settings_dict.update(HOST="127.0.0.1", PORT=str(closed_port))
        try:
            yield
        finally:
            connection.close()
            connection.settings_dict.clear()
            connection.settings_dict.update(kept)


@pytest.fixture
def heard() -> Iterator[list[events.Change]]:
    """Every change the services announce during the test, in order."""
    changes: list[events.Change] = []
    events.listen(changes.append)
    yield changes
    events._listeners.remove(changes.append)


def enqueued(callbacks: list[Callable[[], Any]]) -> list[Callable[[], Any]]:
    """The work a change queued for after its commit, without the audit log's
    sealing (which follows every audited write)."""
    return [c for c in callbacks if getattr(c, "__module__", "") != "audit.chain"]


def make_page(**overrides: Any) -> Page:
    fields: dict[str, Any] = {
        "name": "Acme",
        "url": "https://status.acme.test",
        "time_zone": "UTC",
    }
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


@pytest.fixture(scope="module")
@tier("browser")
def browser() -> Iterator[Any]:
    """A headless Chromium (Debian's) per test module, driven by Playwright.

    Not per session: Playwright's sync API keeps an event loop running in this
    thread while it is open, which would break later tests that run asyncio.
    """
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


def worker_database_url() -> str:
    """The URL of the database this test runs on: pytest-django's test database."""
    db = settings.DATABASES["default"]
    assert db["ENGINE"] == "django.db.backends.postgresql", "needs a server database"
    user = quote(db.get("USER") or "", safe="")
    password = quote(db.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else f"{user}@" if user else ""
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or "5432"
    return f"postgres://{credentials}{host}:{port}/{quote(db['NAME'], safe='')}"


@pytest.fixture
@tier("worker")
def start_worker(tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start real Celery workers on the real broker, seeing this test's database.

    ``start_worker(queues, beat=False, **env)``; output goes to ``tmp_path/worker.log``
    (a file, not a pipe: nobody reads a pipe while the test polls, and a full one
    would stall the worker). Every worker is stopped when the test ends.
    """
    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        pytest.skip("worker tests need CELERY_BROKER_URL=redis://...")
    started: list[tuple[subprocess.Popen[bytes], Any]] = []

    def start(queues: str, beat: bool = False, **env: str) -> subprocess.Popen[bytes]:
        command = [
            *(sys.executable, "-m", "celery", "-A", "statuspage", "worker"),
            *("-Q", queues, "--pool", "solo", "--concurrency", "1"),
            *("-n", f"test-{uuid.uuid4().hex[:8]}@%h", "--loglevel", "INFO"),
            *("--without-gossip", "--without-mingle", "--without-heartbeat"),
        ]
        if beat:
            command += ["--beat", "--schedule", str(tmp_path / "beat-schedule")]
        log = (tmp_path / "worker.log").open("ab")
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={
                **os.environ,
                "DATABASE_URL": worker_database_url(),
                # The worker publishes into this test's snapshot, not the real one.
                "SNAPSHOT_DIR": str(settings.SNAPSHOT_DIR),
                "SNAPSHOT_REDIS_PREFIX": settings.SNAPSHOT_REDIS_PREFIX,
                **env,
            },
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        started.append((process, log))
        return process

    yield start
    for process, log in started:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
