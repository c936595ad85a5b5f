"""A staff user whom the sign-in policy requires to have two-factor enrols first."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponseBase, HttpResponseRedirect
from django.urls import reverse

from . import selectors, sso


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


class SingleSignOnFormsMiddleware:
    """ "Sign in with SSO" is a form whose answer redirects to the identity
    provider, and browsers hold that redirect to the page's form-action: the
    sign-in pages allow the providers' origins there (django-csp's csp_update,
    read by its middleware, which runs after this one on the way out)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]):
        self.get_response = get_response
        self.prefix = reverse("account_login").rsplit("/", 2)[0] + "/"

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        origins = sso.provider_origins()
        if origins and request.path_info.startswith(self.prefix):
            update = dict(getattr(response, "_csp_update", None) or {})
            update["form-action"] = [*update.get("form-action", []), *origins]
            response._csp_update = update  # type: ignore[attr-defined]
        return response
