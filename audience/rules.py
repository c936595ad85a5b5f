"""The check of a page's access, with no database: what the snapshot's readers and
the views both ask.

A page's rules travel in the snapshot's manifest as ``Rules.to_json()``; a viewer's
pass is a cookie signed with the secret key, naming the page, the rules' version
it was given under, how it was won and for whom. Checking it is an HMAC and a
clock, so a warm private request costs what a public one does.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponseBase

from kit.addresses import Network
from kit.clients import client_address

SALT = "audience.pass"
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
    """A viewer's pass for the page, as of its rules now."""
    payload = {"p": rules.page_id, "v": rules.version, "m": method, "w": who}
    return signing.dumps(payload, salt=SALT, compress=True)


def pass_read(value: str, rules: Rules) -> dict[str, Any] | None:
    """The pass's payload if it is this page's, of its current rules and not
    expired; None otherwise (forged, another page's, older rules, too old)."""
    try:
        payload = signing.loads(
            value, salt=SALT, max_age=settings.AUDIENCE_PASS_MAX_AGE_SECONDS
        )
    except signing.BadSignature:
        return None
    if not isinstance(payload, dict):
        return None
    if payload.get("p") != rules.page_id or payload.get("v") != rules.version:
        return None
    return payload


def network_allowed(request: HttpRequest, rules: Rules) -> bool:
    if not rules.networks:
        return False
    address = client_address(request)
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
    """A private page's answer is this visitor's: never kept by a shared cache."""
    response["Cache-Control"] = "private, no-cache"
    vary = [v.strip() for v in response.get("Vary", "").split(",") if v.strip()]
    if "Cookie" not in vary:
        vary.append("Cookie")
    response["Vary"] = ", ".join(vary)
