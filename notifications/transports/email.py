"""Email: one SMTP connection per batch, one multipart message per delivery.

Each message carries the delivery's stable Message-ID (a resend has the same one, so
mail clients thread or drop the repeat) and RFC 8058 one-click unsubscribe headers.
"""

from __future__ import annotations

import smtplib
import time
from collections.abc import Callable
from dataclasses import replace
from email.utils import formataddr, parseaddr
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.template.loader import render_to_string
from django.utils import dateformat
from django.utils.dateparse import parse_datetime
from django.utils.html import escape

from incidents.events import Kind
from incidents.models import UPDATE_STATUS_CHOICES, ComponentStatus, Page
from notifications.models import Delivery
from notifications.rendering import Message
from notifications.services.subscribers import TEST_EVENT

from .base import RESPONSE_MAX_CHARS, Result, Transport

TIME_FORMAT = "M j, Y, H:i T"
# Stand-ins for the two links that differ per subscriber: an event's templates are
# rendered once per batch with these, and each message swaps in its own links.
MANAGE_MARK = "heliograph-manage-link-mark"
UNSUBSCRIBE_MARK = "heliograph-unsubscribe-link-mark"
STATUS_LABELS = dict(UPDATE_STATUS_CHOICES) | dict(ComponentStatus.choices)


def sender(page_name: str) -> str:
    """DEFAULT_FROM_EMAIL, named after the page unless it already has a name."""
    name, address = parseaddr(str(settings.DEFAULT_FROM_EMAIL))
    return formataddr((name or page_name, address))


def one_line(text: str) -> str:
    """Header values cannot hold line breaks (an incident name might)."""
    return " ".join(text.split())


def automatic(headers: dict[str, str]) -> dict[str, str]:
    # Auto-Submitted (RFC 3834) keeps out-of-office robots from answering.
    return {"Auto-Submitted": "auto-generated", **headers}


class Email(Transport):
    def send(self, batch: list[tuple[Delivery, Message]]) -> list[Result]:
        """Send each message on one connection and answer for each.

        A connection dropped mid-batch fails only the message it was sending and is
        opened again for the next; a server that cannot be reached at all fails the
        rest of the batch at once rather than waiting out a timeout per message.
        """
        bodies: dict[int, tuple[str, str]] = {}
        connection = get_connection(fail_silently=False)
        unreachable: Result | None = None
        results = []
        try:
            for delivery, message in batch:
                unreachable = unreachable or connect(connection)
                if unreachable:
                    results.append(unreachable)
                    continue
                email = self._email(delivery, message, delivery.subscriber.page, bodies)
                started = time.monotonic()
                result = deliver(connection, email)
                duration_ms = (time.monotonic() - started) * 1000
                results.append(replace(result, duration_ms=duration_ms))
        finally:
            close_quietly(connection)
        return results

    def _email(
        self,
        delivery: Delivery,
        message: Message,
        page: Page,
        bodies: dict[int, tuple[str, str]],
    ) -> EmailMultiAlternatives:
        email = EmailMultiAlternatives(
            subject=one_line(message.subject),
            from_email=sender(message.page_name),
            to=[delivery.subscriber.email],
            headers=automatic(
                {
                    "Message-ID": message.message_id,
                    "List-Unsubscribe": f"<{message.unsubscribe_url}>",
                    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                }
            ),
        )
        if delivery.event.kind == TEST_EVENT:
            email.body = render_to_string(
                "notifications/email/test.txt", {"message": message}
            )
            return email
        event = delivery.event_id
        if event not in bodies:
            bodies[event] = event_bodies(delivery, message, page)
        text, html = bodies[event]
        email.body = personal(text, message, str)
        email.attach_alternative(personal(html, message, escape), "text/html")
        return email


