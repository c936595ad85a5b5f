"""Slack incoming webhooks: a ``text`` fallback (notifications, old clients) and
Block Kit ``blocks`` in mrkdwn."""

from __future__ import annotations

from typing import Any

from notifications.models import Delivery
from notifications.rendering import Message

from .base import Result
from .chat import Summary, summarize
from .net import HttpTransport, Request, json_body

SECTION_MAX_CHARS = 3000  # Slack refuses a longer section text
FIELD_MAX_CHARS = 2000
EMOJI = {
    "good": ":large_green_circle:",
    "bad": ":red_circle:",
    "warning": ":large_yellow_circle:",
    "maintenance": ":large_blue_circle:",
    "neutral": ":white_circle:",
}


def escape(text: str) -> str:
    """The three characters Slack's mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link(url: str, text: str) -> str:
    return f"<{escape(url).replace('|', '%7C')}|{escape(text)}>"


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def slack_body(message: Message) -> dict[str, Any]:
    summary = summarize(message)
    heading = f"{EMOJI[summary.tone]} *{link(summary.link, summary.title)}*"
    blocks: list[dict[str, Any]] = [
        section(f"{heading}\n*{escape(summary.status)}*"),
    ]
    if summary.text:
        blocks.append(section(escape(summary.text)))
    if summary.facts:
        blocks.append(
            {
                "type": "section",
                "fields": [
                    mrkdwn(clip(f"*{escape(name)}*\n{escape(value)}", FIELD_MAX_CHARS))
                    for name, value in summary.facts[:10]
                ],
            }
        )
    if summary.components:
        blocks.append(section(components(summary)))
    footer = f"{escape(message.page_name)} · {link(message.manage_url, 'Manage')}"
    blocks.append({"type": "context", "elements": [mrkdwn(footer)]})
    return {"text": escape(message.subject), "blocks": blocks}


def components(summary: Summary) -> str:
    lines = [
        f"• {escape(name)}: {escape(status)}" for name, status in summary.components
    ]
    return "*Affected components*\n" + "\n".join(lines)


def mrkdwn(text: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": text}


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": mrkdwn(clip(text, SECTION_MAX_CHARS))}


class Slack(HttpTransport):
    def request(self, delivery: Delivery, message: Message) -> Request | Result:
        return Request(
            url=delivery.subscriber.url,
            body=json_body(slack_body(message)),
            headers={"Content-Type": "application/json"},
        )
