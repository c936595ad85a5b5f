"""A worker killed with SIGKILL in the middle of a fan-out loses nothing: after a
restart every subscriber has its message, and a repeat carries the same id. A
worker killed while a receiver holds its request has its claim returned within
seconds (its heartbeat stopped), and leaves its attempt recorded as interrupted."""

from __future__ import annotations

import datetime as dt
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
from django.db import connections

from notifications.models import Attempt, Delivery, DeliveryState, Event, Subscriber
from notifications.services.delivery import (
    deliveries_send,
    deliveries_sweep,
    event_fan_out,
)
from notifications.services.subscribers import subscriber_subscribe
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


@pytest.mark.outage  # it kills its worker
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
        "NOTIFICATIONS_HEARTBEAT_SECONDS": "1",
        "NOTIFICATIONS_CLAIM_TIMEOUT_SECONDS": "3",
        "DELIVERIES_SWEEP_SECONDS": "1",
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


class HoldingReceiver(BaseHTTPRequestHandler):
    """Holds each request until ``RELEASE`` is set, then answers 200: the worker
    sending it waits, as on a slow receiver, and can be killed mid-send."""

    def do_POST(self) -> None:  # noqa: N802 (the http.server API)
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with LOCK:
            HELD.append(self.headers["webhook-id"])
        RELEASE.wait(30)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


HELD: list[str] = []  # the webhook-id of every request received, in order
RELEASE = threading.Event()


@pytest.fixture
def holding_receiver() -> Iterator[str]:
    HELD.clear()
    RELEASE.clear()
    server = ThreadingHTTPServer(("127.0.0.1", 0), HoldingReceiver)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hook"
    RELEASE.set()
    server.shutdown()
    server.server_close()


def held() -> list[str]:
    with LOCK:
        return list(HELD)


@pytest.mark.outage  # it kills its worker
@pytest.mark.timeout(120)
def test_it_sends_again_within_seconds_what_a_killed_worker_was_sending(
    transactional_db: None,
    settings: Any,
    start_worker: Callable[..., Any],
    holding_receiver: str,
    tmp_path: Path,
    notifications_queue: None,
) -> None:
    # The default heartbeat and claim timeout: the ones a deployment runs with.
    settings.NOTIFICATIONS_ALLOW_PRIVATE_TARGETS = True
    subscriber_subscribe(channel="webhook", url=holding_receiver, email="o@acme.test")
    with app.connection_for_write() as connection:
        connection.default_channel.queue_declare("notifications", passive=False)
        connection.default_channel.queue_purge("notifications")
    worker_env = {
        "NOTIFICATIONS_ALLOW_PRIVATE_TARGETS": "true",
    }
    log = tmp_path / "worker.log"
    first = start_worker("notifications", **worker_env)

    make_incident(name="Everything is slow")
    wait_for(lambda: len(held()) == 1, log, "the receiver held the first request")
    # The attempt was recorded before the request went out.
    started = Attempt.objects.get()
    assert (started.number, started.finished_at) == (1, None)
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    RELEASE.set()  # from now on the receiver answers at once

    # Another worker, with beat and its sweep at the default interval.
    start_worker("notifications", beat=True, **worker_env)
    wait_for(
        lambda: Delivery.objects.filter(state=DeliveryState.DELIVERED).exists(),
        log,
        "the delivery was sent again and recorded as delivered",
    )

    delivery = Delivery.objects.get()
    assert held() == [delivery.webhook_id] * 2  # the receiver can drop the repeat
    assert delivery.attempts == 2
    first_try, second_try = delivery.attempt_log.order_by("number")
    assert first_try.interrupted and not first_try.succeeded
    assert first_try.error.startswith("Interrupted: the worker stopped")
    assert second_try.succeeded and not second_try.interrupted
    assert second_try.status_code == 200
    assert Subscriber.objects.get().state == "active"  # no failure counted


@pytest.mark.timeout(60)
def test_it_keeps_a_live_worker_s_claim_while_a_receiver_holds_it(
    transactional_db: None,
    settings: Any,
    holding_receiver: str,
    notifications_queue: None,
) -> None:
    settings.NOTIFICATIONS_ALLOW_PRIVATE_TARGETS = True
    settings.NOTIFICATIONS_HEARTBEAT_SECONDS = 1
    settings.NOTIFICATIONS_CLAIM_TIMEOUT_SECONDS = 3
    subscriber_subscribe(channel="webhook", url=holding_receiver, email="o@acme.test")
    make_incident(name="Everything is slow")
    event_fan_out(event_id=Event.objects.get().pk)  # in this process, no worker
    delivery = Delivery.objects.get()

    def send() -> None:  # as a worker would, on a connection of its own
        try:
            deliveries_send(delivery_ids=[delivery.pk])
        finally:
            connections.close_all()

    sending = threading.Thread(target=send)
    sending.start()
    try:
        wait_for(lambda: len(held()) == 1, Path("/dev/null"), "the request was held")
        claimed_at = Delivery.objects.get().claimed_at
        assert claimed_at is not None
        # Past the claim timeout, as the sweep's clock sees it: only a heartbeat
        # newer than the claim keeps it.
        wait_for(
            lambda: (
                (Delivery.objects.get().heartbeat_at or claimed_at)
                > claimed_at + dt.timedelta(seconds=3)
            ),
            Path("/dev/null"),
            "the sending worker refreshed its claim past the timeout",
        )
        deliveries_sweep()
        assert Delivery.objects.get().state == DeliveryState.SENDING
    finally:
        RELEASE.set()
        sending.join()

    assert Delivery.objects.get().state == DeliveryState.DELIVERED
    assert held() == [delivery.webhook_id]
    assert [(a.number, a.interrupted) for a in Attempt.objects.all()] == [(1, False)]
