"""Management API v1: the page, components, component groups and templates.

Incidents are in ``incident_views``. Each write validates the request with an
``*Input`` serializer and calls the service the console calls.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from incidents import services
from incidents.api.v1.base import PageScopedViewSet, ResourceViewSet
from incidents.models import Component, IncidentTemplate, Page, StatusSource
from incidents.services.components import DESCRIPTIVE_FIELDS
from kit.api.base import by_public_id, conflicts, envelope, refusals

from . import serializers as s

RENAMED = {"group": "group_id", "description": "page_description"}
STATUS_PERMISSIONS = {
    "status": "incidents.set_component_status",
    "pinned": "incidents.pin_component",
}


@extend_schema(tags=["pages"])
class PageViewSet(PageScopedViewSet):
    """The status pages' settings. Each page's id is in the path of its resources
    (``GET /api/v1/pages`` lists them, the default page first)."""

    serializer_class = s.PageSerializer
    body_key = "page"
    permission_model = "incidents.page"
    pagination_class = None

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        if "page_id" in kwargs:
            super().initial(request, *args, **kwargs)
        else:
            super(PageScopedViewSet, self).initial(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Page]:
        Page.get()  # an install's first request finds its default page made
        return Page.objects.all()

    def get_object(self) -> Page:
        return self.page

    @extend_schema(responses=s.PageSerializer(many=True))
    def list(self, request: Request) -> Response:
        return Response(self.get_serializer(self.get_queryset(), many=True).data)

    def retrieve(self, request: Request, page_id: str) -> Response:
        return Response(self.get_serializer(self.page).data)

    @extend_schema(request=envelope("page", s.PageInput, partial=True))
    def partial_update(self, request: Request, page_id: str) -> Response:
        fields = self.read_body(s.PageInput, partial=True)
        with refusals("page", RENAMED):
            page = services.page_update(page=self.page, **fields)
        return Response(self.get_serializer(page).data)

    @extend_schema(request=envelope("page", s.PageInput, partial=True))
    def update(self, request: Request, page_id: str) -> Response:
        return self.partial_update(request, page_id)


@extend_schema(tags=["components"])
class ComponentViewSet(ResourceViewSet):
    """Components, groups included (``group: true``). Setting ``status`` records a
    change by the API and tells subscribers; ``pinned`` keeps it against the
    probes until cleared."""

    serializer_class = s.ComponentSerializer
    body_key = "component"
    permission_model = "incidents.component"

    def permissions_needed(self, request: Request) -> list[str]:
        """A change of status or pin needs the responder's permissions for them;
        any other field, the permission to change the component itself."""
        if self.action not in ("update", "partial_update"):
            return super().permissions_needed(request)
        sent = self.sent_fields(request)
        needed = [
            permission
            for field, permission in STATUS_PERMISSIONS.items()
            if field in sent
        ]
        if not needed or sent - set(STATUS_PERMISSIONS):
            needed.append("incidents.change_component")
        return needed

    def get_queryset(self) -> QuerySet[Component]:
        shown = Component.objects.live().filter(pages=self.page)
        return shown.select_related("group").order_by("position", "id")

    @extend_schema(request=envelope("component", s.ComponentInput))
    def create(self, request: Request, page_id: str) -> Response:
        fields = self.read_body(s.ComponentInput)
        pinned = fields.pop("pinned", None)
        with refusals("component", RENAMED):
            component = services.component_create(pages=[self.page], **fields)
            if pinned:
                services.component_pin(component=component, pinned=True)
        return self.respond(self.get_queryset().get(pk=component.pk), 201)

    @extend_schema(request=envelope("component", s.ComponentInput, partial=True))
    def partial_update(self, request: Request, page_id: str, pk: str) -> Response:
        component = self.get_object()
        fields = self.read_body(s.ComponentInput, partial=True)
        with refusals("component", RENAMED):
            self._change(component, fields)
        return self.respond(self.get_queryset().get(pk=component.pk))

    @extend_schema(request=envelope("component", s.ComponentInput, partial=True))
    def update(self, request: Request, page_id: str, pk: str) -> Response:
        return self.partial_update(request, page_id, pk)

    def _change(self, component: Component, fields: dict[str, Any]) -> None:
        described = {k: v for k, v in fields.items() if k in DESCRIPTIVE_FIELDS}
        if described:
            services.component_update(component=component, **described)
        if "pinned" in fields:
            services.component_pin(component=component, pinned=fields["pinned"])
        if "status" in fields:
            services.component_set_status(
                component=component,
                status=fields["status"],
                source=StatusSource.API,
                actor=self.request.user,
            )

    def destroy(self, request: Request, page_id: str, pk: str) -> Response:
        component = self.get_object()
        with conflicts():
            services.component_delete(component=component)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["component groups"])
class GroupViewSet(ResourceViewSet):
    """Component groups. A group's status follows its components; ``components``
    lists their ids in page order, and setting it moves components in or out."""

    serializer_class = s.GroupSerializer
    body_key = "component_group"
    permission_model = "incidents.component"
    beside_envelope = ("description",)  # as in Statuspage's own API

    def get_queryset(self) -> QuerySet[Component]:
        children = Prefetch(
            "children",
            queryset=Component.objects.live().order_by("position", "id"),
            to_attr="live_children",
        )
        groups = Component.objects.live().filter(is_group=True, pages=self.page)
        return groups.prefetch_related(children).order_by("position", "id")

    @extend_schema(request=envelope("component_group", s.GroupInput))
    def create(self, request: Request, page_id: str) -> Response:
        fields = self.read_body(s.GroupInput)
        members = self._members(fields.pop("components", None))
        with refusals("component_group"):
            group = services.component_create(
                is_group=True, pages=[self.page], **fields
            )
            self._adopt(group, members)
        return self.respond(self.get_queryset().get(pk=group.pk), 201)

    @extend_schema(request=envelope("component_group", s.GroupInput, partial=True))
    def partial_update(self, request: Request, page_id: str, pk: str) -> Response:
        group = self.get_object()
        fields = self.read_body(s.GroupInput, partial=True)
        members = self._members(fields.pop("components", None))
        with refusals("component_group"):
            if fields:
                services.component_update(component=group, **fields)
            self._adopt(group, members)
        return self.respond(self.get_queryset().get(pk=group.pk))

    @extend_schema(request=envelope("component_group", s.GroupInput, partial=True))
    def update(self, request: Request, page_id: str, pk: str) -> Response:
        return self.partial_update(request, page_id, pk)

    def destroy(self, request: Request, page_id: str, pk: str) -> Response:
        """As in Statuspage, deleting a group keeps its components, ungrouped."""
        group = self.get_object()
        with conflicts():
            self._adopt(group, [])
            services.component_delete(component=group)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _members(self, ids: list[str] | None) -> list[Component] | None:
        if ids is None:
            return None
        children = Component.objects.live().filter(is_group=False, pages=self.page)
        return by_public_id(children, ids, "component_group.components")

    def _adopt(self, group: Component, members: list[Component] | None) -> None:
        """Make ``members`` the group's components, in that order."""
        if members is None:
            return
        for leaving in group.children.live().exclude(pk__in=[m.pk for m in members]):
            services.component_update(component=leaving, group=None)
        for position, member in enumerate(members):
            member.refresh_from_db()
            services.component_update(component=member, group=group, position=position)


