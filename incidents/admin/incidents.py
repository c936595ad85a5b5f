"""Incidents and scheduled maintenance in the console.

One admin for both kinds, as they are one model (as in Statuspage): the list filters
by kind, and "Open incident" (the add view) and "Schedule maintenance" are separate
forms. The change page is the incident's working page: its timeline, "Post update"
(with "Resolve"), the postmortem and the name and impact.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from incidents import services
from kit.console import staff_member

from ..forms import (
    IncidentEditForm,
    IncidentOpenForm,
    IncidentUpdateForm,
    MaintenanceScheduleForm,
    PostmortemForm,
)
from ..models import ComponentStatus, Incident, IncidentTemplate, IncidentUpdate
from .base import attempt

TEMPLATES = "admin/incidents/incident/"
# Each submit button of the change page names its action; the action names its form.
FORM_OF_ACTION = {
    "update": "update_form",
    "resolve": "update_form",
    "edit": "edit_form",
    "postmortem": "postmortem_form",
}
DONE = {"edit": "Saved the name and impact.", "postmortem": "Published the postmortem."}


def _timeline(incident: Incident) -> list[tuple[IncidentUpdate, list[str]]]:
    """Each update with what it changed, in words: "API: Operational → Major outage"."""
    label = dict(ComponentStatus.choices)

    def change(entry: dict[str, str]) -> str:
        old, new = entry["old_status"], entry["new_status"]
        return f"{entry['name']}: {label.get(old, old)} → {label.get(new, new)}"

    return [
        (update, [change(entry) for entry in update.affected_components or []])
        for update in incident.updates.select_related("author").prefetch_related(
            "shown_on"
        )
    ]


def _from_template(public_id: str | None) -> dict[str, Any]:
    """The open form's first values from a template (``?template=<id>``)."""
    template = IncidentTemplate.objects.filter(public_id=public_id or "").first()
    if template is None:
        return {}
    return {
        "name": template.title,
        "body": template.body,
        "status": template.update_status,
        "deliver_notifications": template.should_send_notifications,
    }


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "status", "impact", "started_at", "resolved_at")
    list_filter = ("kind", "status", "impact", "origin")
    search_fields = ("name",)
    date_hierarchy = "started_at"

    def get_urls(self) -> list[URLPattern]:
        schedule = path(
            "schedule/",
            self.admin_site.admin_view(self.schedule_view),
            name="incidents_incident_schedule",
        )
        return [schedule, *super().get_urls()]

    # Open an incident, schedule a maintenance -----------------------------------------

    def add_view(
        self,
        request: HttpRequest,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            form = IncidentOpenForm(request.POST)
        else:
            form = IncidentOpenForm(initial=_from_template(request.GET.get("template")))
        if form.is_bound and form.is_valid():
            incident = attempt(
                form,
                lambda: services.incident_create(
                    actor=staff_member(request), **form.service_kwargs()
                ),
            )
            if incident is not None:
                return self._created(request, incident, "Opened")
        templates = IncidentTemplate.objects.only("public_id", "name")
        return self._render(
            request, "open.html", "Open incident", form=form, templates=templates
        )

    def schedule_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = MaintenanceScheduleForm(
            request.POST if request.method == "POST" else None
        )
        if form.is_bound and form.is_valid():
            maintenance = attempt(
                form,
                lambda: services.maintenance_schedule(
                    actor=staff_member(request), **form.cleaned_data
                ),
            )
            if maintenance is not None:
                return self._created(request, maintenance, "Scheduled")
        return self._render(request, "schedule.html", "Schedule maintenance", form=form)

    def _created(
        self, request: HttpRequest, incident: Incident, verb: str
    ) -> HttpResponseRedirect:
        self.log_addition(request, incident, [{"added": {}}])
        self.message_user(request, f"{verb} “{incident.name}”.")
        return HttpResponseRedirect(self._change_url(incident))

    # The incident's working page ------------------------------------------------------

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        incident = self.get_object(request, unquote(object_id))
        if incident is None:
            self.message_user(
                request, "That incident no longer exists.", messages.WARNING
            )
            return HttpResponseRedirect(reverse("admin:incidents_incident_changelist"))
        if not self.has_view_or_change_permission(request, incident):
            raise PermissionDenied
        action = request.POST.get("_action", "update")
        if request.method != "POST":
            action = ""
        elif not self.has_change_permission(request, incident):
            raise PermissionDenied
        panels = self._panels(incident, request.POST, action)
        if action:
            done = self._submit(request, incident, action, panels)
            if done:
                self.log_change(request, incident, done)
                self.message_user(request, done)
                return HttpResponseRedirect(request.path)
        return self._render(
            request,
            "change.html",
            str(incident),
            incident=incident,
            timeline=_timeline(incident),
            **panels,
        )

    def _panels(
        self, incident: Incident, data: Any, action: str
    ) -> dict[str, forms.Form]:
        """The page's forms, only the submitted one bound to the request's data."""

        def bound(*names: str) -> Any:
            return data if action in names else None

        panels: dict[str, forms.Form] = {
            "update_form": IncidentUpdateForm(
                bound("update", "resolve"), incident=incident, prefix="update"
            ),
            "edit_form": IncidentEditForm(
                bound("edit"), incident=incident, prefix="edit"
            ),
        }
        if not incident.is_maintenance:
            panels["postmortem_form"] = PostmortemForm(
                bound("postmortem"), incident=incident, prefix="postmortem"
            )
        return panels

    def _submit(
        self,
        request: HttpRequest,
        incident: Incident,
        action: str,
        panels: dict[str, forms.Form],
    ) -> str | None:
        """Call the service behind ``action``: what was done, or None if refused."""
        form = panels.get(FORM_OF_ACTION.get(action, ""))
        if form is None or not form.is_valid():
            return None
        done = attempt(form, self._service_call(request, incident, action, form))
        if isinstance(done, IncidentUpdate):
            return f"Posted a “{done.get_status_display()}” update."
        return None if done is None else DONE[action]

    def _service_call(
        self, request: HttpRequest, incident: Incident, action: str, form: Any
    ) -> Callable[[], object]:
        if action in ("update", "resolve"):
            kwargs = form.service_kwargs(resolve=action == "resolve")
            return lambda: services.incident_post_update(
                incident=incident, actor=staff_member(request), **kwargs
            )
        if action == "edit":
            return lambda: services.incident_edit(
                incident=incident, **form.cleaned_data
            )
        return lambda: services.incident_publish_postmortem(
            incident=incident,
            body=form.cleaned_data["postmortem_body"],
            actor=staff_member(request),
        )

    # Deleting -------------------------------------------------------------------------

    def delete_model(self, request: HttpRequest, obj: Incident) -> None:
        services.incident_delete(incident=obj)

    def delete_queryset(
        self, request: HttpRequest, queryset: QuerySet[Incident]
    ) -> None:
        for incident in queryset:
            services.incident_delete(incident=incident)

    # Rendering ------------------------------------------------------------------------

    def _change_url(self, incident: Incident) -> str:
        return reverse("admin:incidents_incident_change", args=[incident.pk])

    def _render(
        self, request: HttpRequest, template: str, title: str, **context: Any
    ) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": title,
            "has_view_permission": self.has_view_permission(request),
            "has_delete_permission": self.has_delete_permission(request),
            **context,
        }
        return TemplateResponse(request, TEMPLATES + template, context)
