"""Render the public artifacts by calling their views, as a visitor's GET would.

A ``RequestFactory`` request (no cookie, no query string) goes through Django's
resolver to the view, then through the middlewares that add the public headers
(``X-Frame-Options``, ``Content-Security-Policy``, ``nosniff``, ``Referrer-Policy``...),
so the bytes and headers are exactly those the app would send.

Every page is rendered (a ``Target``): the default page's artifacts are keyed by
their path, another page's by ``/p/<slug>`` and the path. A page reached by host
name is rendered at the root of its host, one reached by path under its path, so
each one's links are those its visitors follow.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.http.request import validate_host
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.security import SecurityMiddleware
from django.test import RequestFactory
from django.urls import resolve

from incidents.models import Component, Incident, Page
from kit.policy import PolicyMiddleware
from visitor.pages import script_prefix
from visitor.snapshot import artifacts

log = logging.getLogger(__name__)

# Headers that belong to the snapshot's own serving, or to no visitor in particular.
_DROPPED = {
    "content-length",
    "cache-control",
    "expires",
    "etag",
    "last-modified",
    "set-cookie",
    "vary",
    "strict-transport-security",
}


@dataclass(frozen=True)
class Rendered:
    body: bytes
    content_type: str
    headers: dict[str, str]


class NotRenderable(Exception):
    """The view did not answer 200: there is nothing to publish for the path."""


@dataclass(frozen=True)
class Origin:
    """The address requests are made on: the page's own, so absolute links use it."""

    host: str
    secure: bool

    @classmethod
    def of_page(cls, page: Page | None = None) -> Origin:
        """The page's address if Django accepts its host, else its first host name
        Django accepts, else an allowed host.

        Only absolute links use the host, and they are built on ``Page.url``.
        """
        page = page or Page.get()
        url = page.url
        if not url:
            log.warning(
                "The page %s has no public URL: feeds link to the render host",
                page.slug,
            )
        parts = urlsplit(url)
        domain = parts.hostname or ""
        if domain and validate_host(domain, settings.ALLOWED_HOSTS):
            return cls(parts.netloc, parts.scheme == "https")
        for name in page.hosts.values_list("name", flat=True):
            if validate_host(name, settings.ALLOWED_HOSTS):
                return cls(name, parts.scheme == "https")
        return cls(_fallback_host(), parts.scheme == "https")


@dataclass(frozen=True)
class Target:
    """One page to render: where its requests are made, and how its keys read."""

    page: Page
    origin: Origin
    # "" for the default page, "/p/<slug>" for another.
    key_prefix: str
    # The script prefix its links are made under: "/", or "/p/<slug>/" for a page
    # reached by its path.
    script_prefix: str

    def key(self, path: str) -> str:
        return f"{self.key_prefix}{path}"

    @classmethod
    def of(cls, page: Page) -> Target:
        origin = Origin.of_page(page)
        if page.is_default:
            return cls(page, origin, "", "/")
        prefix = f"/p/{page.slug}"
        by_host = page.hosts.exists()
        return cls(page, origin, prefix, "/" if by_host else f"{prefix}/")


def targets() -> list[Target]:
    """Every page, the default one first."""
    Page.get()
    return [Target.of(page) for page in Page.objects.prefetch_related("hosts")]


def _fallback_host() -> str:
    hosts = [
        h
        for h in settings.ALLOWED_HOSTS
        if h not in ("*", "") and not h.startswith(".")
    ]
    return hosts[0] if hosts else "localhost"


def _finish(request: HttpRequest, response: HttpResponse) -> HttpResponseBase:
    def unused(_: HttpRequest) -> HttpResponse:
        raise AssertionError

    response = XFrameOptionsMiddleware(unused).process_response(request, response)
    # No nonce: the request never went through CSPMiddleware.process_request, so a
    # published page can never carry one that every visitor would share. It sets
    # the header on the response it is given.
    PolicyMiddleware(unused).process_response(request, response)
    return SecurityMiddleware(unused).process_response(request, response)


def render_path(
    target: Target, path: str, query: dict[str, str] | None = None
) -> Rendered:
    """The page's artifact at ``path`` (the path on its page)."""
    origin = target.origin
    request = RequestFactory().get(
        path, query or {}, secure=origin.secure, HTTP_HOST=origin.host
    )
    request.page = target.page  # type: ignore[attr-defined]
    with script_prefix(target.script_prefix):
        match = resolve(path)
        request.resolver_match = match
        try:
            response = match.func(request, *match.args, **match.kwargs)
        except Http404 as error:
            raise NotRenderable(f"{target.key(path)}: not found") from error
        if hasattr(response, "render"):
            response.render()
    if response.status_code != 200 or not isinstance(response, HttpResponse):
        raise NotRenderable(f"{target.key(path)}: answered {response.status_code}")
    _finish(request, response)
    headers = {k: v for k, v in response.headers.items() if k.lower() not in _DROPPED}
    content_type = headers.pop("Content-Type", "application/octet-stream")
    return Rendered(response.content, content_type, headers)


