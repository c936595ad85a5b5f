"""Subscribers' lifecycle: sign up, confirm, change scope, leave, and staff's care."""

from __future__ import annotations

import contextlib
import datetime as dt
import math
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from audience.selectors import rules_for
from audit.recording import record
from incidents.models import Component, Incident, Page
from incidents.selectors import PublicState
from kit.tasks import enqueue
from visitor.api.serializers import V2

from ..models import (
    Channel,
    Delivery,
    DeliveryState,
    Event,
    Scope,
    Subscriber,
    SubscriberState,
    new_signing_secret,
)
from ..tokens import CONFIRM, subscriber_for
from ..transports.webhook import check_url  # the SSRF rules live with the sender
from .delivery import after_commit, deliveries_enqueue

TEST_EVENT = "test"


def _check_email(email: str, field: str = "email") -> str:
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({field: "Enter a valid email address."}) from None
    return email


def _check_scope(
    scope: str, components: list[Component], incident: Incident | None, page: Page
) -> None:
    """The scope, and that what it names is on the subscriber's page."""
    if scope not in Scope.values:
        raise ValidationError({"scope": f"Choose one of {', '.join(Scope.values)}."})
    if scope == Scope.COMPONENTS:
        if not components:
            raise ValidationError({"components": "Choose at least one component."})
        if any(component.is_deleted for component in components):
            raise ValidationError({"components": "A chosen component was deleted."})
        on_page = set(page.components.values_list("pk", flat=True))
        if any(component.pk not in on_page for component in components):
            raise ValidationError(
                {"components": "A chosen component is not on this page."}
            )
    if scope == Scope.INCIDENT:
        if incident is None or not incident.is_open:
            raise ValidationError(
                {"incident": "Choose an incident that is still open."}
            )
        if not page.incidents.filter(pk=incident.pk).exists():
            raise ValidationError(
                {"incident": "This page does not show that incident."}
            )


def _check_url(channel: str, url: str) -> str:
    if not url:
        raise ValidationError({"url": "Enter the URL to send notifications to."})
    return check_url(url)


@transaction.atomic
def subscriber_subscribe(
    *,
    channel: str,
    email: str = "",
    url: str = "",
    scope: str = Scope.PAGE,
    components: Iterable[Component] = (),
    incident: Incident | None = None,
    client_ip: str | None = None,
    skip_confirmation: bool = False,
    page: Page | None = None,
) -> tuple[Subscriber, str | None]:
    """Sign someone up. Email waits for confirmation (double opt-in) unless staff
    skip it (the management API may: the address is then active at once and no
    confirmation is mailed); a webhook is active at once and gets its signing
    secret, returned here once."""
    if channel not in Channel.values:
        raise ValidationError(
            {"channel": f"Choose one of {', '.join(Channel.values)}."}
        )
    page = page or Page.get()
    components = list(components)
    _check_scope(scope, components, incident, page)
    if channel == Channel.EMAIL:
        subscriber = _email_subscriber(_check_email(email), page)
        if skip_confirmation and subscriber.state == SubscriberState.PENDING:
            subscriber.state = SubscriberState.ACTIVE
            subscriber.confirmed_at = timezone.now()
    else:
        subscriber = Subscriber(
            page=page,
            channel=channel,
            url=_check_url(channel, url),
            email=_check_email(email, "email")
            if email or channel == Channel.WEBHOOK
            else "",
            state=SubscriberState.ACTIVE,
            confirmed_at=timezone.now(),
        )
    secret = None
    if channel == Channel.WEBHOOK:
        subscriber.signing_secret = secret = new_signing_secret()
    subscriber.scope, subscriber.incident = scope, incident
    subscriber.created_from = client_ip
    _access, rules = rules_for(page)
    subscriber.access_version = rules.version if rules is not None else None
    subscriber.save()
    subscriber.components.set(components)
    if subscriber.state == SubscriberState.PENDING:
        # Past the address's share the sign-up still counts, silently: the answer
        # must not tell whether an address is subscribed, or was just mailed.
        with contextlib.suppress(ConfirmationLimited):
            _confirmation_queue(subscriber)
    return subscriber, secret


