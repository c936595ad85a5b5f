from __future__ import annotations

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Signing in"

    def ready(self) -> None:
        from django.contrib import admin

        from accounts.views import admin_login

        # The console's own sign-in form would log in with a password alone,
        # past the second factor and the throttle's page: it leads to ours.
        admin.site.login = admin_login  # type: ignore[method-assign]
