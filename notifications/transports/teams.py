"""Microsoft Teams incoming webhooks (Workflows): a message carrying an Adaptive
Card, the format that replaced the retired connector cards."""

from __future__ import annotations

from typing import Any

from notifications.models import Delivery
from notifications.rendering import Message

from .base import Result
from .chat import summarize
from .net import HttpTransport, Request, json_body

ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
COLORS = {
    "good": "Good",
    "bad": "Attention",
    "warning": "Warning",
    "maintenance": "Accent",
    "neutral": "Default",
}


def text_block(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def fact_set(facts: list[tuple[str, str]]) -> dict[str, Any]:
    return {
        "type": "FactSet",
        "facts": [{"title": name, "value": value} for name, value in facts],
    }


def teams_body(message: Message) -> dict[str, Any]:
    summary = summarize(message)
    body = [
        text_block(message.page_name, isSubtle=True, size="Small"),
        text_block(summary.title, weight="Bolder", size="Large"),
        text_block(summary.status, weight="Bolder", color=COLORS[summary.tone]),
    ]
    if summary.text:
        body.append(text_block(summary.text))
    if summary.facts:
        body.append(fact_set(summary.facts))
    if summary.components:
        body.append(text_block("Affected components", weight="Bolder"))
        body.append(fact_set(summary.components))
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
        "actions": [
            {"type": "Action.OpenUrl", "title": "View", "url": summary.link},
            {"type": "Action.OpenUrl", "title": "Manage", "url": message.manage_url},
        ],
        "msteams": {"width": "Full"},
    }
    attachment = {"contentType": ADAPTIVE_CARD, "contentUrl": None, "content": card}
    return {"type": "message", "attachments": [attachment]}


class Teams(HttpTransport):
    def request(self, delivery: Delivery, message: Message) -> Request | Result:
        return Request(
            url=delivery.subscriber.url,
            body=json_body(teams_body(message)),
            headers={"Content-Type": "application/json"},
        )
