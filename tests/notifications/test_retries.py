"""Retries, giving up, 410 Gone and quarantine, against a real failing receiver."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from incidents import services
from notifications.models import Delivery, DeliveryState, Event, SubscriberState
from notifications.services import delivery
from notifications.services.subscribers import subscriber_reactivate
from tests.conftest import make_incident
from tests.notifications.receivers import Receiver, make_url_subscriber

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("allow_private_targets")]


def publish(count: int = 1) -> list[Event]:
    incident = make_incident()
    for _ in range(count - 1):
        services.incident_post_update(incident=incident, status="identified")
    events = list(Event.objects.order_by("pk"))
    for event in events:
        delivery.event_fan_out(event_id=event.pk)
    return events


def send_due() -> None:
    due = Delivery.objects.filter(
        state=DeliveryState.PENDING, next_attempt_at__lte=timezone.now()
    )
    delivery.deliveries_send(delivery_ids=list(due.values_list("pk", flat=True)))


def test_it_retries_a_failing_receiver_with_growing_waits(
    receiver: Receiver, notifications_queue: None
) -> None:
    make_url_subscriber(receiver.url("/fail"))
    publish()
    planned = Delivery.objects.get()
    waits = []
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for _ in range(4):
            send_due()
            planned.refresh_from_db()
            waits.append((planned.next_attempt_at - timezone.now()).total_seconds())
            clock.move_to(planned.next_attempt_at)
    assert planned.state == DeliveryState.PENDING
    assert planned.attempts == 4
    assert waits == sorted(waits), "each wait is longer than the one before"
    assert 4 <= waits[0] <= 6 and 1440 <= waits[3] <= 2160
    assert len(receiver.hits_on("/fail")) == 4
    assert [a.status_code for a in planned.attempt_log.all()] == [500] * 4


def test_it_gives_up_after_the_last_retry(
    receiver: Receiver, notifications_queue: None
) -> None:
    subscriber, _ = make_url_subscriber(receiver.url("/fail"))
    publish()
    planned = Delivery.objects.get()
    Delivery.objects.filter(pk=planned.pk).update(attempts=len(delivery.RETRY_DELAYS))

    send_due()

    planned.refresh_from_db()
    assert planned.state == DeliveryState.FAILED
    assert "500" in planned.last_error or planned.attempt_log.get().status_code == 500


def test_it_forgets_a_receiver_that_answers_gone(
    receiver: Receiver, notifications_queue: None
) -> None:
    subscriber, _ = make_url_subscriber(receiver.url("/gone"))
    publish(count=2)
    first, second = Delivery.objects.order_by("pk")

    delivery.deliveries_send(delivery_ids=[first.pk])

    subscriber.refresh_from_db()
    assert subscriber.state == SubscriberState.UNSUBSCRIBED
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.state == DeliveryState.FAILED
    assert second.state == DeliveryState.CANCELLED
    assert len(receiver.hits_on("/gone")) == 1


def test_it_quarantines_a_webhook_after_ten_failures_in_an_hour(
    receiver: Receiver,
    smtp_server: Any,
    notifications_queue: None,
    django_capture_on_commit_callbacks: Any,
    settings: Any,
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    subscriber, _ = make_url_subscriber(
        receiver.url("/fail"), email="hooks-owner@example.com"
    )
    publish(count=10)
    with django_capture_on_commit_callbacks(execute=True):
        for planned in Delivery.objects.order_by("pk")[:9]:
            delivery.deliveries_send(delivery_ids=[planned.pk])
        subscriber.refresh_from_db()
        assert subscriber.state == SubscriberState.ACTIVE  # nine is not ten
        last = Delivery.objects.order_by("pk").last()
        assert last is not None
        delivery.deliveries_send(delivery_ids=[last.pk])

    subscriber.refresh_from_db()
    assert subscriber.state == SubscriberState.QUARANTINED
    told = smtp_server.to("hooks-owner@example.com")
    assert len(told) == 1 and "paused" in told[0]["Subject"]
    # Nothing more is sent to a quarantined webhook.
    hits = len(receiver.hits_on("/fail"))
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=10)):
        send_due()
    assert len(receiver.hits_on("/fail")) == hits

    subscriber_reactivate(subscriber=subscriber)
    subscriber.refresh_from_db()
    assert subscriber.state == SubscriberState.ACTIVE


def test_it_does_not_count_failures_older_than_an_hour(
    receiver: Receiver, notifications_queue: None
) -> None:
    subscriber, _ = make_url_subscriber(receiver.url("/fail"))
    publish(count=10)
    plans = list(Delivery.objects.order_by("pk"))
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for planned in plans[:5]:
            delivery.deliveries_send(delivery_ids=[planned.pk])
    with time_machine.travel(start + dt.timedelta(hours=2), tick=False):
        for planned in plans[5:]:
            delivery.deliveries_send(delivery_ids=[planned.pk])
    subscriber.refresh_from_db()
    assert subscriber.state == SubscriberState.ACTIVE
