"""The staff console checks its servers before any of its pages is shown."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponseBase
from django.urls import reverse

from kit.servers import redis_client


def servers_check() -> None:
    """Raise the database's or Redis's own error when either cannot be reached.

    An open connection is checked once per request (``CONN_HEALTH_CHECKS``), and
    reopened if the server came back; Redis answers a PING.
    """
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    if settings.REDIS_URL:
        redis_client(settings.REDIS_URL, settings.REDIS_TIMEOUT_SECONDS).ping()


class ConsoleServersMiddleware:
    """Every console page needs PostgreSQL, and every change needs Redis to reach
    the public page. Without this check the sign-in page would still show while
    PostgreSQL is out, only to fail once the password is sent, and a change saved
    while Redis is out would reach the public page only after Redis is back.
    ``handler500`` turns the error into a 503 naming the server (kit.errors).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]):
        self.get_response = get_response
        # At start-up: no script prefix yet. Signing in is part of the console.
        self.console = (
            reverse("admin:index"),
            reverse("account_login").removesuffix("login/"),
        )

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if request.path_info.startswith(self.console):
            servers_check()
        return self.get_response(request)
