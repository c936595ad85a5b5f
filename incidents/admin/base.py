"""What the console's admins share: service calls whose refusals become form errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import models
from django.http import HttpRequest, HttpResponse

from ..forms import add_refusal

T = TypeVar("T")
_REFUSAL = "_heliograph_refusal"


def attempt(form: forms.BaseForm, call: Callable[[], T]) -> T | None:
    """Run a service call; on refusal put its messages on ``form`` and return None."""
    try:
        return call()
    except ValidationError as refusal:
        add_refusal(form, refusal)
        return None


class ServiceAdmin(admin.ModelAdmin):
    """A ModelAdmin whose ``save_model`` calls a service that may refuse.

    The admin validates the form before ``save_model`` runs and has no way back from
    it, so a refusal rolls the admin's transaction back and the view runs again with
    the refusal added to the form's errors: the person sees the same form, filled in,
    with the service's message, and nothing was written.
    """

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ValidationError as refusal:
            setattr(request, _REFUSAL, refusal)
            return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(
        self,
        request: HttpRequest,
        obj: models.Model | None = None,
        change: bool = False,
        **kwargs: Any,
    ) -> type[forms.ModelForm]:
        form_class = super().get_form(request, obj, change, **kwargs)
        refusal = getattr(request, _REFUSAL, None)
        if refusal is None:
            return form_class

        def clean(form: forms.ModelForm) -> dict[str, Any] | None:
            cleaned = form_class.clean(form)
            add_refusal(form, refusal)
            return cleaned

        return type(form_class.__name__, (form_class,), {"clean": clean})
