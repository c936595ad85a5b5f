"""The access log: one line per request, with the secrets in paths left out.

Subscription links and heartbeat addresses carry their token in the path
(``/subscriptions/manage/<token>``, ``/heartbeat/<token>``), so a web server's own
access log would keep every one of them. This is the only access log: the web
server's is off (bin/run, README "Serving in production"). It writes to the logger
``heliograph.access``:

    GET /subscriptions/confirm/<token> 200 12.3ms

Query strings are left out too: they are the other place a client may put a secret.
Django's own request log (``Not Found: /heartbeat/<token>/``) goes through
``TokenFilter`` for the same reason.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import cache

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.http import HttpRequest, HttpResponseBase
from django.urls import URLPattern, URLResolver, get_resolver

log = logging.getLogger("heliograph.access")

# URL arguments that are secrets, by name: ours, and Django's and allauth's links.
SECRET_ARGUMENTS = frozenset({"token", "key", "uidb36", "uidb64"})
PLACEHOLDER = "<token>"


class AccessLogMiddleware:
    """Outermost, so the snapshot's answers are timed and logged too; it costs a
    line of logging and no query."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]):
        if not settings.ACCESS_LOG:
            raise MiddlewareNotUsed
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        started = time.perf_counter()
        response = self.get_response(request)
        elapsed_ms = (time.perf_counter() - started) * 1000
        log.info(
            "%s %s %s %.1fms",
            request.method,
            logged_path(request),
            response.status_code,
            elapsed_ms,
        )
        return response


def logged_path(request: HttpRequest) -> str:
    """The path with each secret segment replaced by ``<token>``.

    A path a view answered names its secrets in its URL arguments; one that
    matched no URL (``/heartbeat/<token>/``, a 404) is cut after the fixed start
    of a secret-bearing route it begins with.
    """
    path = request.path_info
    script = request.path[: len(request.path) - len(path)]
    match = request.resolver_match
    if match is not None:
        secrets = {
            str(match.kwargs[name]) for name in SECRET_ARGUMENTS & match.kwargs.keys()
        }
        if secrets:
            parts = path.split("/")
            path = "/".join(PLACEHOLDER if part in secrets else part for part in parts)
        return script + path
    for prefix in secret_prefixes():
        if path.startswith(prefix) and len(path) > len(prefix):
            return script + prefix + PLACEHOLDER
    return script + path


class TokenFilter(logging.Filter):
    """Rewrites a record about a request (``django.request``'s "Not Found: PATH"
    and the like carry it as ``record.request``) with the path's secrets out."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        if isinstance(request, HttpRequest):
            shown = logged_path(request)
            if shown != request.path:
                record.msg = record.getMessage().replace(request.path, shown)
                record.args = ()
        return True


@cache
def secret_prefixes() -> tuple[str, ...]:
    """The fixed starts of the routes with a secret argument: ``/heartbeat/``..."""
    found: list[str] = []
    _walk(get_resolver().url_patterns, "/", found)
    return tuple(found)


def _walk(
    patterns: list[URLPattern | URLResolver], prefix: str, found: list[str]
) -> None:
    for pattern in patterns:
        route = str(pattern.pattern).lstrip("^")  # a regex's start, for re_path
        if isinstance(pattern, URLResolver):
            _walk(pattern.url_patterns, prefix + route, found)
            continue
        start, bracket, rest = route.partition("<")
        if bracket and rest.split(">")[0].split(":")[-1] in SECRET_ARGUMENTS:
            found.append(prefix + start)
