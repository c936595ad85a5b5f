"""How allauth signs staff in here: no local sign-up, roles from single sign-on."""

from __future__ import annotations

import time
from typing import Any

from allauth.account import app_settings as account_settings
from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.authentication import get_authentication_records
from allauth.core import context
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialLogin
from django.contrib.auth.models import User
from django.http import HttpRequest
from django.template.response import TemplateResponse

from kit.clients import client_address

from . import services, sso

MFA_STAGE = "allauth.mfa.stages.AuthenticateStage"


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        # Staff accounts are made in the console or by single sign-on.
        return False

    def get_login_stages(self) -> list[str]:
        return [
            "accounts.stages.CodeStage" if stage == MFA_STAGE else stage
            for stage in super().get_login_stages()
        ]

    def is_reauthentication_required(self, *, app: str, **kwargs: Any) -> bool:
        """A sign-in within ACCOUNT_REAUTHENTICATION_TIMEOUT stands for the
        password asked again before two-factor settings change: a staff user sent
        to enrol right after signing in is not asked twice in a row."""
        request = context.request
        records = get_authentication_records(request, request.user)
        recent = time.time() - account_settings.REAUTHENTICATION_TIMEOUT
        if any(record.get("at", 0) >= recent for record in records):
            return False
        return bool(super().is_reauthentication_required(app=app, **kwargs))

    def get_client_ip(self, request: HttpRequest) -> str:
        return client_address(request) or "unknown"


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(
        self, request: HttpRequest, sociallogin: SocialLogin
    ) -> bool:
        # Anyone the identity provider vouches for with a mapped role (checked in
        # pre_social_login, before this).
        return True

    def pre_social_login(self, request: HttpRequest, sociallogin: SocialLogin) -> None:
        """Refuse a sign-in whose claims map to no role; an existing user's roles
        follow the claims at every sign-in (a role taken away at the provider is
        taken away here)."""
        roles = sso.roles_from_claims(sso.claims_of(sociallogin.account.extra_data))
        user = sociallogin.user
        if sociallogin.is_existing and isinstance(user, User):
            services.user_roles_set(user=user, roles=roles)
        if not roles:
            raise ImmediateHttpResponse(refused(request))

    def save_user(
        self, request: HttpRequest, sociallogin: SocialLogin, form: Any = None
    ) -> User:
        user = super().save_user(request, sociallogin, form)
        roles = sso.roles_from_claims(sso.claims_of(sociallogin.account.extra_data))
        return services.user_roles_set(user=user, roles=roles)


def refused(request: HttpRequest) -> TemplateResponse:
    response = TemplateResponse(request, "accounts/sso_refused.html", status=403)
    response.render()
    return response
