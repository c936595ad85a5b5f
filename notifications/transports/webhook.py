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

__all__ = ["Webhook", "check_url"]  # subscribers check URLs at sign-up from here


class Webhook(HttpTransport):
    def request(self, delivery: Delivery, message: Message) -> Request | Result:
        secret = delivery.subscriber.signing_secret
        if not secret:
            return Result(ok=False, error="the subscriber has no signing secret")
        data = json_body(message.body)
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        headers = {
            "Content-Type": "application/json",
            "webhook-id": delivery.webhook_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": Signer(secret).sign(
                delivery.webhook_id, now, data.decode()
            ),
        }
        return Request(url=delivery.subscriber.url, body=data, headers=headers)
