"""Answer public GET and HEAD requests from the snapshot, without the database.

First in ``MIDDLEWARE``: a request for a published path never reaches sessions,
authentication or a view. Everything else (the staff console, forms, POSTs, a path
not published yet, a history page beyond the published ones) goes on as usual.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.html import format_html
from django.utils.http import http_date, parse_http_date_safe
from django.utils.timesince import timesince

from . import artifacts
from .store import Entry, Manifest, current_reader

# Where base.html lets the stale notice go; a comment, so exported pages show none.
PLACEHOLDER = b"<!--heliograph:freshness-->"
AGE_HEADER = "X-Heliograph-Snapshot-Age"
VERSION_HEADER = "X-Heliograph-Snapshot-Version"


def cache_control() -> str:
    return (
        f"public, max-age={settings.SNAPSHOT_MAX_AGE}, "
        f"stale-while-revalidate={settings.SNAPSHOT_STALE_WHILE_REVALIDATE}, "
        f"stale-if-error={settings.SNAPSHOT_STALE_IF_ERROR}"
    )


def artifact_key(request: HttpRequest, manifest: Manifest) -> str | None:
    """The artifact a request asks for; None when only the view can answer it.

    The query string is ignored, except ``?page=`` on history: page 1 (or a
    malformed number, which the view shows as page 1) is the plain path.
    """
    path = request.path_info
    url_name, parameter = artifacts.PAGED
    value = request.GET.get(parameter)
    if value is None or not value.isdigit() or int(value) <= 1:
        return path
    if path != artifacts.path_of(url_name):
        return path
    key = f"{path}?{parameter}={int(value)}"
    return key if key in manifest.artifacts else None


def stale_notice(rendered_at: float, now: float) -> bytes:
    since = timesince(_datetime(rendered_at), _datetime(now), depth=1)
    return format_html(
        '<div class="stale-notice" role="status">'
        "<p><strong>This page may be out of date.</strong> It shows the status as "
        'of <time datetime="{}">{} ago</time>; newer information could not be '
        "published since.</p></div>",
        _datetime(rendered_at).isoformat(timespec="seconds"),
        since,
    ).encode()


def _datetime(epoch: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, dt.UTC)


def _not_modified(request: HttpRequest, etag: str, modified_at: float) -> bool:
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or etag in tags
    if_modified_since = request.headers.get("If-Modified-Since")
    if if_modified_since is None:
        return False
    since = parse_http_date_safe(if_modified_since)
    return since is not None and int(modified_at) <= since


class SnapshotMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]):
        self.get_response = get_response
        self._version = -1
        self._prepared: dict[str, dict[str, str]] = {}

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if request.method in ("GET", "HEAD") and not self._must_pass(request):
            response = self.respond(request)
            if response is not None:
                return response
        return self.get_response(request)

    def _must_pass(self, request: HttpRequest) -> bool:
        """A bad Host or a plain-HTTP request to redirect: the usual chain answers."""
        try:
            request.get_host()
        except DisallowedHost:
            return True
        return settings.SECURE_SSL_REDIRECT and not request.is_secure()

    def respond(self, request: HttpRequest) -> HttpResponse | None:
        reader = current_reader()
        manifest = reader.manifest()
        if manifest is None:
            return None
        key = artifact_key(request, manifest)
        entry = manifest.artifacts.get(key) if key else None
        body = reader.body(entry) if entry else None
        if key is None or entry is None or body is None:
            return None
        headers = dict(self._fixed_headers(manifest.version, key, entry))
        now = time.time()
        age = max(0, int(now - manifest.rendered_at))
        if age > settings.SNAPSHOT_STALE_AFTER_SECONDS and PLACEHOLDER in body:
            body = body.replace(PLACEHOLDER, stale_notice(manifest.rendered_at, now), 1)
            headers["ETag"] = f'"{entry.etag}-{age // 60}"'  # the notice's wording
        headers[AGE_HEADER] = str(age)
        if settings.SECURE_HSTS_SECONDS and request.is_secure():
            headers["Strict-Transport-Security"] = _hsts()
        if _not_modified(request, headers["ETag"], entry.modified_at):
            del headers["Content-Type"]
            return HttpResponse(status=304, headers=headers)
        headers["Content-Length"] = str(len(body))
        content = b"" if request.method == "HEAD" else body
        return HttpResponse(content, headers=headers)

    def _fixed_headers(self, version: int, key: str, entry: Entry) -> dict[str, str]:
        """The headers that change only with the snapshot, made once per version."""
        if version != self._version:
            self._version, self._prepared = version, {}
        if key not in self._prepared:
            self._prepared[key] = {
                **entry.headers,
                "Content-Type": entry.content_type,
                "ETag": f'"{entry.etag}"',
                "Last-Modified": http_date(entry.modified_at),
                "Cache-Control": cache_control(),
                VERSION_HEADER: str(version),
            }
        return self._prepared[key]


def _hsts() -> str:
    """As ``SecurityMiddleware`` would add it, which the snapshot answers before."""
    hsts = f"max-age={settings.SECURE_HSTS_SECONDS}"
    if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
        hsts += "; includeSubDomains"
    if settings.SECURE_HSTS_PRELOAD:
        hsts += "; preload"
    return hsts
