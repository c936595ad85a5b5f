"""Writes to API tokens."""

from __future__ import annotations

import datetime as dt
import secrets

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from statuspage.digests import secret_digest

from .models import PREFIX_LENGTH, TOKEN_PREFIX, ApiToken, TokenScope

# last_used_at is for people, to the minute: finer would cost a write per request.
TOUCH_INTERVAL = dt.timedelta(minutes=1)


def token_create(
    *, user: User, name: str, scope: TokenScope | str
) -> tuple[ApiToken, str]:
    """Make a token; the plaintext is returned this once and stored nowhere."""
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user,
            name=name,
            scope=TokenScope(scope),
            prefix=plaintext[:PREFIX_LENGTH],
            hash=secret_digest(plaintext),
        )
    return token, plaintext


def token_revoke(*, token: ApiToken) -> ApiToken:
    """Revoke ``token``; revoking again keeps the first time."""
    with transaction.atomic():
        ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        token.refresh_from_db(fields=["revoked_at"])
    return token


def token_touch(*, token: ApiToken) -> None:
    """Record a use, at most once per TOUCH_INTERVAL (the filter keeps concurrent
    requests from writing twice)."""
    now = timezone.now()
    if token.last_used_at is not None and now - token.last_used_at < TOUCH_INTERVAL:
        return
    stale = Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - TOUCH_INTERVAL)
    with transaction.atomic():
        ApiToken.objects.filter(stale, pk=token.pk).update(last_used_at=now)
    token.last_used_at = now
