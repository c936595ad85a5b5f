"""Slack's and Teams' incoming-webhook URLs are credentials: whoever reads one can
post to the channel. The console shows them masked to every member of staff (the
whole URL was shown once, at sign-up), and never finds them by their secret part."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse

from notifications.models import Channel, Subscriber
from tests.notifications.test_console import (
    DELIVERIES,
    SUBSCRIBERS,
    change_url,
    make_delivery,
    make_event,
    make_subscriber,
    make_webhook,
    page,  # noqa: F401 - the page every console test has
)

pytestmark = pytest.mark.django_db

SLACK = "https://hooks.slack.com/services/T0ACME/B0OPS/s3cr3tSlackTokenXYZ"
TEAMS = (
    "https://acme.webhook.office.com/webhookb2/0a1b2c3d@4e5f/IncomingWebhook/"
    "s3cr3tTeamsToken/6a7b"
)
SECRETS = ("s3cr3tSlackTokenXYZ", "s3cr3tTeamsToken", "T0ACME/B0OPS")


def viewer() -> Client:
    """Staff who may only view subscribers, events and deliveries."""
    user = User.objects.create_user("viewer", password="x", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(
            codename__in=["view_subscriber", "view_event", "view_delivery"]
        )
    )
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def chat() -> list[Subscriber]:
    return [
        make_subscriber(channel=Channel.SLACK, email="", url=SLACK),
        make_subscriber(channel=Channel.TEAMS, email="", url=TEAMS),
    ]


def assert_masked(html: str) -> None:
    for secret in SECRETS:
        assert secret not in html


@pytest.mark.parametrize("who", ["viewer", "superuser"])
def test_it_masks_chat_urls_on_every_console_page(
    who: str, chat: list[Subscriber], admin_client: Client
) -> None:
    client = viewer() if who == "viewer" else admin_client
    slack, teams = chat
    event = make_event()
    delivery = make_delivery(event=event, subscriber=slack)
    make_delivery(event=event, subscriber=teams)

    for url in (
        SUBSCRIBERS,
        change_url(slack),
        change_url(teams),
        DELIVERIES,
        change_url(delivery),
        change_url(event),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert_masked(response.content.decode())
    listed = client.get(SUBSCRIBERS).content.decode()
    assert "https://hooks.slack.com/services/T0…" in listed
    assert "https://acme.webhook.office.com/webhookb2/0…" in listed


def test_it_keeps_the_url_out_of_the_console_s_action_log(
    admin_client: Client, chat: list[Subscriber]
) -> None:
    slack, _ = chat
    admin_client.post(change_url(slack), {"_action": "unsubscribe"})

    recent = admin_client.get(reverse("admin:index")).content.decode()
    history_url = reverse("admin:notifications_subscriber_history", args=[slack.pk])
    history = admin_client.get(history_url).content.decode()

    assert "Slack: https://hooks.slack.com/services/T0…" in recent
    assert_masked(recent)
    assert "Unsubscribed" in history
    assert_masked(history)


def test_it_finds_no_chat_subscriber_by_its_secret(chat: list[Subscriber]) -> None:
    client = viewer()
    webhook = make_webhook(url="https://hooks.acme.test/status-receiver")
    make_delivery(subscriber=webhook)

    for secret in SECRETS:
        found = client.get(SUBSCRIBERS, {"q": secret}).context["cl"].result_list
        deliveries = client.get(DELIVERIES, {"q": secret}).context["cl"].result_list
        assert list(found) == [] and list(deliveries) == [], secret
    by_url = client.get(SUBSCRIBERS, {"q": "status-receiver"}).context["cl"]
    assert list(by_url.result_list) == [webhook]
    by_delivery = client.get(DELIVERIES, {"q": "status-receiver"}).context["cl"]
    assert [d.subscriber for d in by_delivery.result_list] == [webhook]
