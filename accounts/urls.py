from __future__ import annotations

from django.urls import include, path

from . import views

urlpatterns = [
    path("2fa/totp/qr.svg", views.totp_qr_code, name="accounts_totp_qr_code"),
    path("", include("allauth.urls")),
]
