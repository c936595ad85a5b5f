"""Slack and Microsoft Teams incoming webhooks, received by a real server."""

from __future__ import annotations

import json
from typing import Any

import pytest

from incidents import services
from notifications.models import Channel
from notifications.services.subscribers import subscriber_send_test
from notifications.transports.slack import Slack
from notifications.transports.teams import ADAPTIVE_CARD, Teams
from tests.conftest import make_component, make_incident, make_maintenance, make_page
from tests.notifications.receivers import (
    Receiver,
    batch_of,
    event_of,
    make_delivery,
    make_url_subscriber,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("allow_private_targets")]


def posted(receiver: Receiver) -> dict[str, Any]:
    [hit] = receiver.hits
    assert hit.headers["Content-Type"] == "application/json"
    assert "webhook-signature" not in hit.headers  # chat hooks are not signed
    body: dict[str, Any] = json.loads(hit.body)
    return body


def all_text(blocks: list[dict[str, Any]]) -> str:
    """Every mrkdwn text of Slack blocks, in order."""
    texts = []
    for block in blocks:
        if "text" in block:
            texts.append(block["text"]["text"])
        texts += [field["text"] for field in block.get("fields", [])]
        texts += [element["text"] for element in block.get("elements", [])]
    return "\n".join(texts)


def card_of(body: dict[str, Any]) -> dict[str, Any]:
    assert body["type"] == "message"
    [attachment] = body["attachments"]
    assert attachment["contentType"] == ADAPTIVE_CARD
    card: dict[str, Any] = attachment["content"]
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.4")
    return card


def card_texts(card: dict[str, Any]) -> list[str]:
    return [item["text"] for item in card["body"] if item["type"] == "TextBlock"]


def card_facts(card: dict[str, Any]) -> dict[str, str]:
    return {
        fact["title"]: fact["value"]
        for item in card["body"]
        if item["type"] == "FactSet"
        for fact in item["facts"]
    }


def test_it_posts_an_incident_to_slack_escaped_with_its_link_and_components(
    receiver: Receiver,
) -> None:
    make_page(name="Acme", url="https://status.acme.test")
    api = make_component(name="API")
    make_component(name="Web")
    subscriber, _ = make_url_subscriber(receiver.url("/slack"), Channel.SLACK)
    make_incident(
        name="API <errors> & timeouts",
        body="Requests fail with <code>500</code> & retries.",
        component_statuses={api: "major_outage"},
    )
    delivery = make_delivery(event_of("incident.created"), subscriber)

    [result] = Slack().send(batch_of(delivery))

    assert (result.ok, result.status_code) == (True, 200)
    body = posted(receiver)
    assert body["text"] == ("[Acme] Investigating: API &lt;errors&gt; &amp; timeouts")
    text = all_text(body["blocks"])
    assert "|API &lt;errors&gt; &amp; timeouts>*" in text
    assert "*Investigating*" in text
    assert "Requests fail with &lt;code&gt;500&lt;/code&gt; &amp; retries." in text
    assert "*Impact*\nCritical" in text
    assert "*Affected components*\n• API: Major outage" in text
    assert "Web" not in text
    assert "<https://status.acme.test/subscriptions/" in text  # manage link
    assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in body["blocks"])


def test_it_links_slack_to_the_incident_shortlink(receiver: Receiver) -> None:
    make_page(url="https://status.acme.test")
    subscriber, _ = make_url_subscriber(receiver.url("/slack"), Channel.SLACK)
    make_incident(name="Outage")
    event = event_of("incident.created")
    delivery = make_delivery(event, subscriber)

    Slack().send(batch_of(delivery))

    shortlink = event.payload["incident"]["shortlink"]
    assert f"<{shortlink}|Outage>" in all_text(posted(receiver)["blocks"])