def event_bodies(delivery: Delivery, message: Message, page: Page) -> tuple[str, str]:
    """The event's text and HTML bodies, with marks for the subscriber's links."""
    marked = replace(message, manage_url=MANAGE_MARK, unsubscribe_url=UNSUBSCRIBE_MARK)
    context = event_context(delivery, marked, page)
    return (
        render_to_string("notifications/email/event.txt", context),
        render_to_string("notifications/email/event.html", context),
    )


def personal(body: str, message: Message, quote: Callable[[str], str]) -> str:
    return body.replace(MANAGE_MARK, quote(message.manage_url)).replace(
        UNSUBSCRIBE_MARK, quote(message.unsubscribe_url)
    )


def event_context(delivery: Delivery, message: Message, page: Page) -> dict[str, Any]:
    """What the event templates show, read from the event's Statuspage body."""
    incident = message.body.get("incident")
    context: dict[str, Any] = {"message": message, "incident": incident}
    if incident is None:  # a component's status changed
        component = message.body.get("component") or {}
        update = message.body.get("component_update") or {}
        context["component"] = component.get("name", "")
        context["status"] = STATUS_LABELS.get(update.get("new_status", ""), "")
        return context
    updates = incident.get("incident_updates") or []
    context.update(
        status=STATUS_LABELS.get(incident["status"], incident["status"]),
        latest=updates[0] if updates else None,
        components=[component["name"] for component in incident["components"]],
        is_maintenance="scheduled_for" in incident,
        scheduled_for=local_time(incident.get("scheduled_for"), page),
        scheduled_until=local_time(incident.get("scheduled_until"), page),
    )
    if delivery.event.kind == Kind.POSTMORTEM_PUBLISHED:
        incident = delivery.event.incident
        context["postmortem"] = incident.postmortem_body if incident else ""
    return context


def local_time(value: str | None, page: Page) -> str:
    moment = parse_datetime(value) if value else None
    if moment is None:
        return ""
    return dateformat.format(moment.astimezone(page.tzinfo), TIME_FORMAT)


def connect(connection: BaseEmailBackend) -> Result | None:
    """Open the connection unless it is open; a failure is the batch's answer."""
    try:
        connection.open()
    except (OSError, smtplib.SMTPException) as error:
        return failed(None, b"", f"could not reach the mail server: {error}")
    return None


def close_quietly(connection: BaseEmailBackend) -> None:
    try:
        connection.close()
    except (OSError, smtplib.SMTPException):
        pass  # nothing is lost: every answer is already recorded


def deliver(connection: BaseEmailBackend, email: EmailMultiAlternatives) -> Result:
    """Send one message and sort the answer: delivered, refused, or try later."""
    try:
        connection.send_messages([email])
    except smtplib.SMTPRecipientsRefused as error:
        code, answer = next(iter(error.recipients.values()), (None, b""))
        return refused(code, answer, "address rejected")
    except smtplib.SMTPSenderRefused as error:
        # Our own sender address: staff can fix that, so the delivery waits.
        return failed(error.smtp_code, error.smtp_error, "sender rejected")
    except smtplib.SMTPResponseException as error:
        return refused(error.smtp_code, error.smtp_error, "message rejected")
    except (OSError, smtplib.SMTPException) as error:
        close_quietly(connection)  # the next message opens a fresh connection
        return failed(None, b"", f"could not reach the mail server: {error}")
    return Result(ok=True, status_code=250, response="accepted")


def refused(code: int | None, answer: bytes | str, what: str) -> Result:
    """5xx: this address or message will never be accepted; 4xx: try again later."""
    if code is not None and 500 <= code < 600:
        return failed(code, answer, what, permanent=True)
    return failed(code, answer, f"{what} for now")


def failed(
    code: int | None, answer: bytes | str, error: str, permanent: bool = False
) -> Result:
    if isinstance(answer, bytes):
        answer = answer.decode("utf-8", "replace")
    return Result(
        ok=False,
        status_code=code,
        response=answer[:RESPONSE_MAX_CHARS],
        error=error[:RESPONSE_MAX_CHARS],
        permanent=permanent,
    )
