"""Webhooks: the Statuspage body, signed with Standard Webhooks headers.

``webhook-id`` is the delivery's stable id, the same on every retry and resend, so
receivers can drop repeats; the signature covers id, timestamp and body.
"""

from __future__ import annotations

import datetime as dt

from standardwebhooks.webhooks import Webhook as Signer

from notifications.models import Delivery
from notifications.rendering import Message

from .base import Result
from .net import HttpTransport, Request, json_body
from .ssrf import check_url

# Subscribers check URLs at sign-up from here; staff alerts sign and check alike.
__all__ = ["Webhook", "check_url", "signed_request"]


def signed_request(*, url: str, secret: str, webhook_id: str, data: bytes) -> Request:
    """A JSON POST with Standard Webhooks headers over its id, timestamp and body."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    headers = {
        "Content-Type": "application/json",
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Signer(secret).sign(webhook_id, now, data.decode()),
    }
    return Request(url=url, body=data, headers=headers)


class Webhook(HttpTransport):
    def request(self, delivery: Delivery, message: Message) -> Request | Result:
        secret = delivery.subscriber.signing_secret
        if not secret:
            return Result(ok=False, error="the subscriber has no signing secret")
        return signed_request(
            url=delivery.subscriber.url,
            secret=secret,
            webhook_id=delivery.webhook_id,
            data=json_body(message.body),
        )
