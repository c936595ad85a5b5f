"""Roles from the identity provider's claims (OIDC_ROLE_CLAIM, OIDC_ROLE_MAP)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings


def claims_of(extra_data: dict[str, Any]) -> dict[str, Any]:
    """The ID token's claims with the userinfo endpoint's over them: a provider
    may put the role claim in either."""
    return {**(extra_data.get("id_token") or {}), **(extra_data.get("userinfo") or {})}


def roles_from_claims(claims: dict[str, Any]) -> set[str]:
    """The roles the claim's values map to; values not in the map grant nothing.

    The claim may be a list of values (``["heliograph-admins"]``, as groups
    claims are) or one string.
    """
    value = claims.get(settings.OIDC_ROLE_CLAIM)
    values = [value] if isinstance(value, str) else value or []
    if not isinstance(values, list):
        return set()
    return {
        settings.OIDC_ROLE_MAP[item]
        for item in values
        if isinstance(item, str) and item in settings.OIDC_ROLE_MAP
    }


def provider_origins() -> list[str]:
    """The origins of the configured identity providers (``scheme://host:port``)."""
    provider: dict[str, Any] = settings.SOCIALACCOUNT_PROVIDERS.get(
        "openid_connect", {}
    )
    apps: list[dict[str, Any]] = provider.get("APPS", [])
    origins = []
    for app in apps:
        parts = urlsplit(str(app.get("settings", {}).get("server_url") or ""))
        if parts.scheme and parts.netloc:
            origins.append(f"{parts.scheme}://{parts.netloc}")
    return origins
