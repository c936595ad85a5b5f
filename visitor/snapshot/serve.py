"""Answer public GET and HEAD requests from the snapshot, without the database.

First in ``MIDDLEWARE``: a request for a published path never reaches sessions,
authentication or a view. Everything else (the staff console, forms, POSTs, a path
not published yet, a history page beyond the published ones) goes on as usual.

A client that accepts gzip gets the gzip blob published next to a text body, as a
variant of its own (``Content-Encoding: gzip``, ETag ``"<etag>-gz"``); every
response of such an artifact says ``Vary: Accept-Encoding``.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

from csp.constants import HEADER as CSP_HEADER
from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.html import format_html
from django.utils.http import http_date, parse_http_date_safe
from django.utils.timesince import timesince

from audience.rules import CROSS_ORIGIN, Rules, allowed
from kit.policy import default_policy
from visitor.pages import PAGE_PATH, host_name
from visitor.snapshot import artifacts
from visitor.snapshot.store import (
    Entry,
    Manifest,
    Reader,
    current_reader,
    gzip_encode,
    page_slug,
)

# Where base.html lets the stale notice go; a comment, so exported pages show none.
PLACEHOLDER = b"<!--heliograph:freshness-->"
AGE_HEADER = "X-Heliograph-Snapshot-Age"
VERSION_HEADER = "X-Heliograph-Snapshot-Version"
# Ends the ETag of the gzip variant: a cache must not take one encoding for the other.
GZIP_SUFFIX = "-gz"


def cache_control() -> str:
    return (
        f"public, max-age={settings.SNAPSHOT_MAX_AGE}, "
        f"stale-while-revalidate={settings.SNAPSHOT_STALE_WHILE_REVALIDATE}, "
        f"stale-if-error={settings.SNAPSHOT_STALE_IF_ERROR}"
    )


def page_of(request: HttpRequest, manifest: Manifest) -> tuple[str, str] | None:
    """The slug of the page a request is for ("" for the default page) and the
    path on that page; None when the snapshot holds no such page (a page made
    since, or one reached by host name asked for by its path)."""
    if manifest.page_hosts:
        slug = manifest.page_hosts.get(host_name(request))
        if slug is not None:
            return slug, request.path_info
    match = PAGE_PATH.match(request.path_info)
    if match is None:
        return "", request.path_info
    if match["slug"] in manifest.path_pages and match["rest"]:
        return match["slug"], match["rest"]
    return None


def artifact_key(request: HttpRequest, manifest: Manifest) -> str | None:
    """The artifact a request asks for; None when only the view can answer it.

    The query string is ignored, except ``?page=`` on history: page 1 (or a
    malformed number, which the view shows as page 1) is the plain path.
    """
    found = page_of(request, manifest)
    if found is None:
        return None
    slug, path = found
    prefix = f"/p/{slug}" if slug else ""
    url_name, parameter = artifacts.PAGED
    value = request.GET.get(parameter)
    if value is None or not value.isdigit() or int(value) <= 1:
        return f"{prefix}{path}"
    if path != artifacts.path_of(url_name):
        return f"{prefix}{path}"
    key = f"{prefix}{path}?{parameter}={int(value)}"
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


def monitoring_notice(evidence_until: float) -> bytes:
    return format_html(
        '<div class="monitoring-notice" role="status" '
        'data-monitoring-delayed-since="{}">'
        "<p><strong>Automated monitoring is delayed.</strong> Too few of our "
        'monitoring regions have reported since <time datetime="{}">{} ago</time>: '
        "the statuses below are the last known ones, not confirmed.</p></div>",
        _datetime(evidence_until).isoformat(timespec="seconds"),
        _datetime(evidence_until).isoformat(timespec="seconds"),
        timesince(_datetime(evidence_until), _datetime(time.time()), depth=1),
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


def accepts_gzip(accept_encoding: str) -> bool:
    """Does an ``Accept-Encoding`` value allow gzip (RFC 9110, 12.5.3)?

    A coding named with ``q=0`` is refused even when ``*`` allows the rest; a
    malformed weight refuses too, as identity is always acceptable.
    """
    weights: dict[str, float] = {}
    for item in accept_encoding.split(","):
        coding, *parameters = item.split(";")
        weights[coding.strip().lower()] = _weight(parameters)
    for coding in ("gzip", "x-gzip", "*"):
        if coding in weights:
            return weights[coding] > 0
    return False


def _weight(parameters: list[str]) -> float:
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "q":
            try:
                return float(value.strip())
            except ValueError:
                return 0.0
    return 1.0


class SnapshotMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]):
        self.get_response = get_response
        self._version = -1
        self._prepared: dict[tuple[str, bool], dict[str, str]] = {}
        # A stale page's gzip, by key: (etag, notice, bytes). See ``_stale_gzip``.
        self._stale: dict[str, tuple[str, bytes, bytes]] = {}
        # The private pages' rules, read once per snapshot version.
        self._rules: dict[str, tuple[int, Rules]] = {}

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
        if key is not None and not self._let_in(request, manifest, key):
            return None  # the views answer with the page's sign-in
        entry = manifest.artifacts.get(key) if key else None
        body = reader.body(entry) if entry else None
        if key is None or entry is None or body is None:
            return None
        gzipped = self._gzip_body(request, reader, entry)
        headers = dict(
            self._fixed_headers(manifest.version, key, entry, gzipped is not None)
        )
        if page_slug(key) in manifest.page_access:
            # This visitor's, never a shared cache's nor another site's script's.
            headers = {
                k: v for k, v in headers.items() if k.lower() not in CROSS_ORIGIN
            }
            headers["Cache-Control"] = "private, no-cache"
            headers["Vary"] = ", ".join(v for v in (headers.get("Vary"), "Cookie") if v)
        now = time.time()
        age = max(0, int(now - manifest.rendered_at))
        notice = None
        if age > settings.SNAPSHOT_STALE_AFTER_SECONDS and PLACEHOLDER in body:
            notice = stale_notice(manifest.rendered_at, now)
        evidence_until = _evidence_until(request, manifest)
        if evidence_until is not None and now > evidence_until and PLACEHOLDER in body:
            notice = (notice or b"") + monitoring_notice(evidence_until)
        if notice is not None:
            suffix = "" if gzipped is None else GZIP_SUFFIX
            delayed = int(now - (evidence_until or now))
            wording = f"{age // 60}-{delayed // 60}"  # the notices' wording
            headers["ETag"] = f'"{entry.etag}-{wording}{suffix}"'
        headers[AGE_HEADER] = str(age)
        if settings.SECURE_HSTS_SECONDS and request.is_secure():
            headers["Strict-Transport-Security"] = _hsts()
        if _not_modified(request, headers["ETag"], entry.modified_at):
            del headers["Content-Type"]
            headers.pop("Content-Encoding", None)  # a 304 has no body to encode
            return HttpResponse(status=304, headers=headers)
        if notice is None:
            content = body if gzipped is None else gzipped
        elif gzipped is None:
            content = body.replace(PLACEHOLDER, notice, 1)
        else:
            content = self._stale_gzip(key, entry, body, notice)
        headers["Content-Length"] = str(len(content))
        return HttpResponse(
            b"" if request.method == "HEAD" else content, headers=headers
        )

    def _let_in(self, request: HttpRequest, manifest: Manifest, key: str) -> bool:
        """A public page's artifact, or a private one's for whom its rules let in."""
        raw = manifest.page_access.get(page_slug(key))
        if raw is None:
            return True
        cached = self._rules.get(page_slug(key))
        if cached is None or cached[0] != manifest.version:
            cached = self._rules[page_slug(key)] = (
                manifest.version,
                Rules.from_json(raw),
            )
        return allowed(request, cached[1])

    def _gzip_body(
        self, request: HttpRequest, reader: Reader, entry: Entry
    ) -> bytes | None:
        """The gzip blob, when the entry has one and the client accepts it."""
        if not entry.gzipped:
            return None
        if not accepts_gzip(request.headers.get("Accept-Encoding", "")):
            return None
        return reader.gzip_body(entry)  # None if lost: the identity body serves

    def _stale_gzip(self, key: str, entry: Entry, body: bytes, notice: bytes) -> bytes:
        """The page with its stale notice, gzipped once per wording of the notice.

        gzip bytes cannot be edited, and gzipping a 12 MB page takes some 50 ms of
        CPU, too much for every request. Serving stale pages uncompressed would
        send 12 MB to each visitor just when the publisher is down, likely during
        an outage. The wording changes once a minute at most ("5 minutes ago",
        later "2 hours ago"), so this compresses once per wording per process.
        """
        cached = self._stale.get(key)
        if cached is None or cached[:2] != (entry.etag, notice):
            encoded = gzip_encode(body.replace(PLACEHOLDER, notice, 1))
            cached = self._stale[key] = (entry.etag, notice, encoded)
        return cached[2]

    def _fixed_headers(
        self, version: int, key: str, entry: Entry, gzipped: bool
    ) -> dict[str, str]:
        """The headers that change only with the snapshot, made once per version
        and variant."""
        if version != self._version:
            self._version, self._prepared, self._stale = version, {}, {}
        if (key, gzipped) not in self._prepared:
            headers = {
                # What a snapshot published before the policy existed lacks.
                CSP_HEADER: default_policy(),
                **entry.headers,
                "Content-Type": entry.content_type,
                "ETag": f'"{entry.etag}{GZIP_SUFFIX if gzipped else ""}"',
                "Last-Modified": http_date(entry.modified_at),
                "Cache-Control": cache_control(),
                VERSION_HEADER: str(version),
            }
            if entry.gzipped:
                headers["Vary"] = "Accept-Encoding"
            if gzipped:
                headers["Content-Encoding"] = "gzip"
            self._prepared[key, gzipped] = headers
        return self._prepared[key, gzipped]


def _evidence_until(request: HttpRequest, manifest: Manifest) -> float | None:
    found = page_of(request, manifest)
    if found is None or not found[0]:
        return manifest.evidence_until
    return manifest.page_evidence.get(found[0])


def _hsts() -> str:
    """As ``SecurityMiddleware`` would add it, which the snapshot answers before."""
    hsts = f"max-age={settings.SECURE_HSTS_SECONDS}"
    if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
        hsts += "; includeSubDomains"
    if settings.SECURE_HSTS_PRELOAD:
        hsts += "; preload"
    return hsts
