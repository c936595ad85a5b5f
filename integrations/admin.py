"""Integrations in the console: create (the secret shown once), rename, turn off."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse

from . import services
from .models import Integration

_SECRET = "_heliograph_integration_secret"
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
class IntegrationAdmin(admin.ModelAdmin):
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
        setattr(request, _SECRET, secret)
        obj.pk = created.pk
        obj.refresh_from_db()
        obj._state.adding = False

    def response_add(
        self,
        request: HttpRequest,
        obj: Integration,
        post_url_continue: str | None = None,
    ) -> HttpResponse:
        # The secret goes in this one response and is kept nowhere, not even in the
        # session: there is no page to come back to for it.
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Integration created",
            "integration": obj,
            "url": request.build_absolute_uri(receiving_path(obj)),
            "secret": getattr(request, _SECRET),
        }
        # The admin's views already send Cache-Control: no-store.
        template = "admin/integrations/integration/created.html"
        return TemplateResponse(request, template, context)
