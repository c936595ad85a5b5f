"""Email end to end on a real SMTP server: confirmation, incident mail, headers."""

from __future__ import annotations

import datetime as dt
import re
from email.message import EmailMessage
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.utils import timezone

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
from notifications.services.subscribers import delivery_resend, subscriber_send_test
from tests.conftest import (
    make_component,
    make_group,
    make_incident,
    make_maintenance,
    make_page,
)
from tests.notifications.conftest import SmtpSink, free_port

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("rate_limit_cache", "notifications_queue"),
]


def active_subscriber(address: str, **fields: Any) -> Subscriber:
    components = fields.pop("components", [])
    subscriber = Subscriber.objects.create(
        channel=Channel.EMAIL,
        email=address,
        state=SubscriberState.ACTIVE,
        confirmed_at=timezone.now(),
        **fields,
    )
    subscriber.components.set(components)
    return subscriber


def deliver(incident: Incident, kind: str) -> list[Delivery]:
    """Fan the event out and send its deliveries here, as the worker would."""
    event = Event.objects.get(incident=incident, kind=kind)
    delivery.event_fan_out(event_id=event.pk)
    ids = list(
        Delivery.objects.filter(event=event).order_by("pk").values_list("pk", flat=True)
    )
    delivery.deliveries_send(delivery_ids=ids)
    return list(Delivery.objects.filter(pk__in=ids).order_by("pk"))


def parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


def link(text: str, path_start: str) -> str:
    match = re.search(rf"https://status\.acme\.test({path_start}\S+)", text)
    assert match, text
    return match.group(1)


