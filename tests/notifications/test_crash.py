"""A worker killed with SIGKILL in the middle of a fan-out loses nothing: after a
restart every subscriber has its message, and a repeat carries the same id."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from notifications.models import Delivery, DeliveryState, Subscriber
from notifications.subscribers import subscriber_subscribe
from statuspage.celery import app
from tests.conftest import make_incident

SUBSCRIBERS = 200
RECEIVED: dict[str, set[str]] = defaultdict(set)  # path -> webhook-ids seen
LOCK = threading.Lock()


class SlowReceiver(BaseHTTPRequestHandler):
    """Answers every webhook after a short wait, so the fan-out takes a while."""

    def do_POST(self) -> None:  # noqa: N802 (the http.server API)
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        time.sleep(0.3)
        with LOCK:
            RECEIVED[self.path].add(self.headers["webhook-id"])
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    RECEIVED.clear()
    server = ThreadingHTTPServer(("127.0.0.1", 0), SlowReceiver)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def wait_for(condition: Callable[[], bool], log: Path, what: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    output = log.read_text(errors="replace") if log.exists() else ""
    pytest.fail(f"timed out waiting until {what}:\n{output[-4000:]}")


def received() -> int:
    with LOCK:
        return len(RECEIVED)


@pytest.mark.timeout(180)
def test_it_delivers_to_everyone_after_a_worker_is_killed_mid_fan_out(
    transactional_db: None,
    settings: Any,
    start_worker: Callable[..., Any],
    receiver: str,
    tmp_path: Path,
    notifications_queue: None,
) -> None:
    settings.NOTIFICATIONS_ALLOW_PRIVATE_TARGETS = True
    for number in range(SUBSCRIBERS):
        subscriber_subscribe(
            channel="webhook", url=f"{receiver}/hook/{number}", email="ops@example.com"
        )
    with app.connection_for_write() as connection:
        connection.default_channel.queue_declare("notifications", passive=False)
        connection.default_channel.queue_purge("notifications")
    worker_env = {
        "NOTIFICATIONS_ALLOW_PRIVATE_TARGETS": "true",
        "NOTIFICATIONS_BATCH_SIZE": "10",
        # Webhooks go out a batch at a time: small batches, or all 200 are posted at
        # once and finish together, before the kill can land mid fan-out.
        "NOTIFICATIONS_URL_BATCH_SIZE": "10",
        "NOTIFICATIONS_SWEEP_GRACE_SECONDS": "2",
        "NOTIFICATIONS_CLAIM_TIMEOUT_SECONDS": "2",
        "DELIVERIES_SWEEP_SECONDS": "1",
        "PROBES_DISPATCH_SECONDS": "3600",
    }
    log = tmp_path / "worker.log"
    first = start_worker("notifications", **worker_env)

    make_incident(name="Everything is slow")  # commits: the fan-out is queued
    wait_for(lambda: received() >= 30, log, "the first deliveries arrived")
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    assert received() < SUBSCRIBERS, "the worker finished before it was killed"

    start_worker("notifications", beat=True, **worker_env)
    wait_for(lambda: received() == SUBSCRIBERS, log, "every subscriber had its message")
    wait_for(
        lambda: not Delivery.objects.exclude(state=DeliveryState.DELIVERED).exists(),
        log,
        "every delivery was recorded as delivered",
    )

    with LOCK:
        ids_per_subscriber = {path: set(ids) for path, ids in RECEIVED.items()}
    # Each subscriber saw one webhook-id, however many times it was sent.
    assert all(len(ids) == 1 for ids in ids_per_subscriber.values())
    expected = {
        f"/hook/{number}": delivery.webhook_id
        for number, delivery in enumerate(
            Delivery.objects.select_related("subscriber").order_by("subscriber_id")
        )
    }
    assert {path: ids.pop() for path, ids in ids_per_subscriber.items()} == expected
    assert Subscriber.objects.filter(state="active").count() == SUBSCRIBERS
