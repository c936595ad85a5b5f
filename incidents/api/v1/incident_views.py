"""Management API v1: incidents, scheduled maintenances, their updates, postmortems.

As in Statuspage, a maintenance is an incident whose status is a maintenance status
(``scheduled``, ``in_progress``, ...); creating one with ``scheduled_for`` schedules
it. Changing ``status``, ``body`` or ``components`` posts an update, which notifies
subscribers unless ``deliver_notifications`` is false; ``name`` and
``impact_override`` are edited in place.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from incidents import services
from incidents.api.v1.base import ResourceViewSet
from incidents.models import (
    Component,
    Incident,
    IncidentStatus,
    IncidentTemplate,
    IncidentUpdate,
    MaintenanceStatus,
    Page,
    StatusSource,
)
from kit.api.base import by_public_id, envelope, refusals
from kit.api.pagination import PagePagination

from . import serializers as s

RENAMED = {"group": "group_id", "shown_on": "shown_on_page_ids"}
SEARCH = OpenApiParameter(
    "q", OpenApiTypes.STR, description="Only incidents whose name contains this."
)
PAGING = [
    OpenApiParameter(p["name"], int, description=p["description"])
    for p in PagePagination().get_schema_operation_parameters(None)
]
LISTS = {
    "unresolved": lambda incidents: incidents.unresolved(),
    "scheduled": lambda incidents: incidents.upcoming(),
    "upcoming": lambda incidents: incidents.upcoming(),
    "active_maintenance": lambda incidents: incidents.active(),
}


# The API's names for a maintenance's schedule, and the service's.
SCHEDULE = {
    "scheduled_for": "scheduled_for",
    "scheduled_until": "scheduled_until",
    "scheduled_auto_in_progress": "auto_start",
    "scheduled_auto_completed": "auto_complete",
}
POSTING = ("status", "body", "components", "component_ids")


def _refuse_unchangeable(fields: dict[str, Any]) -> None:
    """Fields a change cannot use are refused, not ignored: a client that sends
    them expects something to happen."""
    if "template_id" in fields:
        raise ValidationError(
            {"incident.template_id": ["A template applies when creating an incident."]}
        )
    for name in ("display_at", "deliver_notifications", "shown_on_page_ids"):
        if name in fields and not any(key in fields for key in POSTING):
            raise ValidationError(
                {
                    f"incident.{name}": [
                        "This describes a new update: send it with status, body or "
                        "components."
                    ]
                }
            )


@extend_schema(tags=["incidents"])
class IncidentViewSet(ResourceViewSet):
    """Incidents and scheduled maintenances. Changing ``status``, ``body`` or
    ``components`` posts an update (subscribers are told unless
    ``deliver_notifications`` is false); ``name`` and ``impact_override`` are edited
    in place. Creating with ``scheduled_for`` and ``scheduled_until`` schedules a
    maintenance."""

    serializer_class = s.IncidentSerializer
    body_key = "incident"
    permission_model = "incidents.incident"
    action_permissions = {"postmortem_publish": "incidents.change_incident"}

    def get_queryset(self) -> QuerySet[Incident]:
        # Any: django-stubs cannot type a Prefetch on a custom QuerySet's manager.
        components: Any = Prefetch(
            "components", queryset=Component.objects.select_related("group")
        )
        updates: Any = Prefetch(
            "updates",
            queryset=IncidentUpdate.objects.select_related("incident").prefetch_related(
                "shown_on"
            ),
        )
        shown = Incident.objects.filter(pages=self.page)
        return shown.prefetch_related(components, updates).order_by(
            "-started_at", "-id"
        )

    def filter_queryset(self, queryset: QuerySet[Incident]) -> QuerySet[Incident]:
        query = self.request.query_params.get("q", "").strip()
        if query:
            queryset = queryset.filter(
                Q(name__icontains=query) | Q(updates__body__icontains=query)
            ).distinct()
        return queryset

    @extend_schema(parameters=[SEARCH])
    def list(self, request: Request, **kwargs: Any) -> Response:
        return super().list(request, **kwargs)

    def _listing(self, request: Request, name: str) -> Response:
        return self.listing(LISTS[name](self.get_queryset()))

    @extend_schema(responses=s.IncidentSerializer(many=True), parameters=PAGING)
    @action(detail=False, url_path="unresolved")
    def unresolved(self, request: Request, page_id: str) -> Response:
        return self._listing(request, "unresolved")

    @extend_schema(responses=s.IncidentSerializer(many=True), parameters=PAGING)
    @action(detail=False, url_path="scheduled")
    def scheduled(self, request: Request, page_id: str) -> Response:
        return self._listing(request, "scheduled")

    @extend_schema(responses=s.IncidentSerializer(many=True), parameters=PAGING)
    @action(detail=False, url_path="upcoming")
    def upcoming(self, request: Request, page_id: str) -> Response:
        return self._listing(request, "upcoming")

    @extend_schema(responses=s.IncidentSerializer(many=True), parameters=PAGING)
    @action(detail=False, url_path="active_maintenance")
    def active_maintenance(self, request: Request, page_id: str) -> Response:
        return self._listing(request, "active_maintenance")

    # Writes -----------------------------------------------------------------------

    @extend_schema(request=envelope("incident", s.IncidentInput))
    def create(self, request: Request, page_id: str) -> Response:
        fields = self.read_body(s.IncidentInput)
        self._fill_from_template(fields)
        statuses = self._component_statuses(fields)
        shown_on = self._shown_on(fields)
        with refusals("incident", RENAMED):
            if self._is_maintenance(fields):
                incident = self._schedule(fields, statuses, shown_on)
            else:
                incident = services.incident_create(
                    name=fields["name"],
                    status=fields.get("status", IncidentStatus.INVESTIGATING),
                    body=fields.get("body", ""),
                    component_statuses=statuses,
                    impact_override=fields.get("impact_override") or "",
                    display_at=fields.get("display_at"),
                    deliver_notifications=fields.get("deliver_notifications", True),
                    actor=request.user,
                    source=StatusSource.API,
                    pages=[self.page],
                    shown_on=shown_on,
                )
        return self.respond(self.get_queryset().get(pk=incident.pk), 201)

    @extend_schema(request=envelope("incident", s.IncidentInput, partial=True))
    def partial_update(self, request: Request, page_id: str, pk: str) -> Response:
        incident = self.get_object()
        fields = self.read_body(s.IncidentInput, partial=True)
        _refuse_unchangeable(fields)
        statuses = self._component_statuses(fields)
        shown_on = self._shown_on(fields)
        with refusals("incident", RENAMED):
            if "impact_override" in fields:
                fields["impact_override"] = fields["impact_override"] or ""
            edits = {k: fields[k] for k in ("name", "impact_override") if k in fields}
            if edits:
                services.incident_edit(incident=incident, **edits)
            schedule = {SCHEDULE[k]: fields[k] for k in SCHEDULE if k in fields}
            if schedule:
                services.maintenance_reschedule(maintenance=incident, **schedule)
            if statuses or "status" in fields or "body" in fields:
                services.incident_post_update(
                    incident=incident,
                    status=fields.get("status", incident.status),
                    body=fields.get("body", ""),
                    component_statuses=statuses,
                    display_at=fields.get("display_at"),
                    deliver_notifications=fields.get("deliver_notifications", True),
                    actor=request.user,
                    source=StatusSource.API,
                    shown_on=shown_on,
                )
        return self.respond(self.get_queryset().get(pk=incident.pk))

    @extend_schema(request=envelope("incident", s.IncidentInput, partial=True))
    def update(self, request: Request, page_id: str, pk: str) -> Response:
        return self.partial_update(request, page_id, pk)

    @extend_schema(responses={200: s.IncidentSerializer})
    def destroy(self, request: Request, page_id: str, pk: str) -> Response:
        """Delete an incident (with its updates); the answer is what it was."""
        incident = self.get_object()
        body = self.get_serializer(incident).data
        services.incident_delete(incident=incident)
        return Response(body)

    @extend_schema(request=envelope("postmortem", s.PostmortemInput))
    @action(detail=True, methods=["put"], url_path="postmortem/publish")
    def postmortem_publish(self, request: Request, page_id: str, pk: str) -> Response:
        incident = self.get_object()
        self.body_key = "postmortem"
        fields = self.read_body(s.PostmortemInput)
        with refusals("postmortem", {"postmortem_body": "body"}):
            services.incident_publish_postmortem(
                incident=incident, body=fields["body"], actor=request.user
            )
        return self.respond(self.get_queryset().get(pk=incident.pk))

    # Helpers ------------------------------------------------------------------------

    def _is_maintenance(self, fields: dict[str, Any]) -> bool:
        return (
            "scheduled_for" in fields
            or fields.get("status") in MaintenanceStatus.values
        )

    def _schedule(
        self,
        fields: dict[str, Any],
        statuses: dict[Component, str],
        shown_on: Sequence[Page] | None,
    ) -> Incident:
        missing = [k for k in ("scheduled_for", "scheduled_until") if k not in fields]
        if missing:
            raise ValidationError(
                {
                    f"incident.{k}": ["Required for a scheduled maintenance."]
                    for k in missing
                }
            )
        maintenance = services.maintenance_schedule(
            name=fields["name"],
            scheduled_for=fields["scheduled_for"],
            scheduled_until=fields["scheduled_until"],
            components=list(statuses),
            body=fields.get("body", ""),
            auto_start=fields.get("scheduled_auto_in_progress", True),
            auto_complete=fields.get("scheduled_auto_completed", True),
            deliver_notifications=fields.get("deliver_notifications", True),
            actor=self.request.user,
            pages=[self.page],
            shown_on=shown_on,
        )
        status = fields.get("status", MaintenanceStatus.SCHEDULED)
        if status != MaintenanceStatus.SCHEDULED:
            services.incident_post_update(
                incident=maintenance,
                status=status,
                actor=self.request.user,
                source=StatusSource.API,
                shown_on=shown_on,
            )
        return maintenance

    def _shown_on(self, fields: dict[str, Any]) -> Sequence[Page] | None:
        """The pages named by ``shown_on_page_ids``; the service checks that the
        incident is on each."""
        ids = fields.get("shown_on_page_ids")
        if not ids:
            return None
        return by_public_id(Page.objects.all(), ids, "incident.shown_on_page_ids")

    def _component_statuses(self, fields: dict[str, Any]) -> dict[Component, str]:
        """``components`` sets statuses; ``component_ids`` attaches without a change."""
        wanted = dict(fields.get("components") or {})
        attached = [i for i in fields.get("component_ids") or [] if i not in wanted]
        ids = [*wanted, *attached]
        live = Component.objects.live().filter(pages=self.page)
        found = by_public_id(live.select_related("group"), ids, "incident.components")
        rows = {row.public_id: row for row in found}
        statuses = {rows[i]: wanted[i] for i in wanted}
        statuses.update({rows[i]: rows[i].status for i in attached})
        return statuses

    def _fill_from_template(self, fields: dict[str, Any]) -> None:
        """``template_id`` gives the name, body, status and components not given."""
        template_id = fields.pop("template_id", None)
        if template_id is None:
            return
        mine = Q(page=self.page) | Q(page__isnull=True)
        template = IncidentTemplate.objects.filter(mine, public_id=template_id).first()
        if template is None:
            raise ValidationError({"incident.template_id": ["Unknown template."]})
        fields.setdefault("body", template.body)
        fields.setdefault("status", template.update_status)
        fields.setdefault("deliver_notifications", template.should_send_notifications)
        ids = [c.public_id for c in template.components.live().filter(pages=self.page)]
        fields.setdefault("component_ids", ids)


@extend_schema(tags=["incidents"])
class IncidentUpdateViewSet(ResourceViewSet):
    """An incident's updates. Editing corrects the text or the date; subscribers are
    not told again."""

    serializer_class = s.IncidentUpdateSerializer
    body_key = "incident_update"
    permission_model = "incidents.incidentupdate"

    def get_queryset(self) -> QuerySet[IncidentUpdate]:
        incident = get_object_or_404(
            Incident.objects.filter(pages=self.page),
            public_id=self.kwargs.get("incident_id", ""),
        )
        return (
            IncidentUpdate.objects.filter(incident=incident)
            .select_related("incident")
            .prefetch_related("shown_on")
        )

    @extend_schema(
        request=envelope("incident_update", s.IncidentUpdateInput, partial=True)
    )
    def partial_update(
        self, request: Request, page_id: str, incident_id: str, pk: str
    ) -> Response:
        update = self.get_object()
        fields = self.read_body(s.IncidentUpdateInput, partial=True)
        with refusals("incident_update"):
            services.incident_update_edit(update=update, **fields)
        return self.respond(self.get_queryset().get(pk=update.pk))

    @extend_schema(
        request=envelope("incident_update", s.IncidentUpdateInput, partial=True)
    )
    def update(
        self, request: Request, page_id: str, incident_id: str, pk: str
    ) -> Response:
        return self.partial_update(request, page_id, incident_id, pk)
