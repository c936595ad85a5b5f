"""Password sign-in, which LOCAL_PASSWORDS=false turns off for every caller."""

from __future__ import annotations

from typing import Any

from allauth.account.auth_backends import AuthenticationBackend
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest


class AccountBackend(AuthenticationBackend):
    """allauth's backend (usernames whatever their case), refusing every password
    while local passwords are off, so no form or view can sign in with one."""

    def authenticate(
        self, request: HttpRequest | None, **credentials: Any
    ) -> AbstractBaseUser | None:
        if not settings.LOCAL_PASSWORDS:
            return None
        return super().authenticate(request, **credentials)
