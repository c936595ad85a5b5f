"""Integrations in the console: create (the secret shown once), rename, turn off."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse

from kit.console import ShownOnceAdmin

from . import services
from .models import Integration

ADD_FIELDS = ("name", "kind")
CHANGE_FIELDS = (
    "name",
    "enabled",
    "kind",
    "address",
    "public_id",
    "created_at",
    "last_received_at",
)


def receiving_path(integration: Integration) -> str:
    route = "alertmanager" if integration.kind == "alertmanager" else "webhook"
    return reverse(f"integrations:{route}", kwargs={"public_id": integration.public_id})


@admin.register(Integration)
class IntegrationAdmin(ShownOnceAdmin):
    shown_once_template = "admin/integrations/integration/created.html"
    shown_once_title = "Integration created"

    list_display = ("name", "kind", "enabled", "address", "last_received_at")
    list_filter = ("kind", "enabled")
    search_fields = ("name", "public_id")

    def get_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ADD_FIELDS if obj is None else CHANGE_FIELDS

    def get_readonly_fields(
        self, request: HttpRequest, obj: Any = None
    ) -> tuple[str, ...]:
        # The kind is part of the address the alerting tool was given.
        return () if obj is None else CHANGE_FIELDS[2:]

    @admin.display(description="Address")
    def address(self, integration: Integration) -> str:
        return receiving_path(integration)

    def save_model(
        self, request: HttpRequest, obj: Integration, form: Any, change: bool
    ) -> None:
        data = form.cleaned_data
        if change:
            services.integration_update(
                integration=obj, name=data["name"], enabled=data["enabled"]
            )
            return
        created, secret = services.integration_create(
            name=data["name"], kind=data["kind"]
        )
        self.show_once(request, secret)
        obj.pk = created.pk
        obj.refresh_from_db()
        obj._state.adding = False

    def shown_once_context(
        self, request: HttpRequest, obj: Integration
    ) -> dict[str, Any]:
        return {"url": request.build_absolute_uri(receiving_path(obj))}
