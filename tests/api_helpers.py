"""Clients for the management API, signed with a real token of a real user."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from rest_framework.test import APIClient

from incidents.models import Page
from tokens import services


def token_for(scope: str = "write", username: str = "deploy-bot") -> str:
    """A new token's plaintext, for a user made on first use."""
    user, _ = User.objects.get_or_create(username=username)
    _, plaintext = services.token_create(user=user, name=f"{scope} token", scope=scope)
    return plaintext


def api_client(scope: str = "write", username: str = "deploy-bot") -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"OAuth {token_for(scope, username)}")
    return client


def v1(path: str = "") -> str:
    """The address of a page resource: ``v1("components")``."""
    base = f"/api/v1/pages/{Page.get().public_id}"
    return f"{base}/{path}" if path else base


def body(response: Any) -> Any:
    assert response["Content-Type"].startswith("application/json"), response.content
    return response.json()
