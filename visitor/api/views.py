"""The Statuspage public API v2: GET only, no authentication, CORS open to all."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_http_methods

from incidents.selectors import PublicState
from visitor.api.serializers import V2
from visitor.pages import page_of

Builder = Callable[[V2], dict[str, Any]]

CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
    "Access-Control-Allow-Headers": "*",
    "Access-Control-Max-Age": "86400",
}


def endpoint(build: Builder) -> Callable[[HttpRequest], HttpResponse]:
    @require_http_methods(["GET", "HEAD", "OPTIONS"])
    def view(request: HttpRequest) -> HttpResponse:
        if request.method == "OPTIONS":
            response = HttpResponse(status=204)
        else:
            response = JsonResponse(build(V2(PublicState.load(page_of(request)))))
        for name, value in CORS_HEADERS.items():
            response[name] = value
        return response

    return view


summary = endpoint(V2.summary)
status = endpoint(V2.status_body)
components = endpoint(V2.components)
incidents = endpoint(lambda v2: v2.incidents("recent"))
incidents_unresolved = endpoint(lambda v2: v2.incidents("unresolved"))
maintenances = endpoint(lambda v2: v2.scheduled_maintenances("recent"))
maintenances_upcoming = endpoint(lambda v2: v2.scheduled_maintenances("upcoming"))
maintenances_active = endpoint(lambda v2: v2.scheduled_maintenances("active"))
