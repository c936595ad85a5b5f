"""Who must use a second factor, and whether they have one."""

from __future__ import annotations

from allauth.account.authentication import get_authentication_records
from allauth.mfa.models import Authenticator
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser, User
from django.http import HttpRequest

from .models import SignInPolicy


def two_factor_required(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Whether the sign-in policy requires ``user`` to sign in with two factors."""
    if not isinstance(user, User) or not user.is_staff:
        return False
    policy = SignInPolicy.get()
    if policy.require_two_factor_for_everyone:
        return True
    if policy._state.adding:  # never saved: no roles chosen
        return False
    return policy.require_two_factor_for_roles.filter(user=user).exists()


def has_authenticator_app(user: AbstractBaseUser) -> bool:
    return Authenticator.objects.filter(
        user_id=user.pk, type=Authenticator.Type.TOTP
    ).exists()


def signed_in_with_sso(request: HttpRequest) -> bool:
    """Whether this session began at the identity provider, whose own second
    factor then stands for ours."""
    return any(
        record.get("method") == "socialaccount"
        for record in get_authentication_records(request, request.user)
    )
