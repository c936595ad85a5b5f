"""Request bodies: read whole however they are framed, and refused over the limit.

Django reads a body only as far as its ``Content-Length`` says. A chunked body
(``Transfer-Encoding: chunked``, or an HTTP/2 body sent without a length) has none,
so it was read as empty and the client told that a field it had sent was required.
Both servers Heliograph runs under, granian and gunicorn, hand the application such
a body already dechunked and mark it ``wsgi.input_terminated``: readable to its end.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase, JsonResponse

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
READ_CHUNK = 64 * 1024
NO_BODY = ("GET", "HEAD", "OPTIONS")


def declared_length(environ: dict[str, Any]) -> int:
    try:
        return max(int(environ.get("CONTENT_LENGTH") or 0), 0)
    except ValueError:
        return 0  # as Django reads it


def body_limit() -> int | None:
    limit: int | None = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return limit


class TerminatedBodies:
    """WSGI middleware: a body without ``Content-Length`` on a terminated input is
    read (up to one byte over ``DATA_UPLOAD_MAX_MEMORY_SIZE``) and handed on with
    the length it has, so Django and DRF read it as any other. One byte over the
    limit is enough to be refused as too large; the rest is never read."""

    def __init__(self, application: WSGIApp) -> None:
        self.application = application

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if (
            environ.get("wsgi.input_terminated")
            and not environ.get("CONTENT_LENGTH")
            and environ.get("REQUEST_METHOD") not in NO_BODY
        ):
            limit = body_limit()
            body = read_to_end(
                environ["wsgi.input"], None if limit is None else limit + 1
            )
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
        return self.application(environ, start_response)


def read_to_end(stream: Any, most: int | None) -> bytes:
    """Up to ``most`` bytes (all, if None): a server's ``read(n)`` may answer less
    than ``n`` before the end."""
    parts: list[bytes] = []
    size = 0
    while most is None or size < most:
        part = stream.read(READ_CHUNK if most is None else min(READ_CHUNK, most - size))
        if not part:
            break
        parts.append(part)
        size += len(part)
    return b"".join(parts)


class BodyLimitMiddleware:
    """Under ``/api/`` (the management API and the integrations), a body over
    ``DATA_UPLOAD_MAX_MEMORY_SIZE`` is a JSON 413 before anything reads it, where
    Django would raise ``RequestDataTooBig`` deep in the view and answer an HTML 400
    that says nothing of why."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        limit = body_limit()
        if (
            limit is not None
            and request.path_info.startswith("/api/")
            and declared_length(request.META) > limit
        ):
            return JsonResponse(
                {"error": f"The body must be at most {limit} bytes."}, status=413
            )
        return self.get_response(request)
