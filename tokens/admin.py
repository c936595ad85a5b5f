"""The console's API tokens: create (the secret shown once), list, revoke."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest

from access.permissions import MANAGE_ALL_TOKENS, user_may
from kit.console import ShownOnceAdmin, staff_member

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
    """Everyone sees and revokes their own tokens; admins (who may manage all
    tokens) everyone's. A token acts with its owner's permissions, so making one
    for someone else is an admin's act."""

    shown_once_template = "admin/tokens/apitoken/created.html"
    shown_once_title = "API token created"

    list_display = SHOWN_FIELDS
    list_filter = ["scope", ("revoked_at", admin.EmptyFieldListFilter)]
    list_select_related = ["user"]
    search_fields = ["name", "prefix", "user__username"]
    actions = ["revoke"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ApiToken]:
        tokens = super().get_queryset(request)
        if user_may(request.user, MANAGE_ALL_TOKENS):
            return tokens
        return tokens.filter(user=request.user.pk)

    def has_change_permission(
        self, request: HttpRequest, obj: ApiToken | None = None
    ) -> bool:
        # A token is made, used and revoked; nothing about it is edited.
        return False

    def has_delete_permission(
        self, request: HttpRequest, obj: ApiToken | None = None
    ) -> bool:
        return False  # revoked, not deleted: its uses stay in the audit log

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return user_may(request.user, "tokens.change_apitoken")

    def get_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ADD_FIELDS if obj is None else SHOWN_FIELDS

    def formfield_for_foreignkey(
        self, db_field: Any, request: HttpRequest, **kwargs: Any
    ) -> Any:
        if db_field.name == "user":
            me = staff_member(request)
            users = get_user_model().objects.filter(is_active=True, is_staff=True)
            if not user_may(me, MANAGE_ALL_TOKENS):
                users = users.filter(pk=me.pk)
            kwargs["queryset"] = users
            kwargs["initial"] = me.pk
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(
        self, request: HttpRequest, obj: ApiToken, form: Any, change: bool
    ) -> None:
        data = form.cleaned_data
        created, plaintext = services.token_create(
            user=data["user"],
            name=data["name"],
            scope=data["scope"],
            by=request.user,
        )
        self.show_once(request, plaintext)
        obj.pk = created.pk
        obj.refresh_from_db()
        obj._state.adding = False

    @admin.action(description="Revoke selected tokens", permissions=["revoke"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        revoked = 0
        for token in queryset:
            try:
                services.token_revoke(token=token, by=request.user)
            except PermissionDenied as refusal:
                self.message_user(request, f"{token}: {refusal}", messages.ERROR)
                continue
            revoked += 1
        self.message_user(request, f"Revoked {revoked} token(s).", messages.SUCCESS)
