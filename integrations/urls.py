from __future__ import annotations

from django.urls import path

from . import views

app_name = "integrations"

urlpatterns = [
    path(
        "alertmanager/<str:public_id>",
        views.AlertmanagerReceive.as_view(),
        name="alertmanager",
    ),
    path("webhook/<str:public_id>", views.WebhookReceive.as_view(), name="webhook"),
]
