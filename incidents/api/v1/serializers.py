"""Management API v1 bodies: Statuspage's field names, Heliograph's public ids.

Output serializers are read-only views of a row; ``*Input`` serializers check a
request's fields, which the views hand to the services.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from incidents.models import (
    UPDATE_STATUS_CHOICES,
    Component,
    ComponentStatus,
    Impact,
    Incident,
    IncidentStatus,
    IncidentTemplate,
    IncidentUpdate,
    MaintenanceStatus,
    Page,
)
from kit.api.fields import Address, Flag, Number, PublicIdOf, Text

STATUS_CHOICES = ComponentStatus.choices


@extend_schema_field(OpenApiTypes.STR)
class PageId(serializers.Field):
    """The id of the page a row belongs to: the install's one page, from the
    serializer's context."""

    def __init__(self) -> None:
        super().__init__(source="*", read_only=True)

    def to_representation(self, value: Any) -> str:
        return str(self.context["page_id"])


class PageSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    url = serializers.CharField(read_only=True, help_text="Empty until set.")
    page_description = serializers.CharField(source="description", read_only=True)

    class Meta:
        model = Page
        fields = ("id", "name", "page_description", "url", "time_zone", "updated_at")
        read_only_fields = fields


class PageInput(serializers.Serializer):
    name = Text(max_length=100)
    page_description = Text(max_length=300, allow_blank=True, source="description")
    url = Address(allow_blank=True)
    time_zone = Text(max_length=64)


class ComponentSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    page_id = PageId()
    group_id = serializers.CharField(
        source="group.public_id", default=None, read_only=True, allow_null=True
    )
    group = serializers.BooleanField(source="is_group", read_only=True)

    class Meta:
        model = Component
        fields = (
            "id",
            "page_id",
            "group_id",
            "group",
            "name",
            "description",
            "position",
            "status",
            "showcase",
            "only_show_if_degraded",
            "pinned",
            "start_date",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields


def live_groups() -> Any:
    return Component.objects.live().filter(is_group=True)


class ComponentInput(serializers.Serializer):
    name = Text(max_length=200)
    description = Text(allow_blank=True, required=False)
    status = serializers.ChoiceField(choices=STATUS_CHOICES, required=False)
    group_id = PublicIdOf(
        queryset=live_groups(),
        allow_null=True,
        required=False,
        source="group",
    )
    position = Number(min_value=0, max_value=2**31 - 1, required=False)
    showcase = Flag(required=False)
    only_show_if_degraded = Flag(required=False)
    pinned = Flag(required=False)
    start_date = serializers.DateField(allow_null=True, required=False)


class GroupSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    page_id = PageId()
    components = serializers.SerializerMethodField()

    class Meta:
        model = Component
        fields = (
            "id",
            "page_id",
            "name",
            "description",
            "components",
            "position",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields

    def get_components(self, group: Component) -> list[str]:
        return [child.public_id for child in getattr(group, "live_children", [])]


class GroupInput(serializers.Serializer):
    name = Text(max_length=200)
    description = Text(allow_blank=True, required=False)
    position = Number(min_value=0, max_value=2**31 - 1, required=False)
    components = serializers.ListField(
        child=Text(max_length=12), required=False, max_length=1000
    )


class AffectedComponentSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    old_status = serializers.ChoiceField(choices=STATUS_CHOICES)
    new_status = serializers.ChoiceField(choices=STATUS_CHOICES)


class IncidentUpdateSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    incident_id = serializers.CharField(source="incident.public_id", read_only=True)
    affected_components = AffectedComponentSerializer(
        many=True, allow_null=True, read_only=True
    )
    shown_on_page_ids = serializers.SerializerMethodField(
        help_text="The ids of the incident's pages that show this update; an empty "
        "list: every page the incident is on."
    )

    class Meta:
        model = IncidentUpdate
        fields = (
            "id",
            "incident_id",
            "status",
            "body",
            "display_at",
            "deliver_notifications",
            "affected_components",
            "shown_on_page_ids",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_shown_on_page_ids(self, update: IncidentUpdate) -> list[str]:
        return [page.public_id for page in update.shown_on.all()]


class IncidentSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    page_id = PageId()
    components = serializers.SerializerMethodField()
    incident_updates = IncidentUpdateSerializer(
        source="updates", many=True, read_only=True
    )
    shortlink = serializers.SerializerMethodField()
    scheduled_auto_in_progress = serializers.BooleanField(source="auto_start")
    scheduled_auto_completed = serializers.BooleanField(source="auto_complete")
    postmortem_body = serializers.SerializerMethodField()
    impact_override = serializers.SerializerMethodField()

    class Meta:
        model = Incident
        fields = (
            "id",
            "page_id",
            "name",
            "status",
            "impact",
            "impact_override",
            "origin",
            "components",
            "incident_updates",
            "shortlink",
            "started_at",
            "monitoring_at",
            "resolved_at",
            "scheduled_for",
            "scheduled_until",
            "scheduled_auto_in_progress",
            "scheduled_auto_completed",
            "postmortem_body",
            "postmortem_published_at",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields

    def get_components(self, incident: Incident) -> list[dict[str, Any]]:
        context = self.context
        live = [c for c in incident.components.all() if not c.is_deleted]
        return list(ComponentSerializer(live, many=True, context=context).data)

    def get_shortlink(self, incident: Incident) -> str:
        return incident.shortlink(self.context["page_url"])

    def get_postmortem_body(self, incident: Incident) -> str | None:
        return incident.postmortem_body or None

    @extend_schema_field(
        {"type": "string", "nullable": True, "enum": [*Impact.values, None]}
    )
    def get_impact_override(self, incident: Incident) -> str | None:
        return incident.impact_override or None


class IncidentInput(serializers.Serializer):
    name = Text(max_length=200)
    status = serializers.ChoiceField(choices=UPDATE_STATUS_CHOICES, required=False)
    body = Text(allow_blank=True, required=False)
    impact_override = serializers.ChoiceField(
        choices=Impact.choices,
        allow_blank=True,
        allow_null=True,
        required=False,
        help_text="null or an empty string clears the override.",
    )
    components = serializers.DictField(
        child=serializers.ChoiceField(choices=STATUS_CHOICES), required=False
    )
    component_ids = serializers.ListField(
        child=Text(max_length=12), required=False, max_length=1000
    )
    deliver_notifications = Flag(required=False)
    display_at = serializers.DateTimeField(required=False)
    scheduled_for = serializers.DateTimeField(required=False)
    scheduled_until = serializers.DateTimeField(required=False)
    scheduled_auto_in_progress = Flag(required=False)
    scheduled_auto_completed = Flag(required=False)
    template_id = Text(max_length=12, required=False)
    shown_on_page_ids = serializers.ListField(
        child=Text(max_length=12),
        required=False,
        max_length=100,
        help_text="The update being posted is shown only on these of the incident's "
        "pages (an internal update); absent or empty: on every page it is on.",
    )

    def validate_components(self, value: dict[str, str]) -> dict[str, str]:
        if len(value) > 1000:
            raise serializers.ValidationError("At most 1000 components.")
        return value


MAINTENANCE_STATUSES = set(MaintenanceStatus.values)
INCIDENT_STATUSES = set(IncidentStatus.values)


class IncidentUpdateInput(serializers.Serializer):
    body = Text(allow_blank=True, required=False)
    display_at = serializers.DateTimeField(required=False)
    deliver_notifications = Flag(required=False)


class PostmortemInput(serializers.Serializer):
    body = Text(required=False)
    body_draft = Text(required=False)

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        text = data.get("body", data.get("body_draft", ""))
        if not text.strip():
            raise serializers.ValidationError({"body": "The postmortem is empty."})
        return {"body": text}


class TemplateSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    components = serializers.SerializerMethodField()

    class Meta:
        model = IncidentTemplate
        fields = (
            "id",
            "name",
            "title",
            "body",
            "update_status",
            "should_send_notifications",
            "components",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields

    def get_components(self, template: IncidentTemplate) -> list[dict[str, Any]]:
        live = [c for c in template.components.all() if not c.is_deleted]
        return list(ComponentSerializer(live, many=True, context=self.context).data)


class TemplateInput(serializers.Serializer):
    name = Text(max_length=100)
    title = Text(max_length=200)
    body = Text(allow_blank=True, required=False)
    update_status = serializers.ChoiceField(
        choices=IncidentStatus.choices, required=False
    )
    should_send_notifications = Flag(required=False)
    component_ids = serializers.ListField(
        child=Text(max_length=12), required=False, max_length=1000
    )
