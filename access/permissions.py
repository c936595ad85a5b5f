"""The one permission check the console, the API, integrations and commands ask.

A person acts with their role's permissions (Django's ``has_perm``: their groups,
their own grants, superuser). An API token acts with its owner's permissions as
they are now, intersected with its scope: a read token only with ``view_``
permissions, and none at all once its owner is inactive or no longer staff.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from django.db.models import CharField, Value

READ_SCOPE = "read"
MANAGE_ALL_TOKENS = "tokens.manage_all_apitokens"
READ_ONLY = "This API token has read scope: it may not change anything."


def permissions_load(user: Any) -> None:
    """Read the user's own and their roles' permissions in one query (Django's
    backend asks twice), into the caches ``has_perm`` reads: a token's every
    request needs them."""
    if user.is_superuser or not user.is_active:
        return  # has_perm answers these without the permissions
    fields = ("content_type__app_label", "codename", "source")

    def held(source: str, **owner: Any) -> Any:
        permissions = Permission.objects.filter(**owner).order_by()
        labelled = permissions.annotate(source=Value(source, CharField()))
        return labelled.values_list(*fields)

    rows = held("user", user=user).union(held("group", group__user=user), all=True)
    found: dict[str, set[str]] = {"user": set(), "group": set()}
    for app_label, codename, source in rows:
        found[source].add(f"{app_label}.{codename}")
    user._user_perm_cache = found["user"]
    user._group_perm_cache = found["group"]


def is_read_permission(permission: str) -> bool:
    return permission.partition(".")[2].startswith("view_")


def user_may(user: Any, permission: str) -> bool:
    """Staff who are active and hold ``permission``."""
    return bool(
        user is not None
        and getattr(user, "is_active", False)
        and getattr(user, "is_staff", False)
        and user.has_perm(permission)
    )


def token_may(token: Any, permission: str) -> bool:
    if token.revoked_at is not None:
        return False
    if token.scope == READ_SCOPE and not is_read_permission(permission):
        return False
    return user_may(token.user, permission)


def missing(user: Any, permissions: Iterable[str], token: Any = None) -> list[str]:
    """The permissions of ``permissions`` that the user (or token) lacks."""
    if token is not None:
        return [p for p in permissions if not token_may(token, p)]
    return [p for p in permissions if not user_may(user, p)]


def refusal(permission: str, token: Any = None) -> str:
    if token is not None and token.scope == READ_SCOPE:
        if not is_read_permission(permission):
            return READ_ONLY
    who = "This API token's owner" if token is not None else "You"
    return (
        f"{who} may not do this: it needs the permission '{permission}', which "
        "the role does not grant."
    )


def require(user: Any, *permissions: str, token: Any = None) -> None:
    """Raise PermissionDenied, naming the first permission lacking."""
    lacking = missing(user, permissions, token)
    if lacking:
        raise PermissionDenied(refusal(lacking[0], token))


def may_manage_token_of(user: Any, owner: Any) -> bool:
    """Anyone may make and revoke their own tokens (with the token permissions);
    only admins those of others."""
    if owner is not None and getattr(owner, "pk", None) == getattr(user, "pk", None):
        return True
    return user_may(user, MANAGE_ALL_TOKENS)
