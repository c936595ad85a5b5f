"""Incident templates in the console: prepared texts, edited through the services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from incidents import services

from ..models import Component, IncidentTemplate
from .base import ServiceAdmin

FIELDS = ("name", "title", "body", "update_status", "should_send_notifications")


class TemplateForm(forms.ModelForm):
    class Meta:
        model = IncidentTemplate
        fields = (*FIELDS, "components")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        components = self.fields["components"]
        assert isinstance(components, forms.ModelMultipleChoiceField)
        components.queryset = Component.objects.live().filter(is_group=False)


@admin.register(IncidentTemplate)
class IncidentTemplateAdmin(ServiceAdmin):
    form = TemplateForm
    list_display = ("name", "title", "update_status", "should_send_notifications")
    search_fields = ("name", "title")
    filter_horizontal = ("components",)

    def save_model(
        self, request: HttpRequest, obj: IncidentTemplate, form: Any, change: bool
    ) -> None:
        data = form.cleaned_data
        fields = {name: data[name] for name in FIELDS if name in data}
        if change:
            saved = services.template_update(
                template=obj, components=data["components"], **fields
            )
        else:
            saved = services.template_create(components=data["components"], **fields)
        obj.pk = saved.pk
        obj._state.adding = False

    def save_related(
        self, request: HttpRequest, form: Any, formsets: Any, change: bool
    ) -> None:
        # The service has set the components already.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def delete_model(self, request: HttpRequest, obj: IncidentTemplate) -> None:
        services.template_delete(template=obj)
