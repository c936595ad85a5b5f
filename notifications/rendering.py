"""What a delivery says, whatever the channel: the event's body with this
subscriber's ``meta``, a subject, and the links every message carries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from incidents.models import Page

from .models import Delivery
from .tokens import MANAGE, UNSUBSCRIBE, token_for

DOCUMENTATION_URL = "https://www.atlassian.com/software/statuspage"


@dataclass(frozen=True)
class Message:
    subject: str
    body: dict[str, Any]  # the Statuspage webhook body, meta included
    page_name: str
    page_url: str
    incident_url: str | None
    manage_url: str
    unsubscribe_url: str
    message_id: str  # stable across retries: receivers drop repeats


def absolute(page: Page, path: str) -> str:
    return f"{page.url.rstrip('/')}{path}"


def message_for(delivery: Delivery, page: Page) -> Message:
    event, subscriber = delivery.event, delivery.subscriber
    unsubscribe_url = absolute(
        page,
        reverse(
            "notifications:unsubscribe",
            kwargs={"token": token_for(subscriber, UNSUBSCRIBE)},
        ),
    )
    manage_url = absolute(
        page,
        reverse(
            "notifications:manage", kwargs={"token": token_for(subscriber, MANAGE)}
        ),
    )
    meta = {
        "unsubscribe": unsubscribe_url,
        "documentation": DOCUMENTATION_URL,
        "generated_at": timezone.now().isoformat(timespec="milliseconds"),
    }
    incident = event.payload.get("incident")
    return Message(
        subject=event.subject,
        body={"meta": meta, **event.payload},
        page_name=page.name,
        page_url=page.url,
        incident_url=incident["shortlink"] if incident else None,
        manage_url=manage_url,
        unsubscribe_url=unsubscribe_url,
        message_id=f"<{delivery.public_id}@{settings.NOTIFICATIONS_MESSAGE_ID_DOMAIN}>",
    )
