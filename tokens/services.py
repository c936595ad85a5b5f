"""Writes to API tokens."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from access.permissions import may_manage_token_of, require
from kit.digests import secret_digest

from .models import PREFIX_LENGTH, TOKEN_PREFIX, ApiToken, TokenScope

# last_used_at is for people, to the minute: finer would cost a write per request.
TOUCH_INTERVAL = dt.timedelta(minutes=1)


def token_create(
    *, user: User, name: str, scope: TokenScope | str, by: Any = None
) -> tuple[ApiToken, str]:
    """Make a token; the plaintext is returned this once and stored nowhere.

    ``by`` is who asks (None: the operator at the command line). Anyone with the
    token permission may make their own; only admins one for another user, since
    a token acts with its owner's permissions.
    """
    _check_manager(by, user, "tokens.add_apitoken")
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


def token_revoke(*, token: ApiToken, by: Any = None) -> ApiToken:
    """Revoke ``token``; revoking again keeps the first time."""
    _check_manager(by, token.user, "tokens.change_apitoken")
    with transaction.atomic():
        locked = ApiToken.objects.select_for_update().get(pk=token.pk)
        if locked.revoked_at is None:
            locked.revoked_at = timezone.now()
            locked.save(update_fields=["revoked_at"])
        token.revoked_at = locked.revoked_at
    return token


def _check_manager(by: Any, owner: User, permission: str) -> None:
    if by is None:
        return
    require(by, permission)
    if not may_manage_token_of(by, owner):
        raise PermissionDenied(
            "Only admins may create or revoke API tokens of other users."
        )


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
