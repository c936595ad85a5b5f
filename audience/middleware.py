"""The views' side of a private page: a request without a way in gets the page's
sign-in, never its content (the snapshot's readers check the same rules first,
without the database, and let refused requests through to here)."""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import urlencode

from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
)
from django.urls import reverse

from incidents.models import Page

from .models import PageAccess
from .rules import Rules, allowed, private_headers
from .selectors import rules_for
from .views import give_pass, staff_may_view

# What is the site's own, not a page's content: the console, the management API,
# the metrics, static files, probes' heartbeats, the sign-in of the private pages
# itself, and a subscriber's own links (their token lets them in: one-click
# unsubscribe comes from a mail provider, which has no pass).
SITE_PATHS = (
    "/admin/",
    "/accounts/",
    "/api/v1/",
    "/metrics",
    "/static/",
    "/heartbeat/",
    "/access/",
    "/subscriptions/",
)


class AudienceMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if request.path_info.startswith(SITE_PATHS):
            return self.get_response(request)
        page = getattr(request, "page", None) or Page.get()
        access, rules = rules_for(page)
        if access is None or rules is None:
            return self.get_response(request)
        if allowed(request, rules):
            response = self.get_response(request)
        elif staff_may_view(request, access):
            response = self.get_response(request)
            give_pass(response, rules, method="staff", who=request.user.get_username())
        else:
            return refusal(request, access, rules)
        private_headers(response)
        return response


def refusal(request: HttpRequest, access: PageAccess, rules: Rules) -> HttpResponse:
    """A browser is sent to the page's sign-in; anything else is told 401."""
    wants_html = "text/html" in request.headers.get("Accept", "")
    if request.method in ("GET", "HEAD") and wants_html:
        query = urlencode({"next": request.get_full_path()})
        response: HttpResponse = HttpResponseRedirect(
            f"{reverse('audience:gate')}?{query}"
        )
    else:
        body = {"error": "This page is private: sign in to see it."}
        response = HttpResponse(
            json.dumps(body), status=401, content_type="application/json"
        )
        response["WWW-Authenticate"] = 'Cookie realm="status page"'
    private_headers(response)
    return response
