"""Signed tokens in subscribers' links: nothing to store, nothing to guess.

A confirmation link expires; manage and unsubscribe links do not (an old email's
unsubscribe link must keep working), and each token names its purpose so one
cannot be used as another.
"""

from __future__ import annotations

from django.core import signing

from .models import Subscriber

SALT = "heliograph.notifications.subscriber"
CONFIRM, MANAGE, UNSUBSCRIBE = "confirm", "manage", "unsubscribe"


class BadToken(Exception):
    pass


def token_for(subscriber: Subscriber, purpose: str) -> str:
    return signing.dumps({"s": subscriber.public_id, "p": purpose}, salt=SALT)


def subscriber_for(token: str, purpose: str, max_age: int | None = None) -> Subscriber:
    """The subscriber a token names, or BadToken (expired, forged, wrong purpose)."""
    try:
        data = signing.loads(token, salt=SALT, max_age=max_age)
    except signing.SignatureExpired:
        raise BadToken("This link has expired.") from None
    except signing.BadSignature:
        raise BadToken("This link is not valid.") from None
    if not isinstance(data, dict) or data.get("p") != purpose:
        raise BadToken("This link is not valid.")
    subscriber = Subscriber.objects.filter(public_id=data.get("s")).first()
    if subscriber is None:
        raise BadToken("This subscription no longer exists.")
    return subscriber
