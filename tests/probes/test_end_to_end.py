"""The whole flow on a real Celery worker and beat over Redis: a target goes down,
its component changes, an automatic incident opens; it recovers, and the incident
resolves by itself."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from incidents.models import Component, Incident
from probes.services import probe_create
from tests.conftest import make_component

# Its own broker database, so no other test's queue purge can take its tasks.
BROKER = "redis://127.0.0.1:6379/13"


class Switchable(BaseHTTPRequestHandler):
    healthy = threading.Event()

    def do_GET(self) -> None:  # noqa: N802 (the http.server API)
        status = 200 if self.healthy.is_set() else 503
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def target() -> Iterator[str]:
    Switchable.healthy.set()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Switchable)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/health"
    server.shutdown()
    server.server_close()


def wait_for(condition: Callable[[], bool], log: Path, what: str) -> None:
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.25)
    output = log.read_text(errors="replace") if log.exists() else ""
    pytest.fail(f"timed out waiting until {what}:\n{output[-4000:]}")


@pytest.mark.timeout(150)
def test_it_opens_and_resolves_an_automatic_incident_on_a_real_worker(
    transactional_db: None,
    start_worker: Callable[..., Any],
    target: str,
    tmp_path: Path,
) -> None:
    login = make_component(name="Login/logout path")
    probe_create(
        name="Sign-in page",
        kind="http",
        component=login,
        config={"url": target},
        interval_seconds=1,
        timeout_seconds=2,
        failures_to_down=2,
        successes_to_up=2,
    )
    from redis import Redis

    Redis.from_url(BROKER).flushdb()
    start_worker(
        "default,dispatch,probes.local",
        beat=True,
        CELERY_BROKER_URL=BROKER,
        PROBE_REGIONS="local",
        AUTO_RESOLVE_AFTER_SECONDS="2",
        AUTO_RESOLVE_CHECK_SECONDS="1",
    )
    log = tmp_path / "worker.log"

    def component() -> Component:
        return Component.objects.get(pk=login.pk)

    def automatic() -> Incident | None:
        return Incident.objects.filter(origin="automatic").first()

    wait_for(lambda: login.probes.get().results.exists(), log, "the probe ran")
    assert component().status == "operational"
    assert automatic() is None

    Switchable.healthy.clear()
    wait_for(lambda: component().status == "major_outage", log, "the outage shows")
    incident = automatic()
    assert incident is not None
    assert incident.name == "Login/logout path down"
    assert incident.status == "investigating"

    Switchable.healthy.set()
    wait_for(
        lambda: Incident.objects.get(pk=incident.pk).status == "resolved",
        log,
        "the incident resolves",
    )
    assert component().status == "operational"
    statuses = list(
        Incident.objects.get(pk=incident.pk)
        .updates.order_by("display_at", "id")
        .values_list("status", flat=True)
    )
    assert statuses == ["investigating", "monitoring", "resolved"]
    Redis.from_url(BROKER).flushdb()
