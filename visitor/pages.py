"""Which page a public request is for: by its host name, or by ``/p/<slug>/``.

A page with host names of its own (``PageHost``) is served at the root of each of
them; any other page is reached under ``/p/<slug>/`` on any host, with the site's
links made under that path (the script prefix is the page's for the request); every
host no page claims serves the default page. Views read ``request.page``, looked up
only when first used, so a request that never needs it costs no query.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponseBase, HttpResponseRedirect
from django.urls import get_script_prefix, set_script_prefix
from django.utils.functional import SimpleLazyObject

from audience.selectors import rules_for
from incidents.models import Page

PAGE_PATH = re.compile(r"^/p/(?P<slug>[-a-zA-Z0-9_]+)(?P<rest>/.*)?$")
# What stays the site's own under a page's path: the console, the management API,
# the metrics and the static files.
SITE_PATHS = ("/admin/", "/accounts/", "/api/v1/", "/metrics", "/static/")


def host_name(request: HttpRequest) -> str:
    """The request's host name, lower-case and without its port."""
    host = request.get_host().lower()
    if host.startswith("["):  # an IPv6 address: no page names one
        return host
    return host.rsplit(":", 1)[0] if ":" in host else host


def page_for_host(name: str) -> Page:
    """The page claiming the host name, else the default page: one query."""
    either = Page.objects.filter(Q(hosts__name=name) | Q(is_default=True))
    either = either.select_related("access")  # the private page's rules, too
    page = either.order_by("is_default").first()  # the claiming page first
    return page or Page.get()


def page_for_slug(slug: str) -> Page:
    page = Page.objects.filter(slug=slug).select_related("access").first()
    if page is None:
        raise Http404(f"No page is at /p/{slug}/.")
    return page


def page_prefix(page: Page, script_prefix: str = "/") -> str:
    """The script prefix of a page reached by its path."""
    return f"{script_prefix}p/{page.slug}/"


@contextmanager
def script_prefix(prefix: str) -> Iterator[None]:
    """Make the site's links under ``prefix`` for a while (a page's own path)."""
    before = get_script_prefix()
    set_script_prefix(prefix)
    try:
        yield
    finally:
        set_script_prefix(before)


def _on_host(request: HttpRequest, host: str, path: str) -> str:
    """The same path and query on ``host``, at the port the request came to."""
    asked = request.get_host()
    port = asked.rsplit(":", 1)[1] if ":" in asked and "]" not in asked[-1:] else ""
    netloc = f"{host}:{port}" if port else host
    query = request.META.get("QUERY_STRING")
    return f"{request.scheme}://{netloc}{path}" + (f"?{query}" if query else "")


class PageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        match = PAGE_PATH.match(request.path_info)
        if match is None:
            lazy = SimpleLazyObject(lambda: page_for_host(host_name(request)))
            request.page = lazy  # type: ignore[attr-defined]
            return self.get_response(request)
        slug, rest = match["slug"], match["rest"]
        if rest is None:
            return HttpResponseRedirect(f"{request.path}/")
        if rest.startswith(SITE_PATHS):
            raise Http404("The console and the API are at the site's root.")
        page = page_for_slug(slug)
        hosts = list(page.hosts.values_list("name", flat=True))
        if hosts and host_name(request) not in hosts:
            if rules_for(page)[1] is not None:
                # A private page's host name is nobody's business on another host.
                raise Http404(f"No page is at /p/{slug}/.")
            # A page with a host of its own lives there, where the snapshot has it.
            return HttpResponseRedirect(_on_host(request, hosts[0], rest))
        request.page = page  # type: ignore[attr-defined]
        request.path_info = rest
        with script_prefix(page_prefix(page, get_script_prefix())):
            return self.get_response(request)


def page_of(request: HttpRequest) -> Page:
    """The page a request is for; the default page for a request no middleware saw
    (a test's, or one made by hand)."""
    page = getattr(request, "page", None)
    return page if page is not None else Page.get()
