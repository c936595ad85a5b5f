"""Mail that is not an event: the double opt-in confirmation."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from .models import Channel, Subscriber, SubscriberState
from .rendering import absolute
from .tokens import CONFIRM, token_for
from .transports.email import automatic, one_line, sender

UNITS = (("day", 86400), ("hour", 3600), ("minute", 60))


def duration(seconds: int) -> str:
    """ "3 days", "12 hours", "30 minutes": how long a confirmation link lasts."""
    unit, size = next(
        ((unit, size) for unit, size in UNITS if seconds % size == 0),
        ("minute", 60),
    )
    count = max(seconds // size, 1)
    return f"{count} {unit}{'' if count == 1 else 's'}"


def confirmation_send(*, subscriber_id: int) -> None:
    """Mail the confirmation link to an email subscriber still awaiting it.

    Nothing is sent once the subscription is confirmed or cancelled: the task may
    run late or twice.
    """
    subscriber = Subscriber.objects.filter(
        pk=subscriber_id, channel=Channel.EMAIL, state=SubscriberState.PENDING
    ).first()
    if subscriber is None:
        return
    page = subscriber.page
    path = reverse(
        "notifications:confirm", kwargs={"token": token_for(subscriber, CONFIRM)}
    )
    context = {
        "page": page,
        "subscriber": subscriber,
        "confirm_url": absolute(page, path),
        "expires": duration(settings.NOTIFICATIONS_CONFIRM_MAX_AGE_SECONDS),
    }
    email = EmailMultiAlternatives(
        subject=one_line(f"Confirm your subscription to {page.name} status updates"),
        body=render_to_string("notifications/email/confirm.txt", context),
        from_email=sender(page.name),
        to=[subscriber.email],
        headers=automatic({}),
    )
    email.attach_alternative(
        render_to_string("notifications/email/confirm.html", context), "text/html"
    )
    email.send()