def test_it_mails_a_confirmation_whose_link_activates_the_subscription(
    smtp_server: SmtpSink, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    make_page(name="Acme", url="https://status.acme.test")

    with django_capture_on_commit_callbacks() as queued:
        response = client.post(
            "/subscribe/",
            {"channel": "email", "email": "ada@example.com", "scope": "page"},
        )
    assert response.status_code == 200
    assert b"Check your inbox" in response.content
    assert len(queued) == 1  # the confirmation task, sent after commit
    subscriber = Subscriber.objects.get(email="ada@example.com")
    assert subscriber.state == SubscriberState.PENDING

    emails.confirmation_send(subscriber_id=subscriber.pk)

    [mail] = smtp_server.to("ada@example.com")
    assert mail["Subject"] == "Confirm your subscription to Acme status updates"
    assert mail["Auto-Submitted"] == "auto-generated"
    text, html = parts(mail)
    assert "expires in 3 days" in text
    confirm_path = link(text, "/subscriptions/confirm/")
    assert confirm_path in html
    page = client.get(confirm_path)
    assert page.status_code == 200
    assert b"Your subscription is confirmed" in page.content
    subscriber.refresh_from_db()
    assert subscriber.state == SubscriberState.ACTIVE


def test_it_refuses_an_expired_confirmation_link(
    smtp_server: SmtpSink, client: Client
) -> None:
    make_page(name="Acme", url="https://status.acme.test")
    subscriber = Subscriber.objects.create(
        channel=Channel.EMAIL, email="late@example.com"
    )
    emails.confirmation_send(subscriber_id=subscriber.pk)
    text, _ = parts(smtp_server.to("late@example.com")[0])
    confirm_path = link(text, "/subscriptions/confirm/")

    later = timezone.now() + dt.timedelta(
        seconds=settings.NOTIFICATIONS_CONFIRM_MAX_AGE_SECONDS + 60
    )
    with time_machine.travel(later, tick=False):
        response = client.get(confirm_path)

    assert response.status_code == 400
    assert b"This link has expired." in response.content
    subscriber.refresh_from_db()
    assert subscriber.state == SubscriberState.PENDING


def test_it_sends_no_confirmation_once_the_subscriber_is_not_pending(
    smtp_server: SmtpSink,
) -> None:
    make_page()
    subscriber = active_subscriber("done@example.com")

    emails.confirmation_send(subscriber_id=subscriber.pk)

    assert smtp_server.received == []


def test_it_mails_an_incident_in_text_and_html_with_the_unsubscribe_headers(
    smtp_server: SmtpSink,
) -> None:
    make_page(name="Acme", url="https://status.acme.test")
    ada = active_subscriber("ada@example.com")
    active_subscriber("bob@example.com")
    api = make_component(name="API")
    incident = make_incident(
        name="API errors",
        body="Requests **fail** for some users.",
        component_statuses={api: "major_outage"},
    )

    sent = deliver(incident, "incident.created")

    assert [d.state for d in sent] == [DeliveryState.DELIVERED] * 2
    [mail] = smtp_server.to("ada@example.com")
    mine = next(d for d in sent if d.subscriber_id == ada.pk)
    assert mail["Message-ID"] == f"<{mine.public_id}@heliograph>"
    assert mail["Subject"] == "[Acme] Investigating: API errors"
    assert mail["From"] == "Acme <status@localhost>"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail["Auto-Submitted"] == "auto-generated"
    unsubscribe = re.fullmatch(r"<(https://\S+)>", mail["List-Unsubscribe"].strip())
    assert unsubscribe and "/subscriptions/unsubscribe/" in unsubscribe.group(1)
    assert mail.get_content_type() == "multipart/alternative"
    text, html = parts(mail)
    incident_url = f"https://status.acme.test/incidents/{incident.public_id}"
    for part in (text, html):
        assert incident_url in part
        assert "Investigating" in part
        assert "/subscriptions/manage/" in part
        assert unsubscribe.group(1) in part
        assert "API" in part
    assert "Requests **fail** for some users." in text
    assert "Requests <strong>fail</strong> for some users." in html
    # Bob's mail, rendered in the same batch, carries his own links only.
    [bobs] = smtp_server.to("bob@example.com")
    own = re.fullmatch(r"<(https://\S+)>", bobs["List-Unsubscribe"].strip())
    assert own and own.group(1) != unsubscribe.group(1)
    for part in parts(bobs):
        assert own.group(1) in part
        assert unsubscribe.group(1) not in part
        assert "link-mark" not in part
    # One connection for the whole batch.
    assert len({received.peer for received in smtp_server.received}) == 1


def test_it_keeps_the_message_id_when_a_delivery_is_sent_again(
    smtp_server: SmtpSink,
) -> None:
    make_page(url="https://status.acme.test")
    active_subscriber("ada@example.com")
    incident = make_incident(name="Slow logins")
    [first] = deliver(incident, "incident.created")

    delivery_resend(delivery=first)
    delivery.deliveries_send(delivery_ids=[first.pk])

    once, again = smtp_server.to("ada@example.com")
    assert (
        once["Message-ID"] == again["Message-ID"] == f"<{first.public_id}@heliograph>"
    )
    first.refresh_from_db()
    assert first.attempts == 2
    assert first.state == DeliveryState.DELIVERED


def test_it_mails_component_subscribers_only_what_touches_their_components(
    smtp_server: SmtpSink,
) -> None:
    make_page(url="https://status.acme.test")
    product = make_group(name="Acme product")
    api = make_component(name="API", group=product)
    billing = make_component(name="Billing")
    active_subscriber("api@example.com", scope=Scope.COMPONENTS, components=[api])
    active_subscriber("group@example.com", scope=Scope.COMPONENTS, components=[product])
    active_subscriber(
        "billing@example.com", scope=Scope.COMPONENTS, components=[billing]
    )
    start = timezone.now() + dt.timedelta(days=1)

    api_incident = make_incident(
        name="API errors", component_statuses={api: "partial_outage"}
    )
    api_work = make_maintenance(
        name="API upgrade",
        components=[api],
        scheduled_for=start,
        scheduled_until=start + dt.timedelta(hours=2),
    )
    billing_work = make_maintenance(name="Billing migration", components=[billing])
    deliver(api_incident, "incident.created")
    deliver(api_work, "maintenance.scheduled")
    deliver(billing_work, "maintenance.scheduled")

    def subjects(address: str) -> list[str]:
        return sorted(str(m["Subject"]) for m in smtp_server.to(address))

    assert subjects("api@example.com") == [
        "[Acme] Investigating: API errors",
        "[Acme] Scheduled maintenance: API upgrade",
    ]
    assert subjects("group@example.com") == subjects("api@example.com")
    assert subjects("billing@example.com") == [
        "[Acme] Scheduled maintenance: Billing migration"
    ]
    [maintenance_mail] = [
        m for m in smtp_server.to("api@example.com") if "upgrade" in m["Subject"]
    ]
    text, _ = parts(maintenance_mail)
    window = timezone.localtime(start, dt.UTC).strftime("%b %-d, %Y, %H:%M")
    assert f"Scheduled for {window} UTC" in text


def test_it_fails_a_refused_address_for_good_and_delivers_the_others(
    smtp_server: SmtpSink,
) -> None:
    make_page(url="https://status.acme.test")
    smtp_server.refused.add("gone@example.com")
    for address in ("ada@example.com", "gone@example.com", "bob@example.com"):
        active_subscriber(address)
    incident = make_incident(name="Outage")

    sent = {d.subscriber.email: d for d in deliver(incident, "incident.created")}

    gone = sent.pop("gone@example.com")
    assert gone.state == DeliveryState.FAILED
    assert gone.last_error == "address rejected"
    attempt = gone.attempt_log.get()
    assert (attempt.status_code, attempt.permanent) == (550, True)
    assert "No such user" in attempt.response
    assert {d.state for d in sent.values()} == {DeliveryState.DELIVERED}
    assert smtp_server.to("gone@example.com") == []
    assert len(smtp_server.to("bob@example.com")) == 1


def test_it_retries_later_when_the_mail_server_cannot_be_reached(
    settings: Any,
) -> None:
    make_page(url="https://status.acme.test")
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # closed
    active_subscriber("ada@example.com")
    incident = make_incident(name="Outage")

    [sent] = deliver(incident, "incident.created")

    assert sent.state == DeliveryState.PENDING
    assert sent.next_attempt_at > timezone.now()
    assert sent.last_error.startswith("could not reach the mail server")
    assert not sent.attempt_log.get().permanent


def test_it_sends_staff_text_escaped_and_sanitised(smtp_server: SmtpSink) -> None:
    make_page(url="https://status.acme.test")
    active_subscriber("ada@example.com")
    incident = make_incident(
        name="<b>Bold</b> name",
        body='Hi <script>alert(1)</script> [x](javascript:alert(2)) <img src="x">',
    )
    deliver(incident, "incident.created")

    _, html = parts(smtp_server.to("ada@example.com")[0])

    assert "&lt;b&gt;Bold&lt;/b&gt; name" in html
    assert "<script" not in html
    assert "javascript:" not in html
    assert "<img" not in html


def test_it_mails_the_postmortem(smtp_server: SmtpSink) -> None:
    make_page(url="https://status.acme.test")
    active_subscriber("ada@example.com")
    incident = make_incident(name="Outage", status="resolved")
    services.incident_publish_postmortem(
        incident=incident, body="The cache **expired**."
    )

    deliver(incident, "incident.postmortem_published")

    [mail] = smtp_server.to("ada@example.com")
    assert mail["Subject"] == "[Acme] Postmortem: Outage"
    text, html = parts(mail)
    assert "The cache **expired**." in text
    assert "The cache <strong>expired</strong>." in html


def test_it_mails_a_test_event_as_plain_text(smtp_server: SmtpSink) -> None:
    make_page(name="Acme", url="https://status.acme.test")
    subscriber = active_subscriber("ada@example.com")
    test = subscriber_send_test(subscriber=subscriber)

    delivery.deliveries_send(delivery_ids=[test.pk])

    [mail] = smtp_server.to("ada@example.com")
    assert mail["Subject"] == "[Acme] Test notification"
    assert mail.get_content_type() == "text/plain"
    assert "This is a test notification from Acme." in mail.get_content()
    assert mail["Message-ID"] == f"<{test.public_id}@heliograph>"
