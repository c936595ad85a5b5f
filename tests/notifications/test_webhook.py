"""Webhooks end to end on a real receiver: Statuspage bodies, Standard Webhooks
signatures checked with the ``standardwebhooks`` package, and how each answer is
sorted (delivered, retried, given up)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.utils import timezone
from standardwebhooks.webhooks import Webhook as Verifier

from incidents import services
from notifications.models import Delivery, DeliveryState, Subscriber
from notifications.services import delivery as deliveries
from notifications.transports.webhook import Webhook
from tests.conftest import make_component, make_incident, make_page
from tests.notifications.receivers import (
    Hit,
    Receiver,
    batch_of,
    event_of,
    make_delivery,
    make_url_subscriber,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("allow_private_targets")]

INCIDENT_FIELDS = {
    "id",
    "name",
    "status",
    "impact",
    "created_at",
    "updated_at",
    "started_at",
    "monitoring_at",
    "resolved_at",
    "shortlink",
    "page_id",
    "incident_updates",
    "components",
}


def verified(hit: Hit, secret: str) -> Any:
    """The body, once the package receivers use has accepted its signature."""
    return Verifier(secret).verify(hit.body, hit.headers)


def webhook_to(receiver: Receiver, path: str = "/hook") -> tuple[Subscriber, str]:
    subscriber, secret = make_url_subscriber(receiver.url(path))
    assert secret is not None
    return subscriber, secret


def test_it_posts_a_signed_incident_event_in_statuspage_shape(
    receiver: Receiver,
) -> None:
    make_page(name="Acme", url="https://status.acme.test")
    api = make_component(name="API")
    subscriber, secret = webhook_to(receiver)
    incident = make_incident(
        name="API errors",
        body="Looking into it.",
        component_statuses={api: "major_outage"},
    )
    delivery = make_delivery(event_of("incident.created"), subscriber)

    [result] = Webhook().send(batch_of(delivery))

    assert (result.ok, result.status_code, result.response) == (True, 200, "ok")
    assert result.duration_ms is not None and result.duration_ms > 0
    [hit] = receiver.hits
    body = verified(hit, secret)
    assert (
        hit.headers["webhook-id"] == delivery.webhook_id == f"msg_{delivery.public_id}"
    )
    assert abs(int(hit.headers["webhook-timestamp"]) - time.time()) < 60
    assert hit.headers["Content-Type"] == "application/json"
    assert "Heliograph" in hit.headers["User-Agent"]
    assert (
        hit.body == json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    )
    assert set(body) == {"meta", "page", "incident"}
    assert set(body["meta"]) == {"unsubscribe", "documentation", "generated_at"}
    assert body["meta"]["unsubscribe"].startswith("https://status.acme.test/")
    assert set(body["page"]) == {"id", "status_indicator", "status_description"}
    assert body["page"]["status_indicator"] == "critical"
    assert INCIDENT_FIELDS <= set(body["incident"])
    assert body["incident"]["id"] == incident.public_id
    assert (body["incident"]["name"], body["incident"]["status"]) == (
        "API errors",
        "investigating",
    )
    [update] = body["incident"]["incident_updates"]
    assert (update["body"], update["status"]) == ("Looking into it.", "investigating")
    [component] = body["incident"]["components"]
    assert (component["name"], component["status"]) == ("API", "major_outage")


def test_it_posts_a_component_event_in_statuspage_shape(receiver: Receiver) -> None:
    make_page()
    api = make_component(name="API")
    subscriber, secret = webhook_to(receiver)
    services.component_set_status(
        component=api, status="degraded_performance", source="api"
    )
    delivery = make_delivery(event_of("component.updated"), subscriber)

    [result] = Webhook().send(batch_of(delivery))

    assert result.ok
    body = verified(receiver.hits[0], secret)
    assert set(body) == {"meta", "page", "component", "component_update"}
    assert (body["component"]["id"], body["component"]["status"]) == (
        api.public_id,
        "degraded_performance",
    )
    update = body["component_update"]
    assert set(update) == {
        "id",
        "component_id",
        "component_type",
        "old_status",
        "new_status",
        "created_at",
    }
    assert (update["component_type"], update["component_id"]) == (
        "Component",
        api.public_id,
    )
    assert (update["old_status"], update["new_status"]) == (
        "operational",
        "degraded_performance",
    )


def test_it_keeps_the_webhook_id_when_a_delivery_is_retried(
    receiver: Receiver,
) -> None:
    """Through the delivery service: the first try gets a 500, the retry a 200."""
    make_page()
    subscriber, secret = webhook_to(receiver, "/flaky/1")
    make_incident(name="Outage")
    planned = make_delivery(event_of("incident.created"), subscriber)

    deliveries.deliveries_send(delivery_ids=[planned.pk])
    planned.refresh_from_db()
    assert (planned.state, planned.attempts) == (DeliveryState.PENDING, 1)
    Delivery.objects.filter(pk=planned.pk).update(next_attempt_at=timezone.now())
    deliveries.deliveries_send(delivery_ids=[planned.pk])

    planned.refresh_from_db()
    assert planned.state == DeliveryState.DELIVERED
    first, second = receiver.hits
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.headers["webhook-id"] == planned.webhook_id
    assert verified(first, secret)["incident"] == verified(second, secret)["incident"]
    failed, delivered = planned.attempt_log.order_by("number")
    assert (failed.status_code, failed.response, failed.permanent) == (
        500,
        "try again",
        False,
    )
    assert (delivered.status_code, delivered.succeeded) == (200, True)


def test_it_gives_up_on_a_receiver_that_answers_410_gone(receiver: Receiver) -> None:
    make_page()
    subscriber, _ = webhook_to(receiver, "/gone")
    make_incident(name="Outage")
    delivery = make_delivery(event_of("incident.created"), subscriber)

    [result] = Webhook().send(batch_of(delivery))

    assert (result.ok, result.permanent, result.status_code) == (False, True, 410)
    assert "gone" in result.error
    assert result.response == "this hook was deleted"


def test_it_retries_a_receiver_that_answers_500(receiver: Receiver) -> None:
    make_page()
    subscriber, _ = webhook_to(receiver, "/fail")
    make_incident(name="Outage")
    delivery = make_delivery(event_of("incident.created"), subscriber)

    [result] = Webhook().send(batch_of(delivery))

    assert (result.ok, result.permanent, result.status_code) == (False, False, 500)
    assert (result.error, result.response) == ("answered 500", "boom")


def test_it_does_not_follow_a_redirect(receiver: Receiver) -> None:
    make_page()
    subscriber, _ = webhook_to(receiver, "/redirect")
    make_incident(name="Outage")
    delivery = make_delivery(event_of("incident.created"), subscriber)

    [result] = Webhook().send(batch_of(delivery))

    assert (result.ok, result.permanent, result.status_code) == (False, False, 307)
    assert "redirects are not followed" in result.error
    assert len(receiver.hits_on("/redirect")) == 1
    assert receiver.hits_on("/target") == []


def test_it_times_out_hanging_receivers_while_the_others_are_delivered(
    receiver: Receiver, settings: Any
) -> None:
    """A tenth of the batch never answers; the rest is delivered, and the hanging
    requests wait side by side (one timeout for the batch, not one per receiver)."""
    settings.NOTIFICATIONS_WEBHOOK_TIMEOUT_SECONDS = 1
    make_page()
    make_incident(name="Outage")
    event = event_of("incident.created")
    batch = []
    for n in range(40):
        path = f"/hang/{n}" if n % 10 == 3 else f"/hook/{n}"
        batch.append(make_delivery(event, webhook_to(receiver, path)[0]))

    results = Webhook().send(batch_of(*batch))

    hanging = [
        r for d, r in zip(batch, results, strict=True) if "/hang/" in d.subscriber.url
    ]
    answered = [
        r for d, r in zip(batch, results, strict=True) if "/hook/" in d.subscriber.url
    ]
    assert len(hanging) == 4 and len(answered) == 36
    assert all(r.ok for r in answered)
    assert {(r.ok, r.permanent, r.error) for r in hanging} == {
        (False, False, "timed out after 1 s")
    }
    assert receiver.most_hanging == 4  # all open at once: sent side by side
    assert len(receiver.hits) == 40


def test_it_reads_only_the_start_of_a_long_answer(receiver: Receiver) -> None:
    make_page()
    subscriber, _ = webhook_to(receiver, "/big")
    make_incident(name="Outage")
    delivery = make_delivery(event_of("incident.created"), subscriber)

    [result] = Webhook().send(batch_of(delivery))

    assert result.ok
    assert result.response == "x" * 300


def test_it_retries_when_nothing_listens(receiver: Receiver) -> None:
    make_page()
    subscriber, _ = webhook_to(receiver)
    subscriber.url = "http://127.0.0.1:9/hook"  # the discard port: closed here
    subscriber.save(update_fields=["url"])
    make_incident(name="Outage")
    delivery = make_delivery(event_of("incident.created"), subscriber)

    [result] = Webhook().send(batch_of(delivery))

    assert (result.ok, result.permanent, result.status_code) == (False, False, None)
    assert result.error == "could not connect to 127.0.0.1:9: connection refused"


def test_it_answers_each_delivery_of_a_batch_in_order(receiver: Receiver) -> None:
    make_page()
    make_incident(name="Outage")
    event = event_of("incident.created")
    paths = ["/hook/a", "/gone", "/fail", "/hook/b", "/redirect"]
    batch = [make_delivery(event, webhook_to(receiver, p)[0]) for p in paths]

    results = Webhook().send(batch_of(*batch))

    assert [r.status_code for r in results] == [200, 410, 500, 200, 307]
    assert [r.permanent for r in results] == [False, True, False, False, False]
    ids = {hit.headers["webhook-id"] for hit in receiver.hits}
    assert ids == {d.webhook_id for d in batch}


def test_it_sends_nothing_for_an_empty_batch() -> None:
    assert Webhook().send([]) == []
