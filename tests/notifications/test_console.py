"""Subscribers, events and deliveries in the staff console, signed in as staff.

Events, deliveries and attempts are history written by the delivery machinery; the
tests build them with the ORM as fixtures.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from notifications.models import (
    Attempt,
    Channel,
    Delivery,
    DeliveryState,
    Event,
    Subscriber,
    SubscriberState,
    new_signing_secret,
)
from tests.conftest import make_page

pytestmark = pytest.mark.django_db

SUBSCRIBERS = reverse("admin:notifications_subscriber_changelist")
EVENTS = reverse("admin:notifications_event_changelist")
DELIVERIES = reverse("admin:notifications_delivery_changelist")
LISTS = [SUBSCRIBERS, EVENTS, DELIVERIES]


@pytest.fixture(autouse=True)
def page() -> None:
    make_page(name="Acme")


def make_subscriber(**overrides: Any) -> Subscriber:
    fields: dict[str, Any] = {
        "channel": Channel.EMAIL,
        "email": f"reader{Subscriber.objects.count()}@acme.test",
        "state": SubscriberState.ACTIVE,
        "confirmed_at": timezone.now(),
    }
    fields.update(overrides)
    return Subscriber.objects.create(**fields)


def make_webhook(**overrides: Any) -> Subscriber:
    fields: dict[str, Any] = {
        "channel": Channel.WEBHOOK,
        "email": "ops@acme.test",
        "url": "https://hooks.acme.test/status",
        "signing_secret": new_signing_secret(),
    }
    fields.update(overrides)
    return make_subscriber(**fields)


def make_event(**overrides: Any) -> Event:
    fields: dict[str, Any] = {
        "kind": "incident.created",
        "subject": "[Acme] Elevated error rates",
        "payload": {"incident": {"name": "Elevated error rates"}},
        "fanned_out_at": timezone.now(),
    }
    fields.update(overrides)
    return Event.objects.create(**fields)


def make_delivery(
    event: Event | None = None, subscriber: Subscriber | None = None, **overrides: Any
) -> Delivery:
    fields: dict[str, Any] = {
        "event": event or make_event(),
        "subscriber": subscriber or make_webhook(),
    }
    fields.update(overrides)
    return Delivery.objects.create(**fields)


def make_attempt(delivery: Delivery, **overrides: Any) -> Attempt:
    fields: dict[str, Any] = {
        "delivery": delivery,
        "number": delivery.attempt_log.count() + 1,
        "status_code": 503,
        "response": "Service Unavailable",
        "error": "HTTP 503",
    }
    fields.update(overrides)
    return Attempt.objects.create(**fields)


def failed_delivery(**overrides: Any) -> Delivery:
    delivery = make_delivery(
        state=DeliveryState.FAILED, attempts=1, last_error="HTTP 410", **overrides
    )
    make_attempt(delivery, status_code=410, response="Gone", permanent=True)
    return delivery


def change_url(obj: Subscriber | Event | Delivery) -> str:
    return reverse(f"admin:notifications_{obj._meta.model_name}_change", args=[obj.pk])


def shown(response: Any) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def queries_for(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


# Lists --------------------------------------------------------------------------------


def test_it_lists_subscribers_with_their_channel_scope_and_state(
    admin_client: Client,
) -> None:
    make_subscriber(email="reader@acme.test", state=SubscriberState.PENDING)
    make_webhook(url="https://hooks.acme.test/quiet", state=SubscriberState.QUARANTINED)

    html = admin_client.get(SUBSCRIBERS).content.decode()

    assert "reader@acme.test" in html
    assert "Awaiting confirmation" in html
    assert "https://hooks.acme.test/quiet" in html
    assert "Quarantined" in html
    assert "Everything on the page" in html


def test_it_filters_and_searches_subscribers(admin_client: Client) -> None:
    make_subscriber(email="reader@acme.test")
    make_webhook(url="https://hooks.acme.test/quiet", state=SubscriberState.QUARANTINED)

    quarantined = admin_client.get(SUBSCRIBERS, {"state__exact": "quarantined"})
    found = admin_client.get(SUBSCRIBERS, {"q": "reader@"})

    assert [s.channel for s in quarantined.context["cl"].result_list] == ["webhook"]
    assert [s.email for s in found.context["cl"].result_list] == ["reader@acme.test"]


def test_it_lists_events_with_their_deliveries_by_state(admin_client: Client) -> None:
    event = make_event(subject="[Acme] Database upgrade")
    for _ in range(2):
        make_delivery(event, state=DeliveryState.DELIVERED)
    failed_delivery(event=event)

    html = admin_client.get(EVENTS).content.decode()

    assert "[Acme] Database upgrade" in html
    assert "2 delivered" in html
    assert "1 failed" in html
    assert f"event__id__exact={event.pk}&amp;state__exact=failed" in html


def test_it_filters_deliveries_by_state_and_channel(admin_client: Client) -> None:
    failed = failed_delivery()
    make_delivery(subscriber=make_subscriber(), state=DeliveryState.DELIVERED)

    by_state = admin_client.get(DELIVERIES, {"state__exact": "failed"})
    by_channel = admin_client.get(DELIVERIES, {"subscriber__channel": "webhook"})

    assert list(by_state.context["cl"].result_list) == [failed]
    assert list(by_channel.context["cl"].result_list) == [failed]


@pytest.mark.parametrize(
    ("url", "make_rows"),
    [
        (SUBSCRIBERS, lambda n: [make_webhook() for _ in range(n)]),
        (DELIVERIES, lambda n: [failed_delivery() for _ in range(n)]),
        (EVENTS, lambda n: [failed_delivery() for _ in range(n)]),
    ],
)
def test_it_lists_in_a_constant_number_of_queries(
    admin_client: Client, url: str, make_rows: Callable[[int], list[Any]]
) -> None:
    make_rows(3)
    few = queries_for(admin_client, url)

    make_rows(17)

    assert queries_for(admin_client, url) == few


# Acting through the services ----------------------------------------------------------


def test_it_resends_a_failed_delivery_with_the_same_id(
    admin_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    delivery = failed_delivery()

    with django_capture_on_commit_callbacks() as queued:
        response = admin_client.post(
            DELIVERIES, {"action": "resend", "_selected_action": [delivery.pk]}
        )

    resent = Delivery.objects.get(pk=delivery.pk)
    assert resent.state == DeliveryState.PENDING
    assert resent.public_id == delivery.public_id
    assert resent.next_attempt_at <= timezone.now()
    assert len(queued) == 1
    assert shown(response) == ["Resent: 1 delivery."]


def test_it_resends_from_the_event_page(
    admin_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    delivery = failed_delivery()

    with django_capture_on_commit_callbacks() as queued:
        response = admin_client.post(
            change_url(delivery.event), {"_resend": delivery.pk}
        )

    assert response.status_code == 302
    assert Delivery.objects.get(pk=delivery.pk).state == DeliveryState.PENDING
    assert len(queued) == 1


@pytest.mark.parametrize("chosen", ["not-a-number", "0"])
def test_it_resends_only_a_delivery_of_the_page(
    admin_client: Client, chosen: str
) -> None:
    delivery = failed_delivery()
    failed_elsewhere = failed_delivery()

    for value in (chosen, str(failed_elsewhere.pk)):
        response = admin_client.post(change_url(delivery.event), {"_resend": value})
        assert response.status_code == 302
        assert shown(response)[-1] == "No such delivery here."
    assert Delivery.objects.get(pk=failed_elsewhere.pk).state == DeliveryState.FAILED


def test_it_reactivates_a_quarantined_webhook(admin_client: Client) -> None:
    webhook = make_webhook(
        state=SubscriberState.QUARANTINED, quarantined_at=timezone.now()
    )
    page = admin_client.get(change_url(webhook)).content.decode()
    assert 'name="_action" value="reactivate"' in page

    response = admin_client.post(change_url(webhook), {"_action": "reactivate"})

    webhook.refresh_from_db()
    assert webhook.state == SubscriberState.ACTIVE
    assert webhook.quarantined_at is None
    assert shown(response) == ["Reactivated: 1 subscriber."]


@pytest.mark.parametrize("where", ["change page", "list action"])
def test_it_refuses_to_reactivate_a_subscriber_that_is_not_quarantined(
    admin_client: Client, where: str
) -> None:
    webhook = make_webhook(state=SubscriberState.ACTIVE)

    if where == "change page":
        response = admin_client.post(change_url(webhook), {"_action": "reactivate"})
    else:
        response = admin_client.post(
            SUBSCRIBERS, {"action": "reactivate", "_selected_action": [webhook.pk]}
        )

    assert response.status_code == 302
    assert shown(response) == [
        f"{webhook}: Only a quarantined subscriber can be reactivated."
    ]
    followed = admin_client.get(response["Location"]).content.decode()
    assert "Only a quarantined subscriber can be reactivated." in followed


def test_it_unsubscribes_and_cancels_what_was_planned(admin_client: Client) -> None:
    subscriber = make_subscriber()
    planned = make_delivery(subscriber=subscriber)

    admin_client.post(change_url(subscriber), {"_action": "unsubscribe"})

    subscriber.refresh_from_db()
    planned.refresh_from_db()
    assert subscriber.state == SubscriberState.UNSUBSCRIBED
    assert planned.state == DeliveryState.CANCELLED


def test_it_sends_a_test_event(
    admin_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    webhook = make_webhook()

    with django_capture_on_commit_callbacks() as queued:
        response = admin_client.post(change_url(webhook), {"_action": "send_test"})

    [delivery] = Delivery.objects.filter(subscriber=webhook)
    assert delivery.event.kind == "test"
    assert delivery.state == DeliveryState.PENDING
    assert len(queued) == 1
    assert shown(response) == ["Sent a test event to: 1 subscriber."]


# What staff see -----------------------------------------------------------------------


def test_it_never_shows_the_signing_secret_in_full(admin_client: Client) -> None:
    webhook = make_webhook()
    secret = webhook.signing_secret

    pages = [
        admin_client.get(url).content.decode()
        for url in (SUBSCRIBERS, change_url(webhook), f"{SUBSCRIBERS}?q=whsec_")
    ]

    assert all(secret not in html for html in pages)
    assert f"{secret[:10]}…" in pages[1]
    assert 'name="signing_secret"' not in pages[1]


@pytest.mark.parametrize("page_of", ["subscriber", "event", "delivery"])
def test_it_shows_each_attempt_and_its_answer(
    admin_client: Client, page_of: str
) -> None:
    delivery = make_delivery(state=DeliveryState.PENDING, attempts=2)
    make_attempt(delivery, status_code=503, response="Try later", error="HTTP 503")
    make_attempt(delivery, status_code=None, response="", error="Connection refused")
    obj = {
        "subscriber": delivery.subscriber,
        "event": delivery.event,
        "delivery": delivery,
    }[page_of]

    html = admin_client.get(change_url(obj)).content.decode()

    assert delivery.public_id in html
    assert "<td>503</td>" in html
    assert "Try later" in html
    assert "HTTP 503" in html
    assert "Connection refused" in html
    assert html.count('class="attempt"') == 2


def test_it_escapes_what_a_receiver_answered(admin_client: Client) -> None:
    delivery = make_delivery()
    make_attempt(delivery, response="<script>alert(1)</script>")

    html = admin_client.get(change_url(delivery.subscriber)).content.decode()

    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


@pytest.mark.parametrize(
    "url",
    [
        reverse("admin:notifications_event_add"),
        reverse("admin:notifications_delivery_add"),
        reverse("admin:notifications_subscriber_add"),
    ],
)
def test_it_adds_no_history_by_hand(admin_client: Client, url: str) -> None:
    assert admin_client.get(url).status_code == 403


def test_it_changes_no_history_by_hand(admin_client: Client) -> None:
    delivery = failed_delivery()

    page = admin_client.get(change_url(delivery)).content.decode()
    response = admin_client.post(change_url(delivery), {"state": "delivered"})

    assert 'name="_save"' not in page
    assert response.status_code == 403
    assert Delivery.objects.get(pk=delivery.pk).state == DeliveryState.FAILED


def test_it_edits_no_subscriber_field_by_hand(admin_client: Client) -> None:
    webhook = make_webhook()

    page = admin_client.get(change_url(webhook)).content.decode()
    admin_client.post(change_url(webhook), {"url": "https://evil.test/"})

    assert 'name="_save"' not in page
    assert Subscriber.objects.get(pk=webhook.pk).url == webhook.url


# Who may see it -----------------------------------------------------------------------


@pytest.mark.parametrize("url", LISTS)
def test_it_sends_visitors_and_non_staff_to_the_login_page(
    client: Client, url: str
) -> None:
    anonymous = client.get(url)
    client.force_login(User.objects.create_user("reader", password="x"))
    non_staff = client.get(url)

    for response in (anonymous, non_staff):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))
