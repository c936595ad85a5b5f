"""The Content-Security-Policy, as one header string for every answer.

django-csp builds the header from ``CONTENT_SECURITY_POLICY`` (settings) and what a
view adds with ``csp_update`` or ``csp_replace``, but in an order that changes from
one process to the next (it goes through a set). Here it is put in the settings'
order, so every worker, the snapshot's stored headers and a static server's
configuration (README) send the same bytes.
"""

from __future__ import annotations

from csp.constants import HEADER
from csp.middleware import CSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

# What a <meta> policy cannot say (the browser ignores them there, with a warning).
NOT_IN_META = frozenset({"frame-ancestors", "report-uri", "report-to", "sandbox"})


def ordered(policy: str) -> str:
    """The directives in the settings' order; any others after them, by name."""
    order = list(settings.CONTENT_SECURITY_POLICY["DIRECTIVES"])
    directives = [part.strip() for part in policy.split(";") if part.strip()]

    def place(directive: str) -> tuple[int, str]:
        name = directive.split()[0]
        return (order.index(name) if name in order else len(order), name)

    return "; ".join(sorted(directives, key=place))


def default_policy() -> str:
    """The policy of a page that asks for nothing more, and has no nonce."""
    return ordered(build_policy())


def meta_policy() -> str:
    """The policy a page carries in ``<meta http-equiv>``, for a static host that
    sends no header of its own."""
    return "; ".join(
        directive
        for directive in default_policy().split("; ")
        if directive.split()[0] not in NOT_IN_META
    )


class PolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, with the header in a stable order."""

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        response = super().process_response(request, response)
        if HEADER in response:
            response[HEADER] = ordered(response[HEADER])
        return response