def _history(target: Target) -> dict[str, Rendered]:
    """The first pages of history: ``/history/`` and ``/history/?page=2``..., by
    key."""
    url_name, parameter = artifacts.PAGED
    path = artifacts.path_of(url_name)
    pages = {}
    for number in range(2, settings.SNAPSHOT_HISTORY_PAGES + 1):
        try:
            rendered = render_path(target, path, {parameter: str(number)})
        except NotRenderable:
            break
        pages[target.key(f"{path}?{parameter}={number}")] = rendered
    return pages


def incidents_to_render(
    *,
    known: Iterable[str],
    full: bool,
    now: dt.datetime,
    target: Target | None = None,
) -> tuple[list[str], list[str]]:
    """The page's incident paths to render now, and the keys of those whose last
    rendering still holds (the default page's when ``target`` is None).

    Rendered: every incident with ``full``, else those changed recently, those not
    finished yet, and those the previous snapshot lacks. The recent window is wide
    (a day by default) so a change committed during a render is never missed.
    """
    target = target or Target.of(Page.get())
    recent = now - dt.timedelta(seconds=settings.SNAPSHOT_RECENT_SECONDS)
    incidents = Incident.objects.filter(pages=target.page)
    unfinished = (
        Q(updated_at__gte=recent)
        | Q(pk__in=incidents.unresolved().values("pk"))
        | Q(pk__in=incidents.upcoming().values("pk"))
        | Q(pk__in=incidents.active().values("pk"))
    )
    all_ids = set(incidents.values_list("public_id", flat=True))
    fresh = (
        all_ids
        if full
        else set(incidents.filter(unfinished).values_list("public_id", flat=True))
    )
    paths = {
        public_id: artifacts.path_of("public:incident", public_id)
        for public_id in all_ids
    }
    known = set(known)
    render = [
        paths[i]
        for i in sorted(all_ids)
        if i in fresh or target.key(paths[i]) not in known
    ]
    keep = [target.key(paths[i]) for i in sorted(all_ids) if paths[i] not in render]
    return render, keep


def components_to_render(
    *, known: Iterable[str], since: dt.datetime | None, target: Target
) -> tuple[list[str], list[str]]:
    """The page's component paths to render now, and the keys of those whose last
    rendering holds.

    Rendered: those of the components changed since ``since`` (and of their groups,
    whose status follows them), and those the previous snapshot lacks; every one
    when ``since`` is None. A new uptime record for all of them is published by
    ``publish.records_publish``, a few at a time.
    """
    components = artifacts.component_paths(target.page)
    known = set(known)
    if since is None:
        changed = set(components)
    else:
        changed = set(
            Component.objects.filter(updated_at__gte=since).values_list("pk", flat=True)
        )
        groups = {components[pk].group_id for pk in changed if pk in components}
        changed |= {pk for pk in groups if pk is not None}
    render: list[str] = []
    keep: list[str] = []
    for pk, entry in components.items():
        for path in entry.paths:
            if pk in changed or target.key(path) not in known:
                render.append(path)
            else:
                keep.append(target.key(path))
    return render, keep


def render_paths(target: Target, paths: Iterable[str]) -> dict[str, Rendered]:
    """The page's artifacts at ``paths``, by key."""
    rendered = {}
    for path in paths:
        try:
            rendered[target.key(path)] = render_path(target, path)
        except NotRenderable as error:
            # Gone since listed (a deleted incident): its view answers, as for any
            # path the snapshot lacks.
            log.warning("Not published: %s", error)
    return rendered


def render_site(
    *,
    known: Iterable[str],
    full: bool,
    now: dt.datetime,
    components_since: dt.datetime | None,
) -> tuple[dict[str, Rendered], list[str]]:
    """Render each page's page-wide paths, history pages, and the incidents and
    components that need it.

    Returns the renderings by key and the keys to carry over unchanged.
    """
    known = list(known)
    rendered: dict[str, Rendered] = {}
    kept: list[str] = []
    page_wide = [artifacts.path_of(name) for name in artifacts.PUBLIC]
    for target in targets():
        incidents, kept_incidents = incidents_to_render(
            known=known, full=full, now=now, target=target
        )
        components, kept_components = components_to_render(
            known=known, since=components_since, target=target
        )
        brand = artifacts.brand_paths(target.page)
        rendered |= render_paths(target, [*page_wide, *brand, *components, *incidents])
        rendered |= _history(target)
        kept += [*kept_incidents, *kept_components]
    return rendered, kept
