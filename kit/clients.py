"""Who a request comes from: one answer for the rate limits, the sign-in throttle
and the audit log."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from django_ratelimit.core import _get_ip  # type: ignore[import-untyped]


def client_address(request: HttpRequest) -> str | None:
    """The client's address exactly as django-ratelimit reads it (through
    RATELIMIT_IP_META_KEY behind a proxy), so the subscribe limit, the sign-in
    throttle and the audit log never disagree about who a client is.

    Where django-ratelimit finds none (the header is missing), the connection's
    address: those requests then share the proxy's count rather than escape it.
    A request made in code (``force_login``) has neither.
    """
    try:
        return str(_get_ip(request))
    except (KeyError, ImproperlyConfigured):
        return request.META.get("REMOTE_ADDR") or None
