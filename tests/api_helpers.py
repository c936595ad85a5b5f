"""Clients for the management API, signed with a real token of a real user."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission, User
from rest_framework.test import APIClient

from access.roles import roles_create
from incidents.models import Page
from tokens import services


def staff_user(username: str, role: str | None = "admin") -> User:
    """A staff user in ``role`` (a group made by the roles migration), made on
    first use."""
    user, _ = User.objects.get_or_create(username=username, defaults={"is_staff": True})
    if role is not None:
        # A test on a flushed database (live servers) has lost the migration's roles.
        roles_create(Group, Permission)
        user.groups.add(Group.objects.get(name=role))
    return user


def token_for(
    scope: str = "write", username: str = "deploy-bot", role: str | None = "admin"
) -> str:
    """A new token's plaintext, for a staff user in ``role`` made on first use."""
    user = staff_user(username, role)
    _, plaintext = services.token_create(user=user, name=f"{scope} token", scope=scope)
    return plaintext


def api_client(
    scope: str = "write", username: str = "deploy-bot", role: str | None = "admin"
) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"OAuth {token_for(scope, username, role)}")
    return client


def v1(path: str = "") -> str:
    """The address of a page resource: ``v1("components")``."""
    base = f"/api/v1/pages/{Page.get().public_id}"
    return f"{base}/{path}" if path else base


def body(response: Any) -> Any:
    assert response["Content-Type"].startswith("application/json"), response.content
    return response.json()