@extend_schema(tags=["incident templates"])
class TemplateViewSet(ResourceViewSet):
    """Incident templates: a prepared name, text, status and components. Open an
    incident from one with ``template_id``."""

    serializer_class = s.TemplateSerializer
    body_key = "template"
    permission_model = "incidents.incidenttemplate"

    def get_queryset(self) -> QuerySet[IncidentTemplate]:
        components = Prefetch(
            "components", queryset=Component.objects.select_related("group")
        )
        mine = Q(page=self.page) | Q(page__isnull=True)
        return IncidentTemplate.objects.filter(mine).prefetch_related(components)

    @extend_schema(request=envelope("template", s.TemplateInput))
    def create(self, request: Request, page_id: str) -> Response:
        fields = self.read_body(s.TemplateInput)
        components = self._components(fields.pop("component_ids", []))
        with refusals("template", {"components": "component_ids"}):
            template = services.template_create(
                components=components, page=self.page, **fields
            )
        return self.respond(self.get_queryset().get(pk=template.pk), 201)

    @extend_schema(request=envelope("template", s.TemplateInput, partial=True))
    def partial_update(self, request: Request, page_id: str, pk: str) -> Response:
        template = self.get_object()
        fields = self.read_body(s.TemplateInput, partial=True)
        ids = fields.pop("component_ids", None)
        components = None if ids is None else self._components(ids)
        with refusals("template", {"components": "component_ids"}):
            services.template_update(template=template, components=components, **fields)
        return self.respond(self.get_queryset().get(pk=template.pk))

    @extend_schema(request=envelope("template", s.TemplateInput, partial=True))
    def update(self, request: Request, page_id: str, pk: str) -> Response:
        return self.partial_update(request, page_id, pk)

    def destroy(self, request: Request, page_id: str, pk: str) -> Response:
        services.template_delete(template=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _components(self, ids: list[str]) -> list[Component]:
        live = Component.objects.live().filter(is_group=False, pages=self.page)
        return by_public_id(live, ids, "template.component_ids")
