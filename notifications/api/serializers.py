"""Subscribers in Statuspage's shape (``mode``, ``endpoint``, ``components``) with
Heliograph's own fields beside them (``state``, ``scope``, ``confirmed_at``), and
their deliveries.

No body carries a webhook's signing secret or a subscriber's link tokens, and a
Slack or Teams address, which lets whoever holds it post into that channel, is
shown only as its host.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from kit.api.fields import Flag, Text
from notifications.models import (
    Channel,
    Delivery,
    DeliveryState,
    Subscriber,
    SubscriberState,
)

# Statuspage's ``state`` filter values, and Heliograph's own name for unconfirmed.
STATES: dict[str, list[str]] = {
    "active": [SubscriberState.ACTIVE],
    "unconfirmed": [SubscriberState.PENDING],
    "pending": [SubscriberState.PENDING],
    "quarantined": [SubscriberState.QUARANTINED],
    "unsubscribed": [SubscriberState.UNSUBSCRIBED],
    "all": list(SubscriberState.values),
}
# Statuspage's subscriber types that Heliograph has none of: a filter, not an error.
STATUSPAGE_ONLY_TYPES = ("sms", "integration_partner")
SECRET_URL_CHANNELS = (Channel.SLACK, Channel.TEAMS)
NullableText = serializers.CharField(allow_null=True)


class SubscriberSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    mode = serializers.ChoiceField(
        source="channel", choices=Channel.choices, read_only=True
    )
    email = serializers.SerializerMethodField()
    endpoint = serializers.SerializerMethodField()
    components = serializers.SerializerMethodField()
    incident_id = serializers.CharField(
        source="incident.public_id", default=None, read_only=True, allow_null=True
    )

    class Meta:
        model = Subscriber
        fields: tuple[str, ...] = (
            "id",
            "mode",
            "email",
            "endpoint",
            "components",
            "quarantined_at",
            "created_at",
            "state",
            "scope",
            "incident_id",
            "confirmed_at",
            "unsubscribed_at",
        )
        read_only_fields = fields

    @extend_schema_field(NullableText)
    def get_email(self, subscriber: Subscriber) -> str | None:
        return subscriber.email or None

    @extend_schema_field(NullableText)
    def get_endpoint(self, subscriber: Subscriber) -> str | None:
        if not subscriber.url:
            return None
        if subscriber.channel in SECRET_URL_CHANNELS:
            parts = urlsplit(subscriber.url)
            return f"{parts.scheme}://{parts.hostname}/…"
        return subscriber.url

    def get_components(self, subscriber: Subscriber) -> list[str]:
        return [component.public_id for component in subscriber.components.all()]


class CreatedSubscriberSerializer(SubscriberSerializer):
    """The answer to a subscription: the only one with a webhook's signing secret."""

    signing_secret = serializers.CharField(
        read_only=True,
        allow_null=True,
        help_text="A webhook's signing secret (null for email), shown this once.",
    )

    class Meta(SubscriberSerializer.Meta):
        fields = (*SubscriberSerializer.Meta.fields, "signing_secret")
        read_only_fields = fields


class SubscriberInput(serializers.Serializer):
    email = Text(
        max_length=254,
        required=False,
        allow_blank=True,
        help_text="The address to mail; for a webhook, who to tell if it fails.",
    )
    endpoint = Text(
        max_length=2000,
        required=False,
        allow_blank=True,
        help_text="The URL of a webhook (or of a Slack or Teams incoming webhook).",
    )
    mode = serializers.ChoiceField(
        choices=Channel.choices,
        required=False,
        help_text="Defaults to webhook with an endpoint, email without.",
    )
    component_ids = serializers.ListField(
        child=Text(max_length=12),
        required=False,
        max_length=1000,
        help_text="Only these components (or groups); none or empty: the whole page.",
    )
    skip_confirmation_notification = Flag(
        default=False,
        help_text="Make an email subscriber active at once, without the "
        "confirmation mail (double opt-in).",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "mode" not in attrs:
            if not attrs.get("email") and not attrs.get("endpoint"):
                raise serializers.ValidationError(
                    {"email": ["Give an email address or an endpoint."]}
                )
            attrs["mode"] = Channel.WEBHOOK if attrs.get("endpoint") else Channel.EMAIL
        return attrs


class SubscriberChangeInput(serializers.Serializer):
    component_ids = serializers.ListField(
        child=Text(max_length=12),
        max_length=1000,
        help_text="Only these components (or groups); empty: the whole page.",
    )


class SubscriberFilter(serializers.Serializer):
    q = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="Only subscribers whose email address or endpoint contains this.",
    )
    type = serializers.ChoiceField(
        choices=[*Channel.values, *STATUSPAGE_ONLY_TYPES],
        required=False,
        help_text="Only subscribers of this mode.",
    )
    state = serializers.ChoiceField(
        choices=list(STATES),
        default="active",
        help_text="Only subscribers in this state (as in Statuspage, active unless "
        "given; `unconfirmed` awaits confirmation; `all` for every state).",
    )


class CountSerializer(serializers.Serializer):
    count = serializers.IntegerField()


class DeliverySerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    subscriber_id = serializers.CharField(source="subscriber.public_id", read_only=True)
    event_id = serializers.CharField(source="event.public_id", read_only=True)
    event = serializers.CharField(
        source="event.kind",
        read_only=True,
        help_text="What happened: incident.created, component.updated, test, ...",
    )
    incident_id = serializers.CharField(
        source="event.incident.public_id",
        default=None,
        read_only=True,
        allow_null=True,
    )
    channel = serializers.ChoiceField(
        source="subscriber.channel", choices=Channel.choices, read_only=True
    )

    class Meta:
        model = Delivery
        fields = (
            "id",
            "subscriber_id",
            "event_id",
            "event",
            "incident_id",
            "channel",
            "state",
            "attempts",
            "last_error",
            "next_attempt_at",
            "created_at",
            "delivered_at",
        )
        read_only_fields = fields


class DeliveryFilter(serializers.Serializer):
    state = serializers.ChoiceField(
        choices=DeliveryState.choices,
        required=False,
        help_text="Only deliveries in this state.",
    )
    channel = serializers.ChoiceField(
        choices=Channel.choices,
        required=False,
        help_text="Only deliveries to subscribers of this mode.",
    )
    incident_id = serializers.CharField(
        max_length=12, required=False, help_text="Only deliveries about this incident."
    )
