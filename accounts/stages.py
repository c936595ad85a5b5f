"""The second-factor stage of a sign-in."""

from __future__ import annotations

from allauth.mfa.stages import AuthenticateStage
from django.http import HttpRequest


class CodeStage(AuthenticateStage):
    """allauth's code stage, except after single sign-on: the identity provider
    ran its own second factor (README: Signing in)."""

    def _should_handle(self, request: HttpRequest) -> bool:
        if "sociallogin" in (self.login.signal_kwargs or {}):
            return False
        return super()._should_handle(request)
