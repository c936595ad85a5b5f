"""The public subscription pages: sign up, manage, unsubscribe, without JavaScript."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from pytest_httpserver import HTTPServer

from notifications.models import (
    Channel,
    Delivery,
    Scope,
    Subscriber,
    SubscriberState,
)
from notifications.tokens import CONFIRM, MANAGE, UNSUBSCRIBE, token_for
from tests.conftest import make_component, make_group, make_page

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("rate_limit_cache")]


def email_subscriber(**fields: Any) -> Subscriber:
    fields.setdefault("email", "ada@example.com")
    fields.setdefault("state", SubscriberState.ACTIVE)
    return Subscriber.objects.create(channel=Channel.EMAIL, **fields)


def unsubscribe_path(subscriber: Subscriber) -> str:
    return f"/subscriptions/unsubscribe/{token_for(subscriber, UNSUBSCRIBE)}"


def manage_path(subscriber: Subscriber) -> str:
    return f"/subscriptions/manage/{token_for(subscriber, MANAGE)}"


def text(response: Any) -> str:
    return response.content.decode()


def test_it_shows_the_form_with_components_grouped(client: Client) -> None:
    make_page(name="Acme")
    product = make_group(name="Acme product")
    make_component(name="API", group=product)
    make_component(name="Billing")

    response = client.get("/subscribe/")

    assert response.status_code == 200
    page = text(response)
    assert "Subscribe to Acme status updates" in page
    assert 'name="csrfmiddlewaretoken"' in page
    assert re.search(r'aria-label="Acme product components">\s*<li>.*?API', page, re.S)
    assert "Billing" in page
    assert 'href="/subscribe/" aria-current="page">Subscribe to updates' in page
    assert response["Cache-Control"].startswith("max-age=0")


def test_it_links_to_the_form_from_the_status_page(client: Client) -> None:
    make_page()

    assert 'href="/subscribe/"' in text(client.get("/"))


def test_it_stores_the_chosen_components_and_groups(client: Client) -> None:
    make_page()
    product = make_group(name="Acme product")
    make_component(name="API", group=product)
    billing = make_component(name="Billing")

    response = client.post(
        "/subscribe/",
        {
            "channel": "email",
            "email": "Ada@Example.com",
            "scope": "components",
            "components": [product.public_id, billing.public_id],
        },
    )

    assert "Check your inbox" in text(response)
    subscriber = Subscriber.objects.get()
    assert subscriber.email == "ada@example.com"
    assert subscriber.scope == Scope.COMPONENTS
    assert set(subscriber.components.all()) == {product, billing}
    assert subscriber.created_from == "127.0.0.1"


def test_it_shows_the_field_message_for_a_bad_email(client: Client) -> None:
    make_page()

    response = client.post(
        "/subscribe/",
        {"channel": "email", "email": "<script>nope", "scope": "page"},
    )

    page = text(response)
    assert "Enter a valid email address." in page
    assert "&lt;script&gt;nope" in page  # kept in the field, escaped
    assert "<script>nope" not in page
    assert not Subscriber.objects.exists()


def test_it_asks_for_a_component_when_the_scope_is_components(client: Client) -> None:
    make_page()
    make_component(name="API")

    response = client.post(
        "/subscribe/",
        {"channel": "email", "email": "ada@example.com", "scope": "components"},
    )

    assert "Choose at least one component." in text(response)
    assert not Subscriber.objects.exists()


def test_it_refuses_a_forbidden_webhook_url_on_the_field(
    client: Client, settings: Any
) -> None:
    # Needs notifications.transports.webhook.check_url (written alongside).
    settings.NOTIFICATIONS_ALLOW_PRIVATE_TARGETS = False
    make_page()

    response = client.post(
        "/subscribe/",
        {
            "channel": "webhook",
            "url": "http://127.0.0.1/hook",
            "email": "ops@example.com",
            "scope": "page",
        },
    )

    assert response.status_code == 200
    assert re.search(r'<ul class="errorlist" id="id_url-errors"><li>\S', text(response))
    assert not Subscriber.objects.exists()


def test_it_shows_a_webhook_secret_once(
    client: Client, settings: Any, httpserver: HTTPServer
) -> None:
    settings.NOTIFICATIONS_ALLOW_PRIVATE_TARGETS = True
    httpserver.expect_request("/hook").respond_with_data("ok")
    make_page()

    response = client.post(
        "/subscribe/",
        {
            "channel": "webhook",
            "url": httpserver.url_for("/hook"),
            "email": "ops@example.com",
            "scope": "page",
        },
    )

    subscriber = Subscriber.objects.get()
    page = text(response)
    assert subscriber.signing_secret.startswith("whsec_")
    assert subscriber.signing_secret in page
    assert "no-store" in response["Cache-Control"]
    manage = re.search(r'href="(/subscriptions/manage/[^"]+)"', page)
    assert manage
    assert f'action="/subscriptions/test/{manage.group(1).rsplit("/", 1)[1]}"' in page
    again = client.get(manage.group(1))
    assert again.status_code == 200
    assert subscriber.url in text(again)
    assert subscriber.signing_secret not in text(again)


def test_it_sends_a_test_event_from_the_manage_page(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    make_page()
    subscriber = Subscriber.objects.create(
        channel=Channel.WEBHOOK,
        url="https://hooks.example.com/status",
        email="ops@example.com",
        state=SubscriberState.ACTIVE,
    )
    token = token_for(subscriber, MANAGE)

    with django_capture_on_commit_callbacks() as queued:
        response = client.post(f"/subscriptions/test/{token}", follow=True)

    assert "A test event is on its way." in text(response)
    test = Delivery.objects.get(subscriber=subscriber)
    assert test.event.kind == "test"
    assert len(queued) == 1  # its send, after commit


def test_it_confirms_and_answers_a_forged_link_with_400(client: Client) -> None:
    make_page()
    subscriber = email_subscriber(state=SubscriberState.PENDING)
    token = token_for(subscriber, CONFIRM)

    forged = client.get(f"/subscriptions/confirm/{token[:-2]}xx")
    wrong_purpose = client.get(
        f"/subscriptions/confirm/{token_for(subscriber, MANAGE)}"
    )
    assert (forged.status_code, wrong_purpose.status_code) == (400, 400)
    assert "This link is not valid." in text(forged)
    subscriber.refresh_from_db()
    assert subscriber.state == SubscriberState.PENDING

    assert client.get(f"/subscriptions/confirm/{token}").status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.state == SubscriberState.ACTIVE


def test_it_unsubscribes_on_a_one_click_post_without_csrf() -> None:
    make_page()
    subscriber = email_subscriber()
    mail_client = Client(enforce_csrf_checks=True)

    response = mail_client.post(
        unsubscribe_path(subscriber),
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 200
    assert "You are unsubscribed" in text(response)
    subscriber.refresh_from_db()
    assert subscriber.state == SubscriberState.UNSUBSCRIBED


def test_it_does_not_unsubscribe_on_a_get(client: Client) -> None:
    make_page()
    subscriber = email_subscriber()

    response = client.get(unsubscribe_path(subscriber))
    client.head(unsubscribe_path(subscriber))

    assert response.status_code == 200
    page = text(response)
    assert re.search(r'<form method="post" action="/subscriptions/unsubscribe/', page)
    assert "Unsubscribe from Acme status updates?" in page
    subscriber.refresh_from_db()
    assert subscriber.state == SubscriberState.ACTIVE


def test_it_changes_the_scope_from_the_manage_page(client: Client) -> None:
    make_page()
    api = make_component(name="API")
    make_component(name="Billing")
    subscriber = email_subscriber()

    response = client.post(
        manage_path(subscriber),
        {"scope": "components", "components": [api.public_id]},
        follow=True,
    )

    assert "Your choices are saved." in text(response)
    assert re.search(rf'value="{api.public_id}"[^>]*checked', text(response))
    subscriber.refresh_from_db()
    assert subscriber.scope == Scope.COMPONENTS
    assert list(subscriber.components.all()) == [api]


def test_it_protects_the_forms_with_csrf() -> None:
    make_page()
    subscriber = email_subscriber()
    browser = Client(enforce_csrf_checks=True)

    signup = browser.post("/subscribe/", {"channel": "email", "email": "x@y.z"})
    change = browser.post(manage_path(subscriber), {"scope": "page"})
    test = browser.post(f"/subscriptions/test/{token_for(subscriber, MANAGE)}")

    assert (signup.status_code, change.status_code, test.status_code) == (403,) * 3
    assert not Subscriber.objects.exclude(pk=subscriber.pk).exists()


def test_it_limits_sign_ups_per_client_address(client: Client, settings: Any) -> None:
    settings.SUBSCRIBE_RATE = "3/h"
    make_page()

    answers = [
        client.post(
            "/subscribe/",
            {"channel": "email", "email": f"user{n}@example.com", "scope": "page"},
            REMOTE_ADDR="203.0.113.7",
        ).status_code
        for n in range(4)
    ]
    other = client.post(
        "/subscribe/",
        {"channel": "email", "email": "other@example.com", "scope": "page"},
        REMOTE_ADDR="203.0.113.8",
    )

    assert answers == [200, 200, 200, 429]
    assert other.status_code == 200
    assert Subscriber.objects.count() == 4
    limited = client.post("/subscribe/", {}, REMOTE_ADDR="203.0.113.7")
    assert "Too many sign-ups from your address" in text(limited)
