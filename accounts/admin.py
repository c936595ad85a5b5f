from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db import models
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from .models import POLICY_PK, SignInPolicy


@admin.register(SignInPolicy)
class SignInPolicyAdmin(admin.ModelAdmin):
    """One policy, always there: the list opens it, and it is never added twice
    or deleted. Who may edit it is the model's change permission."""

    fields = ("require_two_factor_for_everyone", "require_two_factor_for_roles")
    formfield_overrides = {
        models.ManyToManyField: {"widget": forms.CheckboxSelectMultiple}
    }

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        policy, _ = SignInPolicy.objects.get_or_create(pk=POLICY_PK)
        return HttpResponseRedirect(
            reverse("admin:accounts_signinpolicy_change", args=[policy.pk])
        )