class ConfirmationLimited(Exception):
    """The address had its share of confirmation mail; ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        interval = settings.NOTIFICATIONS_CONFIRM_INTERVAL_SECONDS
        per_day = settings.NOTIFICATIONS_CONFIRM_PER_DAY
        super().__init__(
            f"A confirmation was mailed to this address recently: at most one goes "
            f"every {interval} seconds and {per_day} a day."
        )
        self.retry_after = retry_after


def _confirmation_queue(subscriber: Subscriber) -> None:
    """Mail the confirmation after commit, if the address's limit allows it.

    The limit holds for every path and process: the row's conditional UPDATE
    grants each mail, and the database lets only one of two racing requests in.
    """
    wait = confirmation_claim(subscriber_id=subscriber.pk)
    if wait:
        raise ConfirmationLimited(wait)
    after_commit(
        lambda: enqueue("notifications.tasks.confirmation_send", args=(subscriber.pk,)),
        f"the confirmation of subscriber {subscriber.pk}",
    )


def confirmation_claim(*, subscriber_id: int) -> int:
    """Take one confirmation mail of the address's share: 0 if taken, or else the
    seconds until the next may go.

    1. A new day (none mailed yet, or the first of the count is a day old) starts
       the count again at one, if the interval since the last mail has passed.
    2. Otherwise the count goes up by one, if it is under the day's share and the
       interval has passed.
    """
    now = timezone.now()
    interval = dt.timedelta(seconds=settings.NOTIFICATIONS_CONFIRM_INTERVAL_SECONDS)
    day_ago = now - dt.timedelta(days=1)
    rested = Q(confirmation_sent_at__isnull=True) | Q(
        confirmation_sent_at__lte=now - interval
    )
    new_day = Q(confirmations_since__isnull=True) | Q(confirmations_since__lte=day_ago)
    rows = Subscriber.objects.filter(rested, pk=subscriber_id)
    if rows.filter(new_day).update(
        confirmation_sent_at=now, confirmations_since=now, confirmations_sent=1
    ):
        return 0
    under_share = Q(confirmations_sent__lt=settings.NOTIFICATIONS_CONFIRM_PER_DAY)
    if rows.filter(under_share).update(
        confirmation_sent_at=now, confirmations_sent=F("confirmations_sent") + 1
    ):
        return 0
    return _confirmation_wait(Subscriber.objects.get(pk=subscriber_id), now, interval)


def _confirmation_wait(
    subscriber: Subscriber, now: dt.datetime, interval: dt.timedelta
) -> int:
    ready = [(subscriber.confirmation_sent_at or now) + interval]
    if subscriber.confirmations_sent >= settings.NOTIFICATIONS_CONFIRM_PER_DAY:
        ready.append((subscriber.confirmations_since or now) + dt.timedelta(days=1))
    return max(1, math.ceil((max(ready) - now).total_seconds()))


@transaction.atomic
def subscriber_resend_confirmation(*, subscriber: Subscriber) -> Subscriber:
    """Mail the confirmation link again, with a fresh expiry, to an email
    subscriber still awaiting it; raises ConfirmationLimited past the address's
    share (staff are told; visitors never are)."""
    if (
        subscriber.channel != Channel.EMAIL
        or subscriber.state != SubscriberState.PENDING
    ):
        raise ValidationError(
            f"Only an email subscriber awaiting confirmation can be sent one; this "
            f"one is {subscriber.get_state_display().lower()}."
        )
    _confirmation_queue(subscriber)
    return subscriber


def _email_subscriber(email: str, page: Page) -> Subscriber:
    """Signing up to a page again updates the live subscription rather than adding
    one."""
    existing = (
        Subscriber.objects.select_for_update()
        .filter(channel=Channel.EMAIL, email=email, page=page)
        .exclude(state=SubscriberState.UNSUBSCRIBED)
        .first()
    )
    return existing or Subscriber(
        page=page, channel=Channel.EMAIL, email=email, state=SubscriberState.PENDING
    )


def subscriber_confirm(*, token: str) -> Subscriber:
    """Confirm an email subscription from its link; the link expires."""
    subscriber = subscriber_for(
        token, CONFIRM, max_age=settings.NOTIFICATIONS_CONFIRM_MAX_AGE_SECONDS
    )
    if subscriber.state == SubscriberState.PENDING:
        subscriber.state = SubscriberState.ACTIVE
        subscriber.confirmed_at = timezone.now()
        subscriber.save(update_fields=["state", "confirmed_at"])
    return subscriber


@transaction.atomic
def subscriber_set_scope(
    *,
    subscriber: Subscriber,
    scope: str,
    components: Iterable[Component] = (),
    incident: Incident | None = None,
) -> Subscriber:
    components = list(components)
    _check_scope(scope, components, incident, subscriber.page)
    subscriber.scope, subscriber.incident = scope, incident
    subscriber.save(update_fields=["scope", "incident"])
    subscriber.components.set(components)
    return subscriber


@transaction.atomic
def subscriber_unsubscribe(*, subscriber: Subscriber) -> Subscriber:
    """Leave for good: nothing more is sent, not even what is already planned."""
    subscriber.state = SubscriberState.UNSUBSCRIBED
    subscriber.unsubscribed_at = timezone.now()
    subscriber.save(update_fields=["state", "unsubscribed_at"])
    Delivery.objects.filter(subscriber=subscriber, state=DeliveryState.PENDING).update(
        state=DeliveryState.CANCELLED
    )
    return subscriber


@transaction.atomic
def subscriber_reactivate(*, subscriber: Subscriber) -> Subscriber:
    """Staff: send to a quarantined webhook again."""
    if subscriber.state != SubscriberState.QUARANTINED:
        raise ValidationError("Only a quarantined subscriber can be reactivated.")
    subscriber.state = SubscriberState.ACTIVE
    subscriber.quarantined_at = None
    subscriber.save(update_fields=["state", "quarantined_at"])
    return subscriber


@transaction.atomic
def delivery_resend(*, delivery: Delivery) -> Delivery:
    """Staff: send a delivery again now. It keeps its id, so receivers that already
    have it can drop the repeat."""
    delivery = Delivery.objects.select_for_update().get(pk=delivery.pk)
    if delivery.state == DeliveryState.SENDING:
        raise ValidationError("This delivery is being sent right now; try again soon.")
    was = delivery.state
    delivery.state = DeliveryState.PENDING
    delivery.next_attempt_at = timezone.now()
    delivery.save(update_fields=["state", "next_attempt_at"])
    record(
        "resent",
        instance=delivery,
        object_repr=f"delivery {delivery.public_id}",
        changes={"state": [was, delivery.state]},
    )
    after_commit(
        lambda: deliveries_enqueue(Delivery.objects.filter(pk=delivery.pk)),
        f"delivery {delivery.pk}",
    )
    return delivery


@transaction.atomic
def subscriber_send_test(*, subscriber: Subscriber) -> Delivery:
    """Send one test event to this subscriber only."""
    if subscriber.state != SubscriberState.ACTIVE:
        raise ValidationError(
            f"Only an active subscriber can get a test event; this one is "
            f"{subscriber.get_state_display().lower()}."
        )
    v2 = V2(PublicState.load(subscriber.page))
    status = v2.status()
    event = Event.objects.create(
        kind=TEST_EVENT,
        page=subscriber.page,
        payload={
            "page": {
                "id": v2.page_id,
                "status_indicator": status["indicator"],
                "status_description": status["description"],
            },
            "test": True,
        },
        subject=f"[{v2.state.page.name}] Test notification",
        fanned_out_at=timezone.now(),
    )
    delivery = Delivery.objects.create(event=event, subscriber=subscriber)
    record(
        "sent_test",
        instance=subscriber,
        changes={"delivery": [None, delivery.public_id]},
    )
    after_commit(
        lambda: deliveries_enqueue(Delivery.objects.filter(pk=delivery.pk)),
        f"delivery {delivery.pk}",
    )
    return delivery
