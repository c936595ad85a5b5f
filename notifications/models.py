"""Subscribers, the outbox of events, and one delivery per (event, subscriber)."""

from __future__ import annotations

import base64
import secrets
from urllib.parse import urlsplit

from django.db import models
from django.db.models import Q
from django.utils import timezone

from incidents.models import Component, Incident, default_page_id
from kit.ids import new_public_id


def new_signing_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    WEBHOOK = "webhook", "Webhook"
    SLACK = "slack", "Slack"
    TEAMS = "teams", "Microsoft Teams"


class SubscriberState(models.TextChoices):
    PENDING = "pending", "Awaiting confirmation"
    ACTIVE = "active", "Active"
    QUARANTINED = "quarantined", "Quarantined"
    UNSUBSCRIBED = "unsubscribed", "Unsubscribed"


class Scope(models.TextChoices):
    PAGE = "page", "Everything on the page"
    COMPONENTS = "components", "Chosen components"
    INCIDENT = "incident", "One incident until it resolves"


# Channels whose URL is itself the credential (Slack's and Teams' incoming webhooks):
# whoever reads it can post to the channel. A webhook's is not: it is signed.
SECRET_URL_CHANNELS = frozenset({Channel.SLACK, Channel.TEAMS})
URL_PATH_SHOWN_CHARS = 12


def masked_url(url: str) -> str:
    """``https://hooks.slack.com/services/T0…``: enough to tell URLs apart, too
    little to post with. The whole URL was shown once, to whoever signed up."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path[:URL_PATH_SHOWN_CHARS]}…"


class Subscriber(models.Model):
    """Someone to tell: an address, or a URL (webhook, Slack, Teams) with a contact."""

    public_id = models.CharField(max_length=12, unique=True, default=new_public_id)
    page = models.ForeignKey(
        "incidents.Page",
        on_delete=models.CASCADE,
        related_name="subscribers",
        default=default_page_id,
    )
    channel = models.CharField(max_length=10, choices=Channel.choices)
    email = models.EmailField(
        blank=True, help_text="The address to mail, or a webhook's contact."
    )
    url = models.URLField(max_length=2000, blank=True)
    signing_secret = models.CharField(max_length=100, blank=True)
    scope = models.CharField(max_length=12, choices=Scope.choices, default=Scope.PAGE)
    components = models.ManyToManyField(Component, blank=True, related_name="+")
    incident = models.ForeignKey(
        Incident, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    state = models.CharField(
        max_length=12, choices=SubscriberState.choices, default=SubscriberState.PENDING
    )
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    quarantined_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    created_from = models.GenericIPAddressField(null=True, blank=True)
    # The version of a private page's rules the subscriber signed up under: a change
    # of the rules stops the page's news to them, unless their address is at a
    # domain the rules still allow (audience.PageAccess.version).
    access_version = models.PositiveIntegerField(null=True, blank=True)
    # The per-address limit on confirmation mail, shared by every process through
    # this row: the last one mailed, and how many since ``confirmations_since``.
    confirmation_sent_at = models.DateTimeField(null=True, blank=True)
    confirmations_since = models.DateTimeField(null=True, blank=True)
    confirmations_sent = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = [
            # One live email subscription per address; signing up again updates it.
            models.UniqueConstraint(
                fields=("email",),
                condition=Q(channel="email") & ~Q(state="unsubscribed"),
                name="one_live_email_subscription",
            )
        ]
        indexes = [models.Index(fields=("state", "scope"))]

    def __str__(self) -> str:
        return f"{self.get_channel_display()}: {self.shown_target}"

    @property
    def shown_target(self) -> str:
        """The address or URL as staff see it: Slack's and Teams' URLs masked."""
        if self.channel == Channel.EMAIL:
            return self.email
        if self.channel in SECRET_URL_CHANNELS:
            return masked_url(self.url)
        return self.url


class Event(models.Model):
    """The outbox: one row per announced change, written in the change's transaction.

    ``payload`` is the Statuspage body without ``meta`` (added per subscriber);
    ``component_ids`` are the components it touches, for scoped subscribers.
    """

    public_id = models.CharField(max_length=12, unique=True, default=new_public_id)
    kind = models.CharField(max_length=40)
    # Whose subscribers hear of it, in that page's words (null: the default page's,
    # for events recorded before pages were several).
    page = models.ForeignKey(
        "incidents.Page",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    incident = models.ForeignKey(
        Incident, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    component_ids = models.JSONField(default=list)
    payload = models.JSONField()
    subject = models.CharField(max_length=300)
    created_at = models.DateTimeField(default=timezone.now)
    fanned_out_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [models.Index(fields=("fanned_out_at", "created_at"))]

    def __str__(self) -> str:
        return f"{self.kind}: {self.subject}"


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Waiting to be sent"
    SENDING = "sending", "Being sent"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed for good"
    CANCELLED = "cancelled", "Cancelled"


class Delivery(models.Model):
    """One event for one subscriber; the database refuses a second one.

    ``public_id`` is the stable id receivers deduplicate on: the ``webhook-id`` and
    the email's Message-ID stay the same across retries and resends.
    """

    public_id = models.CharField(max_length=12, unique=True, default=new_public_id)
    event = models.ForeignKey(
        Event, on_delete=models.CASCADE, related_name="deliveries"
    )
    subscriber = models.ForeignKey(
        Subscriber, on_delete=models.CASCADE, related_name="deliveries"
    )
    state = models.CharField(
        max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    queued_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    # Refreshed by the claiming worker while it sends: a claim whose worker has
    # stopped saying so is returned to the queue by the sweep, within seconds.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = [
            models.UniqueConstraint(
                fields=("event", "subscriber"), name="one_delivery_per_event_subscriber"
            )
        ]
        indexes = [models.Index(fields=("state", "next_attempt_at"))]

    def __str__(self) -> str:
        return f"{self.event} to {self.subscriber}: {self.state}"

    @property
    def webhook_id(self) -> str:
        return f"msg_{self.public_id}"


class Attempt(models.Model):
    """One try at a delivery and what the other side answered.

    Written when the try starts, before anything is sent, and completed with the
    answer (``finished_at``): a worker that dies mid-send leaves its attempt
    unfinished, and the sweep marks it ``interrupted``. The receiver may have had
    the message; the retry carries the same id, so it can tell.
    """

    delivery = models.ForeignKey(
        Delivery, on_delete=models.CASCADE, related_name="attempt_log"
    )
    number = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField(default=timezone.now)
    duration_ms = models.FloatField(null=True, blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response = models.CharField(max_length=300, blank=True)
    error = models.CharField(max_length=300, blank=True)
    succeeded = models.BooleanField(default=False)
    permanent = models.BooleanField(default=False)
    finished_at = models.DateTimeField(null=True, blank=True)
    interrupted = models.BooleanField(default=False)

    class Meta:
        ordering = ("-started_at", "-id")

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.delivery}"
