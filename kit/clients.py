"""Who a request comes from: one answer for the rate limits, the sign-in throttle
and the audit log."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from django.utils.module_loading import import_string
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


def client_ip_exact(request: HttpRequest) -> str | None:
    """The client's own address, never masked (django-ratelimit counts IPv6 clients
    by their /64), for an allowlist: read where the rate limits read it
    (``RATELIMIT_IP_META_KEY`` behind a proxy, else the connection's address).

    None when it cannot be told: the header is missing (a request that came around
    the proxy would otherwise be judged by the proxy's address), holds a list, or
    is no address. An allowlist lets none of these in.
    """
    key = getattr(settings, "RATELIMIT_IP_META_KEY", None)
    if not key:
        value = request.META.get("REMOTE_ADDR")
    elif callable(key):
        value = key(request)
    elif "." in key:
        value = import_string(key)(request)
    else:
        value = request.META.get(key)
    if not isinstance(value, str):
        return None
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None
