"""Every request's writes are recorded under the request's author."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase

from .context import acting, request_actor


class AuditActorMiddleware:
    """After the session's user is known. The author is resolved when a row is
    written, so an API token or an integration that authenticates later in the
    request is the author of what it writes."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        with acting(lambda: request_actor(request)):
            return self.get_response(request)
