"""The console's API tokens: create (the secret shown once), list, revoke."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from statuspage.console import ShownOnceAdmin

from . import services
from .models import ApiToken

ADD_FIELDS = ("user", "name", "scope")
SHOWN_FIELDS = (
    "name",
    "user",
    "scope",
    "prefix",
    "created_at",
    "last_used_at",
    "revoked_at",
)


@admin.register(ApiToken)
class ApiTokenAdmin(ShownOnceAdmin):
    shown_once_template = "admin/tokens/apitoken/created.html"
    shown_once_title = "API token created"

    list_display = SHOWN_FIELDS
    list_filter = ["scope", ("revoked_at", admin.EmptyFieldListFilter)]
    list_select_related = ["user"]
    search_fields = ["name", "prefix", "user__username"]
    actions = ["revoke"]

    def has_change_permission(
        self, request: HttpRequest, obj: ApiToken | None = None
    ) -> bool:
        # A token is made, used and revoked; nothing about it is edited.
        return False

    def get_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ADD_FIELDS if obj is None else SHOWN_FIELDS

    def save_model(
        self, request: HttpRequest, obj: ApiToken, form: Any, change: bool
    ) -> None:
        data = form.cleaned_data
        created, plaintext = services.token_create(
            user=data["user"], name=data["name"], scope=data["scope"]
        )
        self.show_once(request, plaintext)
        obj.pk = created.pk
        obj.refresh_from_db()
        obj._state.adding = False

    @admin.action(description="Revoke selected tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        for token in queryset:
            services.token_revoke(token=token)
        self.message_user(
            request, f"Revoked {len(queryset)} token(s).", messages.SUCCESS
        )
