"""The sign-in forms: the password form and the second factor's code form."""

from __future__ import annotations

from typing import Any

from allauth.account.forms import LoginForm
from allauth.core import context
from allauth.mfa.base.forms import AuthenticateForm
from axes.handlers.proxy import AxesProxyHandler
from django import forms
from django.conf import settings
from django.contrib.auth.signals import user_login_failed

from .throttling import lockout_message


class SignInForm(LoginForm):
    """allauth's form, refusing passwords while LOCAL_PASSWORDS is off (the
    backend refuses them too; this says why)."""

    @property
    def passwords_allowed(self) -> bool:
        return bool(settings.LOCAL_PASSWORDS)

    def clean(self) -> dict[str, Any]:
        if not self.passwords_allowed:
            raise forms.ValidationError(
                "Password sign-in is turned off here: sign in with single sign-on."
            )
        return super().clean()


class CodeForm(AuthenticateForm):
    """The code asked after the password. A wrong code is a failed sign-in for
    the throttle and the audit log (user_login_failed), and a locked-out account
    or address may not try codes either: otherwise a stolen password would leave
    a million codes to try at leisure."""

    def clean_code(self) -> str:
        request = context.request
        credentials = {"username": self.user.get_username()}
        if not AxesProxyHandler.is_allowed(request, credentials):
            # The lockout page, as after a wrong password (axes.middleware).
            request.axes_locked_out = True
            request.axes_credentials = credentials
            raise forms.ValidationError(lockout_message(request, credentials))
        try:
            return super().clean_code()
        except forms.ValidationError:
            user_login_failed.send(
                sender=__name__, credentials=credentials, request=request
            )
            raise
