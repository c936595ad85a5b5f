"""Sign-in throttling with django-axes: failures per account and per client address.

Axes keeps one failure limit and counts failures per lockout parameter
(AXES_LOCKOUT_PARAMETERS: the username, then the address). Heliograph wants a limit
for each, so ``SignInThrottle`` reports the address's count on the account's scale.
"""

from __future__ import annotations

import math
from typing import Any

from axes.handlers.database import AxesDatabaseHandler
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse


def client_username(
    request: HttpRequest, credentials: dict[str, Any] | None
) -> str | None:
    """The account a sign-in names, as the sign-in finds it: usernames match
    whatever their case, so "Ada" and "ada" share one count."""
    credentials = credentials or {}
    value = credentials.get("username") or credentials.get("login")
    if value is None:
        value = request.POST.get("login") or request.POST.get("username")
    return str(value).strip().lower() or None if value else None


def failure_counts(
    handler: AxesDatabaseHandler,
    request: HttpRequest,
    credentials: dict[str, Any] | None,
) -> tuple[int, int]:
    """Recent failures (within the cool-off) for the account and the address."""
    account, address = (
        attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0
        for attempts in handler.get_user_attempts(request, credentials)
    )
    return account, address


class SignInThrottle(AxesDatabaseHandler):
    def get_failures(
        self, request: HttpRequest, credentials: dict[str, Any] | None = None
    ) -> int:
        """The account's failures, or the address's scaled to the account's limit
        when nearer to its own: axes locks out at AXES_FAILURE_LIMIT (the account
        limit), and floor(address * account_limit / address_limit) reaches it
        exactly when the address reaches its limit."""
        account, address = failure_counts(self, request, credentials)
        scaled = math.floor(
            address
            * settings.SIGNIN_ACCOUNT_FAILURE_LIMIT
            / settings.SIGNIN_ADDRESS_FAILURE_LIMIT
        )
        return max(account, scaled)


def lockout_message(request: HttpRequest, credentials: dict[str, Any] | None) -> str:
    account, _ = failure_counts(SignInThrottle(), request, credentials)
    whom = (
        "for this account"
        if account >= settings.SIGNIN_ACCOUNT_FAILURE_LIMIT
        else "from your network address"
    )
    minutes = settings.SIGNIN_LOCKOUT_MINUTES
    return (
        f"Too many failed sign-ins {whom}; try again in {minutes} minutes. "
        "An administrator can lift the lock sooner."
    )


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None,
    credentials: dict[str, Any] | None,
) -> HttpResponse:
    response = TemplateResponse(
        request,
        "accounts/lockout.html",
        {"message": lockout_message(request, credentials)},
        status=429,
    )
    response["Retry-After"] = str(settings.SIGNIN_LOCKOUT_MINUTES * 60)
    return response.render()
