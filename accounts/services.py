"""Writes for signing in: the roles a single sign-on grants."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import transaction

from access.roles import ROLES
from audit.context import Actor, ActorKind, acting


def user_roles_set(*, user: User, roles: set[str]) -> User:
    """Give ``user`` exactly ``roles`` among the role groups (other groups stay)
    and staff status while it has one."""
    unknown = roles - set(ROLES)
    if unknown:
        raise ValueError(f"roles: {', '.join(sorted(unknown))} are not roles")
    # In the audit log, the roles are set by the identity provider's claim.
    claim = Actor(
        kind=ActorKind.SYSTEM,
        name="single sign-on",
        detail=f"roles from the claim {settings.OIDC_ROLE_CLAIM!r}",
    )
    with transaction.atomic(), acting(claim):
        granted = [Group.objects.get_or_create(name=name)[0] for name in sorted(roles)]
        user.groups.remove(*user.groups.filter(name__in=ROLES).exclude(name__in=roles))
        user.groups.add(*granted)
        user.is_staff = bool(roles)
        user.save(update_fields=["is_staff"])
    return user