def test_it_posts_a_component_change_to_slack(receiver: Receiver) -> None:
    make_page()
    api = make_component(name="API")
    subscriber, _ = make_url_subscriber(receiver.url("/slack"), Channel.SLACK)
    services.component_set_status(component=api, status="partial_outage", source="api")
    delivery = make_delivery(event_of("component.updated"), subscriber)

    [result] = Slack().send(batch_of(delivery))

    assert result.ok
    text = all_text(posted(receiver)["blocks"])
    assert "*Partial outage*" in text
    assert "API is now partial outage (was operational)." in text


def test_it_posts_an_incident_to_teams_as_an_adaptive_card(receiver: Receiver) -> None:
    make_page(name="Acme", url="https://status.acme.test")
    api = make_component(name="API")
    subscriber, _ = make_url_subscriber(receiver.url("/teams"), Channel.TEAMS)
    make_incident(
        name="API errors",
        body="Looking into it.",
        component_statuses={api: "degraded_performance"},
    )
    event = event_of("incident.created")
    delivery = make_delivery(event, subscriber)

    [result] = Teams().send(batch_of(delivery))

    assert result.ok
    card = card_of(posted(receiver))
    assert card_texts(card) == [
        "Acme",
        "API errors",
        "Investigating",
        "Looking into it.",
        "Affected components",
    ]
    assert card_facts(card) == {"Impact": "Minor", "API": "Degraded performance"}
    status = next(i for i in card["body"] if i.get("text") == "Investigating")
    assert status["color"] == "Warning"
    view, manage = card["actions"]
    assert view == {
        "type": "Action.OpenUrl",
        "title": "View",
        "url": event.payload["incident"]["shortlink"],
    }
    assert manage["url"].startswith("https://status.acme.test/subscriptions/")


def test_it_posts_a_scheduled_maintenance_with_its_window_to_teams(
    receiver: Receiver,
) -> None:
    make_page(time_zone="UTC")
    subscriber, _ = make_url_subscriber(receiver.url("/teams"), Channel.TEAMS)
    maintenance = make_maintenance(name="Database upgrade")
    delivery = make_delivery(event_of("maintenance.scheduled"), subscriber)

    [result] = Teams().send(batch_of(delivery))

    assert result.ok
    card = card_of(posted(receiver))
    assert card_texts(card)[1:3] == ["Database upgrade", "Scheduled"]
    facts = card_facts(card)
    start = maintenance.scheduled_for
    assert start is not None
    assert facts["Scheduled for"].startswith(
        f"{start:%b} {start.day}, {start:%Y, %H:%M}"
    )
    assert facts["Scheduled for"].endswith("UTC")
    assert "Until" in facts


def test_it_posts_a_test_event_to_slack_and_teams(receiver: Receiver) -> None:
    make_page(name="Acme")
    slack, _ = make_url_subscriber(receiver.url("/slack"), Channel.SLACK)
    teams, _ = make_url_subscriber(receiver.url("/teams"), Channel.TEAMS)

    [slack_result] = Slack().send(batch_of(subscriber_send_test(subscriber=slack)))
    [teams_result] = Teams().send(batch_of(subscriber_send_test(subscriber=teams)))

    assert slack_result.ok and teams_result.ok
    [to_slack] = receiver.hits_on("/slack")
    [to_teams] = receiver.hits_on("/teams")
    assert "Acme can post here" in all_text(json.loads(to_slack.body)["blocks"])
    card = card_of(json.loads(to_teams.body))
    assert "Test notification" in card_texts(card)


@pytest.mark.parametrize("transport", [Slack, Teams])
def test_it_sorts_chat_answers_like_webhooks(
    receiver: Receiver, transport: Any
) -> None:
    make_page()
    make_incident(name="Outage")
    event = event_of("incident.created")
    batch = [
        make_delivery(event, make_url_subscriber(receiver.url(path), "slack")[0])
        for path in ("/hook", "/gone", "/fail", "/redirect")
    ]

    results = transport().send(batch_of(*batch))

    assert [(r.ok, r.permanent, r.status_code) for r in results] == [
        (True, False, 200),
        (False, True, 410),
        (False, False, 500),
        (False, False, 307),
    ]
    assert receiver.hits_on("/target") == []
