"""The check of a page's access, with no database: what the snapshot's readers and
the views both ask.

A page's rules travel in the snapshot's manifest as ``Rules.to_json()``; a viewer's
pass is a cookie signed with the secret key, naming the page, the rules' version
it was given under, how it was won and for whom. Checking it is an HMAC and a
clock, so a warm private request costs what a public one does.
"""

from __future__ import annotations

import base64
import ipaddress
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponseBase

from kit.addresses import Network
from kit.clients import client_ip_exact

SALT = "audience.pass"
# What lets other sites read or embed an answer: never on a private page's.
CROSS_ORIGIN = {
    "access-control-allow-origin",
    "access-control-allow-methods",
    "access-control-allow-headers",
    "access-control-allow-credentials",
    "access-control-expose-headers",
    "access-control-max-age",
    "cross-origin-resource-policy",
}
COOKIE_PREFIX = "hg_view_"


@dataclass(frozen=True)
class Rules:
    """What the check needs of one private page."""

    page_id: str  # the page's public id
    version: int
    networks: tuple[Network, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        return {
            "page_id": self.page_id,
            "version": self.version,
            "networks": [str(n) for n in self.networks],
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Rules:
        networks = tuple(ipaddress.ip_network(n) for n in raw.get("networks", ()))
        return cls(raw["page_id"], int(raw["version"]), networks)


def cookie_name(page_id: str) -> str:
    return f"{COOKIE_PREFIX}{page_id}"


def pass_make(rules: Rules, *, method: str, who: str) -> str:
    """A viewer's pass for the page, as of its rules now: the page, the rules'
    version, how it was won and for whom, a time and an HMAC of them all."""
    whom = base64.urlsafe_b64encode(who.encode()).decode().rstrip("=")
    value = f"{rules.page_id}.{rules.version}.{method}.{whom}"
    return signing.TimestampSigner(salt=SALT).sign(value)


def pass_read(value: str, rules: Rules) -> dict[str, Any] | None:
    """The pass's payload if it is this page's, of its current rules and not
    expired; None otherwise (forged, another page's, older rules, too old)."""
    try:
        signed = signing.TimestampSigner(salt=SALT).unsign(
            value, max_age=settings.AUDIENCE_PASS_MAX_AGE_SECONDS
        )
    except signing.BadSignature:
        return None
    parts = signed.split(".")
    if len(parts) != 4:
        return None
    page_id, version, method, whom = parts
    if page_id != rules.page_id or version != str(rules.version):
        return None
    padded = whom + "=" * (-len(whom) % 4)
    who = base64.urlsafe_b64decode(padded.encode()).decode(errors="replace")
    return {"p": page_id, "v": rules.version, "m": method, "w": who}


def network_allowed(request: HttpRequest, rules: Rules) -> bool:
    if not rules.networks:
        return False
    address = client_ip_exact(request)
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in rules.networks)


def allowed(request: HttpRequest, rules: Rules) -> bool:
    """May this request see the page: from an allowed network, or with a pass."""
    if network_allowed(request, rules):
        return True
    value = request.COOKIES.get(cookie_name(rules.page_id))
    return value is not None and pass_read(value, rules) is not None


def private_headers(response: HttpResponseBase) -> None:
    """A private page's answer is this visitor's: never kept by a shared cache, nor
    readable by another site's script (whose request an allowed network would let
    in: the public API's open CORS is dropped)."""
    for name in [h for h in response.headers if h.lower() in CROSS_ORIGIN]:
        del response[name]
    response["Cache-Control"] = "private, no-cache"
    vary = [v.strip() for v in response.get("Vary", "").split(",") if v.strip()]
    if "Cookie" not in vary:
        vary.append("Cookie")
    response["Vary"] = ", ".join(vary)
