"""``/metrics``: the families of metrics.selectors, for an allowed address or token."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from access.permissions import missing, refusal
from tokens.authentication import ApiTokenAuthentication

from .selectors import REGISTRY

NOT_PROVIDED = "Authentication credentials were not provided."
METRICS_PERMISSION = "probes.view_probe"


def address_allowed(request: HttpRequest) -> bool:
    """The connection's address is in METRICS_ALLOWED_IPS. REMOTE_ADDR only: a
    forwarded header is whatever the client wrote, unless a proxy we trust set it."""
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped  # a dual-stack socket reports ::ffff:10.0.0.5
    return any(address in network for network in settings.METRICS_ALLOWED_IPS)


def token_refusal(request: HttpRequest) -> str | None:
    """None when the request carries a live API token (either scope) whose owner
    may read the probes, else why not, in the management API's words."""
    try:
        authenticated = ApiTokenAuthentication().authenticate(Request(request))
    except AuthenticationFailed as error:
        return str(error.detail)
    if authenticated is None:
        return NOT_PROVIDED
    user, token = authenticated
    lacking = missing(user, [METRICS_PERMISSION], token)
    return refusal(lacking[0], token) if lacking else None


def refuse(reason: str) -> HttpResponse:
    response = HttpResponse(
        f"{reason}\n", status=401, content_type="text/plain; charset=utf-8"
    )
    response["WWW-Authenticate"] = 'Bearer realm="metrics"'
    return response


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not address_allowed(request):
        reason = token_refusal(request)
        if reason is not None:
            return refuse(reason)
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
