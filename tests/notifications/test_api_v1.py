"""Management API v1: subscribers (Statuspage's paths) and their deliveries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from incidents import services
from incidents.models import Incident
from notifications import emails
from notifications.models import (
    Channel,
    Delivery,
    DeliveryState,
    Event,
    Scope,
    Subscriber,
    SubscriberState,
)
from notifications.services import delivery
from tests.api_helpers import api_client, body, v1
from tests.conftest import (
    enqueued,
    make_component,
    make_group,
    make_incident,
    make_page,
)
from tests.notifications.conftest import SmtpSink

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("notifications_queue")]

PUBLIC_HOOK = "https://93.184.215.14/heliograph"  # a literal public address: no DNS


def subscriber(channel: str = Channel.EMAIL, **fields: Any) -> Subscriber:
    components = fields.pop("components", [])
    defaults: dict[str, Any] = {
        "email": f"user{Subscriber.objects.count()}@example.com",
        "state": SubscriberState.ACTIVE,
    }
    if channel != Channel.EMAIL:
        defaults["url"] = PUBLIC_HOOK
        defaults["signing_secret"] = "whsec_c2VjcmV0LW5vdC10by1zaG93"
    created = Subscriber.objects.create(channel=channel, **{**defaults, **fields})
    created.components.set(components)
    return created


def make_delivery(
    to: Subscriber, incident: Incident | None = None, **fields: Any
) -> Delivery:
    event = Event.objects.create(
        kind="incident.created", incident=incident, payload={}, subject="News"
    )
    return Delivery.objects.create(event=event, subscriber=to, **fields)


def post(api: APIClient, path: str, data: Any = None) -> Any:
    return api.post(v1(path), data, format="json")


def query_count(api: APIClient, path: str) -> Callable[[], int]:
    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert api.get(v1(path)).status_code == 200
        return len(captured)

    count()  # the token's first use of the minute writes its last-used time
    return count


# Subscribers: reading ------------------------------------------------------------


def test_it_lists_active_subscribers_as_statuspage_does() -> None:
    api_component = make_component(name="API")
    ada = subscriber(email="ada@example.com", components=[api_component])
    ada.scope = Scope.COMPONENTS
    ada.save()
    hook = subscriber(Channel.WEBHOOK, email="ops@example.com")
    subscriber(email="new@example.com", state=SubscriberState.PENDING)

    response = api_client("read").get(v1("subscribers"))

    assert response.status_code == 200
    rows = {row["id"]: row for row in body(response)}
    assert set(rows) == {ada.public_id, hook.public_id}  # active unless asked
    assert response["X-Total-Count"] == "2"
    assert rows[ada.public_id]["mode"] == "email"
    assert rows[ada.public_id]["email"] == "ada@example.com"
    assert rows[ada.public_id]["endpoint"] is None
    assert rows[ada.public_id]["components"] == [api_component.public_id]
    assert rows[ada.public_id]["scope"] == "components"
    assert rows[hook.public_id]["mode"] == "webhook"
    assert rows[hook.public_id]["endpoint"] == PUBLIC_HOOK
    assert set(rows[hook.public_id]) >= {
        "quarantined_at",
        "created_at",
        "state",
        "confirmed_at",
    }
    assert b"whsec_" not in response.content


def test_it_filters_subscribers_by_text_type_and_state() -> None:
    subscriber(email="ada@example.com")
    subscriber(Channel.WEBHOOK, email="ops@example.com", url=PUBLIC_HOOK + "/acme")
    subscriber(email="new@example.com", state=SubscriberState.PENDING)
    subscriber(email="gone@example.com", state=SubscriberState.UNSUBSCRIBED)
    api = api_client("read")

    def emails_for(query: str) -> list[str]:
        response = api.get(v1(f"subscribers?{query}"))
        assert response.status_code == 200, response.content
        return sorted(row["email"] for row in body(response))

    assert emails_for("q=ADA") == ["ada@example.com"]
    assert emails_for("q=/acme") == ["ops@example.com"]
    assert emails_for("type=webhook") == ["ops@example.com"]
    assert emails_for("type=sms") == []
    assert emails_for("state=unconfirmed") == ["new@example.com"]
    assert emails_for("state=unsubscribed") == ["gone@example.com"]
    assert len(emails_for("state=all")) == 4
    for bad in ("state=asleep", "state=", "type="):
        refused = api.get(v1(f"subscribers?{bad}"))
        assert refused.status_code == 400, bad
        assert bad.split("=")[0] in body(refused)["errors"]


def test_it_counts_subscribers_with_the_same_filters() -> None:
    subscriber(email="ada@example.com")
    subscriber(Channel.WEBHOOK, email="ops@example.com")
    subscriber(email="new@example.com", state=SubscriberState.PENDING)
    api = api_client("read")

    assert body(api.get(v1("subscribers/count"))) == {"count": 2}
    assert body(api.get(v1("subscribers/count?type=email"))) == {"count": 1}
    assert body(api.get(v1("subscribers/count?state=all&q=new"))) == {"count": 1}


def test_it_shows_a_slack_address_only_as_its_host() -> None:
    secret_path = "/services/T000/B000/XXXXSECRETXXXX"
    subscriber(Channel.SLACK, url=f"https://hooks.slack.com{secret_path}")
    api = api_client("read")

    response = api.get(v1("subscribers?type=slack"))

    [row] = body(response)
    assert row["endpoint"] == "https://hooks.slack.com/…"
    assert b"SECRET" not in response.content
    assert body(api.get(v1("subscribers?q=XXXXSECRET"))) == []


def test_it_answers_404_for_unknown_ids() -> None:
    api = api_client()
    assert api.get(v1("subscribers/nosuchsubsc")).status_code == 404
    assert post(api, "subscribers/nosuchsubsc/reactivate").status_code == 404
    assert api.get(v1("deliveries/nosuchdeliv")).status_code == 404
    assert post(api, "deliveries/nosuchdeliv/resend").status_code == 404
    assert api.get("/api/v1/pages/nosuchpage/subscribers").status_code == 404


# Subscribers: writing ------------------------------------------------------------


def test_it_lets_read_scope_list_but_not_write() -> None:
    pending = subscriber(state=SubscriberState.PENDING)
    sent = make_delivery(subscriber(), state=DeliveryState.FAILED)
    reader = api_client("read")

    assert reader.get(v1("subscribers")).status_code == 200
    assert reader.get(v1("deliveries")).status_code == 200
    refusals = [
        post(reader, "subscribers", {"subscriber": {"email": "x@example.com"}}),
        reader.patch(v1(f"subscribers/{pending.public_id}"), {}, format="json"),
        reader.delete(v1(f"subscribers/{pending.public_id}")),
        post(reader, f"subscribers/{pending.public_id}/resend_confirmation"),
        post(reader, f"deliveries/{sent.public_id}/resend"),
    ]
    assert [response.status_code for response in refusals] == [403] * 5
    assert "read scope" in body(refusals[0])["error"]
    assert Subscriber.objects.count() == 2


def test_it_creates_an_email_subscriber_who_gets_a_confirmation_mail(
    smtp_server: SmtpSink, django_capture_on_commit_callbacks: Any
) -> None:
    make_page(name="Acme", url="https://status.acme.test")

    with django_capture_on_commit_callbacks() as queued:
        response = post(
            api_client(), "subscribers", {"subscriber": {"email": "Ada@Example.com"}}
        )

    assert response.status_code == 201, response.content
    created = body(response)
    assert created["email"] == "ada@example.com"
    assert created["state"] == "pending"
    assert created["scope"] == "page"
    assert len(queued) == 1  # the confirmation task, sent after commit
    emails.confirmation_send(subscriber_id=Subscriber.objects.get().pk)  # the worker
    [mail] = smtp_server.to("ada@example.com")
    assert mail["Subject"] == "Confirm your subscription to Acme status updates"


def test_it_skips_the_confirmation_mail_when_asked(
    smtp_server: SmtpSink, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks() as queued:
        response = post(
            api_client(),
            "subscribers",
            {
                "subscriber": {
                    "email": "ada@example.com",
                    "skip_confirmation_notification": True,
                }
            },
        )

    assert response.status_code == 201, response.content
    assert body(response)["state"] == "active"
    assert body(response)["confirmed_at"] is not None
    assert enqueued(queued) == []
    emails.confirmation_send(subscriber_id=Subscriber.objects.get().pk)
    assert smtp_server.received == []


def test_it_creates_a_webhook_subscriber_answering_its_secret_once() -> None:
    response = post(
        api_client(),
        "subscribers",
        {"endpoint": PUBLIC_HOOK, "email": "ops@example.com"},
    )

    assert response.status_code == 201, response.content
    created = body(response)
    assert created["mode"] == "webhook"
    assert created["endpoint"] == PUBLIC_HOOK
    assert created["state"] == "active"
    stored = Subscriber.objects.get()
    assert stored.signing_secret.startswith("whsec_")
    assert created["signing_secret"] == stored.signing_secret
    again = api_client().get(v1(f"subscribers/{created['id']}"))
    assert stored.signing_secret.encode() not in again.content
    assert "signing_secret" not in body(again)


@pytest.mark.parametrize("endpoint", ["http://127.0.0.1:9/", "http://10.0.0.1/"])
def test_it_refuses_a_private_webhook_endpoint_with_400(
    settings: Any, endpoint: str
) -> None:
    settings.NOTIFICATIONS_ALLOW_PRIVATE_TARGETS = False

    response = post(
        api_client(),
        "subscribers",
        {"subscriber": {"endpoint": endpoint, "email": "ops@example.com"}},
    )

    assert response.status_code == 400, response.content
    assert list(body(response)["errors"]) == ["subscriber.endpoint"]
    assert not Subscriber.objects.exists()


def test_it_answers_400_naming_the_field_at_fault() -> None:
    api = api_client()
    deleted = make_component(name="Old")
    services.component_delete(component=deleted)

    def errors(fields: dict[str, Any]) -> list[str]:
        response = post(api, "subscribers", {"subscriber": fields})
        assert response.status_code == 400, response.content
        return list(body(response)["errors"])

    assert errors({}) == ["subscriber.email"]
    assert errors({"email": "not an address"}) == ["subscriber.email"]
    assert errors({"endpoint": PUBLIC_HOOK}) == ["subscriber.email"]
    assert errors({"mode": "slack", "email": "a@example.com"}) == [
        "subscriber.endpoint"
    ]
    assert errors({"mode": "pigeon", "email": "a@example.com"}) == ["subscriber.mode"]
    unknown = {"email": "a@example.com", "component_ids": ["nope", deleted.public_id]}
    assert errors(unknown) == ["subscriber.component_ids"]
    assert not Subscriber.objects.exists()


def test_it_subscribes_to_chosen_components_and_changes_them() -> None:
    group = make_group(name="Acme")
    login = make_component(name="Login", group=group)
    billing = make_component(name="Billing")
    api = api_client()
    response = post(
        api,
        "subscribers",
        {
            "subscriber": {
                "email": "ada@example.com",
                "component_ids": [group.public_id, login.public_id],
                "skip_confirmation_notification": True,
            }
        },
    )
    assert response.status_code == 201, response.content
    created = body(response)
    assert created["scope"] == "components"
    assert created["components"] == [group.public_id, login.public_id]

    path = v1(f"subscribers/{created['id']}")
    changed = api.patch(
        path, {"subscriber": {"component_ids": [billing.public_id]}}, format="json"
    )
    assert changed.status_code == 200, changed.content
    assert body(changed)["components"] == [billing.public_id]
    whole_page = api.patch(path, {"component_ids": []}, format="json")
    assert body(whole_page)["scope"] == "page"
    assert body(whole_page)["components"] == []
    refused = api.patch(path, {"component_ids": ["nope"]}, format="json")
    assert refused.status_code == 400
    assert "subscriber.component_ids" in body(refused)["errors"]


def test_it_unsubscribes_on_delete_and_keeps_the_record() -> None:
    ada = subscriber(email="ada@example.com")
    planned = make_delivery(ada)
    api = api_client()

    response = api.delete(v1(f"subscribers/{ada.public_id}"))

    assert response.status_code == 200
    assert body(response)["id"] == ada.public_id
    assert body(response)["state"] == "unsubscribed"
    assert body(response)["unsubscribed_at"] is not None
    planned.refresh_from_db()
    assert planned.state == DeliveryState.CANCELLED
    assert api.get(v1(f"subscribers/{ada.public_id}")).status_code == 200


def test_it_resends_a_confirmation_only_while_unconfirmed(
    django_capture_on_commit_callbacks: Any,
) -> None:
    pending = subscriber(state=SubscriberState.PENDING)
    confirmed = subscriber(confirmed_at=timezone.now())
    api = api_client()

    with django_capture_on_commit_callbacks() as queued:
        response = post(api, f"subscribers/{pending.public_id}/resend_confirmation")
    assert response.status_code == 201, response.content
    assert len(enqueued(queued)) == 1

    with django_capture_on_commit_callbacks() as queued:
        refused = post(api, f"subscribers/{confirmed.public_id}/resend_confirmation")
    assert refused.status_code == 409
    assert "awaiting confirmation" in body(refused)["error"]
    assert enqueued(queued) == []


def test_it_reactivates_a_quarantined_subscriber_and_not_an_active_one() -> None:
    hook = subscriber(
        Channel.WEBHOOK,
        state=SubscriberState.QUARANTINED,
        quarantined_at=timezone.now(),
    )
    api = api_client()
    path = f"subscribers/{hook.public_id}/reactivate"

    response = post(api, path)
    assert response.status_code == 200, response.content
    assert body(response)["state"] == "active"
    assert body(response)["quarantined_at"] is None

    again = post(api, path)
    assert again.status_code == 409
    assert "quarantined" in body(again)["error"]


def test_it_sends_a_test_event_to_an_active_subscriber_only() -> None:
    hook = subscriber(Channel.WEBHOOK)
    pending = subscriber(state=SubscriberState.PENDING)
    api = api_client()

    response = post(api, f"subscribers/{hook.public_id}/send_test")

    assert response.status_code == 201, response.content
    sent = body(response)
    assert sent["event"] == "test"
    assert sent["subscriber_id"] == hook.public_id
    assert sent["state"] == "pending"
    assert post(api, f"subscribers/{pending.public_id}/send_test").status_code == 409


# Deliveries ------------------------------------------------------------------------


def test_it_lists_deliveries_after_an_incident_is_published() -> None:
    api_component = make_component(name="API")
    ada = subscriber(email="ada@example.com")
    hook = subscriber(Channel.WEBHOOK, email="ops@example.com")
    incident = make_incident(
        name="API errors", component_statuses={api_component: "major_outage"}
    )
    for event in Event.objects.order_by("pk"):
        delivery.event_fan_out(event_id=event.pk)
    other = make_delivery(ada, make_incident(name="Later"))
    api = api_client("read")

    response = api.get(v1("deliveries"))

    assert response.status_code == 200
    rows = body(response)
    # email hears of the incident; the webhook of the incident and the component
    assert len(rows) == 4
    assert rows[0]["id"] == other.public_id  # newest first
    about = [row for row in rows if row["incident_id"] == incident.public_id]
    assert {(row["subscriber_id"], row["channel"]) for row in about} == {
        (ada.public_id, "email"),
        (hook.public_id, "webhook"),
    }
    assert "incident.created" in {row["event"] for row in about}
    assert about[0]["state"] == "pending" and about[0]["attempts"] == 0
    assert set(about[0]) >= {"last_error", "created_at", "delivered_at", "event_id"}

    def ids(query: str) -> set[str]:
        found = api.get(v1(query))
        assert found.status_code == 200, found.content
        return {row["id"] for row in body(found)}

    assert ids(f"deliveries?incident_id={incident.public_id}") == {
        row["id"] for row in about
    }
    assert len(ids("deliveries?channel=webhook")) == 2
    assert ids("deliveries?state=delivered") == set()
    assert ids(f"subscribers/{ada.public_id}/deliveries") == {
        row["id"] for row in rows if row["subscriber_id"] == ada.public_id
    }
    detail = api.get(v1(f"deliveries/{other.public_id}"))
    assert body(detail)["subscriber_id"] == ada.public_id
    refused = api.get(v1("deliveries?state=lost"))
    assert refused.status_code == 400
    assert "state" in body(refused)["errors"]


def test_it_resends_a_delivery_and_not_one_being_sent(
    django_capture_on_commit_callbacks: Any,
) -> None:
    hook = subscriber(Channel.WEBHOOK)
    failed = make_delivery(hook, state=DeliveryState.FAILED, attempts=9)
    busy = make_delivery(hook, state=DeliveryState.SENDING)
    api = api_client()

    with django_capture_on_commit_callbacks() as queued:
        response = post(api, f"deliveries/{failed.public_id}/resend")

    assert response.status_code == 202, response.content
    assert body(response)["id"] == failed.public_id  # the same id: receivers dedupe
    assert body(response)["state"] == "pending"
    assert len(enqueued(queued)) == 1
    refused = post(api, f"deliveries/{busy.public_id}/resend")
    assert refused.status_code == 409
    assert "being sent" in body(refused)["error"]


# Query counts ----------------------------------------------------------------------


def test_it_lists_subscribers_in_a_constant_number_of_queries() -> None:
    components = [make_component(name=f"c{n}") for n in range(3)]
    subscriber(scope=Scope.COMPONENTS, components=components)
    count = query_count(api_client("read"), "subscribers")
    few = count()
    for _ in range(15):
        subscriber(scope=Scope.COMPONENTS, components=components)
        subscriber(Channel.WEBHOOK, incident=make_incident(), scope=Scope.INCIDENT)
    assert count() == few


def test_it_lists_deliveries_in_a_constant_number_of_queries() -> None:
    ada = subscriber()
    make_delivery(ada, make_incident())
    everything = query_count(api_client("read"), "deliveries")
    adas = query_count(api_client("read"), f"subscribers/{ada.public_id}/deliveries")
    few, few_of_ada = everything(), adas()
    for _ in range(15):
        make_delivery(ada, make_incident())
        make_delivery(subscriber(Channel.WEBHOOK), make_incident())
    assert everything() == few
    assert adas() == few_of_ada


def test_it_is_as_strict_about_json_types_as_the_rest_of_the_api() -> None:
    response = post(
        api_client(),
        "subscribers",
        {"email": "ops@example.com", "skip_confirmation_notification": 1},
    )
    assert response.status_code == 400
    assert "subscriber.skip_confirmation_notification" in body(response)["errors"]
    assert not Subscriber.objects.exists()
