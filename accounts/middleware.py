"""A staff user whom the sign-in policy requires to have two-factor enrols first."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponseBase, HttpResponseRedirect
from django.urls import reverse

from . import selectors


class TwoFactorRequiredMiddleware:
    """Every console page, for a staff user who must have two-factor and has no
    authenticator app, leads to enrolling one (signing out stays possible). Only
    the console: the API takes tokens, which the policy does not touch, and the
    enrolment pages live under /accounts/. A single sign-on session counts as
    two-factor: the identity provider ran its own."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]):
        self.get_response = get_response
        self.console = reverse("admin:index")
        self.allowed = (reverse("admin:logout"),)

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if self.must_enrol(request):
            messages.warning(
                request,
                "The sign-in policy requires two-factor authentication for your "
                "account: set up an authenticator app to continue.",
            )
            return HttpResponseRedirect(reverse("mfa_activate_totp"))
        return self.get_response(request)

    def must_enrol(self, request: HttpRequest) -> bool:
        path = request.path_info
        if not path.startswith(self.console) or path in self.allowed:
            return False
        user = request.user
        return (
            user.is_authenticated
            and selectors.two_factor_required(user)
            and not selectors.has_authenticator_app(user)
            and not selectors.signed_in_with_sso(request)
        )
