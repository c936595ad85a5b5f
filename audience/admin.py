"""The console's page of who may view each page."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from incidents.admin.base import ServiceAdmin

from . import services
from .models import PageAccess


class PageAccessForm(forms.ModelForm):
    password = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="A new password for the page; leave empty to keep the current one.",
    )
    remove_password = forms.BooleanField(
        required=False, help_text="Stop letting visitors in by password."
    )

    class Meta:
        model = PageAccess
        fields = ("page", "ip_allowlist", "email_domains", "allow_staff")


@admin.register(PageAccess)
class PageAccessAdmin(ServiceAdmin):
    form = PageAccessForm
    list_display = ("page", "private", "allow_staff", "updated_at")
    fields = (
        "page",
        "password",
        "remove_password",
        "ip_allowlist",
        "email_domains",
        "allow_staff",
    )

    @admin.display(boolean=True, description="Private")
    def private(self, obj: PageAccess) -> bool:
        return obj.is_private

    def get_readonly_fields(
        self, request: HttpRequest, obj: PageAccess | None = None
    ) -> tuple[str, ...]:
        return ("page",) if obj is not None else ()

    def save_model(
        self, request: HttpRequest, obj: PageAccess, form: Any, change: bool
    ) -> None:
        data = form.cleaned_data
        password = None
        if data.get("remove_password"):
            password = ""
        elif data.get("password"):
            password = data["password"]
        saved = services.access_update(
            page=obj.page,
            password=password,
            ip_allowlist=data.get("ip_allowlist", ""),
            email_domains=data.get("email_domains", ""),
            allow_staff=data.get("allow_staff", False),
        )
        obj.pk = saved.pk
        obj.refresh_from_db()
        obj._state.adding = False
