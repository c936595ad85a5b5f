"""What a request answers when it fails: 503 while a server is out, else 500; and
404 for an address that names nothing.

The public pages come from the snapshot and need neither PostgreSQL nor Redis; the
staff console, the API views and the subscription forms need them. When one cannot
be reached they answer 503 with ``Retry-After``, naming the server that is out and
pointing to the public page, which still shows the last known state.

``server_error`` is ``handler500``: Django calls it, while the exception is being
handled, for whatever a view or a middleware raised (a session saved or a user
loaded lazily included). Neither answer touches the database or Redis: templates
are rendered without the request, so no context processor runs and neither the
session nor the user is loaded again. (The 404 page reads the status page's name,
and does without it while the database is out.)
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import redis
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.urls import Resolver404, resolve
from django.utils.cache import add_never_cache_headers
from django.views import defaults

RETRY_AFTER_SECONDS = 30

# What a person was using, by the URL namespace of the path that failed.
PARTS = {
    "admin": "The staff console",
    "api_v2": "The API",
    "notifications": "Subscribing to updates",
    "probes": "Receiving heartbeats",
}
ANY_PART = "This part of the status page"


@dataclass(frozen=True)
class Outage:
    """A server Heliograph depends on that cannot be reached."""

    server: str
    name: str


DATABASE = Outage("database", "the database (PostgreSQL)")
REDIS = Outage("redis", "Redis")


def outage_of(error: BaseException | None) -> Outage | None:
    """The server an error says is out, looking through the errors that caused it.

    Django raises its own ``OperationalError`` (or ``InterfaceError``) for a database
    it cannot connect to or lost; the cache and the snapshot raise Redis's own
    errors, which Celery wraps in its ``OperationalError`` as the cause.
    """
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, OperationalError | InterfaceError):
            return DATABASE
        if isinstance(error, redis.ConnectionError | redis.TimeoutError):
            return REDIS
        error = error.__cause__ or (
            None if error.__suppress_context__ else error.__context__
        )
    return None


def server_error(request: HttpRequest) -> HttpResponse:
    outage = outage_of(sys.exc_info()[1])
    if outage is not None:
        return service_unavailable(request, outage)
    if request.path_info.startswith("/api/"):
        return JsonResponse({"error": "Internal server error."}, status=500)
    return defaults.server_error(request)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """API clients get JSON for an address that names nothing, as for any error;
    people get the status page's header and a way home.

    The template finds the status page itself (the kit imports no app), and while
    the database is out falls back to the plain error page, which needs nothing.
    """
    if request.path_info.startswith("/api/"):
        return JsonResponse({"error": "Not found."}, status=404)
    body = loader.render_to_string("public/404.html", {"request": request})
    return HttpResponse(body, status=404)


def service_unavailable(request: HttpRequest, outage: Outage) -> HttpResponse:
    part = part_of(request.path_info)
    detail = (
        f"{part} is unavailable for now: {outage.name} cannot be reached. "
        "The public status page still shows the last known state."
    )
    response: HttpResponse
    if wants_json(request):
        body = {"error": f"{outage.server} unavailable", "detail": detail}
        response = JsonResponse(body, status=503)
    else:
        context = {"part": part, "outage": outage, "retry_after": RETRY_AFTER_SECONDS}
        response = HttpResponse(
            loader.render_to_string("503.html", context), status=503
        )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    add_never_cache_headers(response)
    return response


def part_of(path: str) -> str:
    try:
        namespace = resolve(path).namespace
    except Resolver404:
        return ANY_PART
    return PARTS.get(namespace, ANY_PART)


def wants_json(request: HttpRequest) -> bool:
    if request.path_info.startswith("/api/"):
        return True
    preferred = request.get_preferred_type(["text/html", "application/json"])
    return preferred == "application/json"
