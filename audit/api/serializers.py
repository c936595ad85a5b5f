"""The audit log in the management API: read only."""

from __future__ import annotations

from rest_framework import serializers

from audit.context import ActorKind
from audit.models import EXPORTED_FIELDS, AuditEntry


class AuditEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEntry
        fields = EXPORTED_FIELDS
        read_only_fields = fields


class AuditFilters(serializers.Serializer):
    actor_kind = serializers.ChoiceField(choices=ActorKind.choices, required=False)
    actor = serializers.CharField(
        max_length=150, required=False, help_text="The author's name, exactly."
    )
    action = serializers.CharField(max_length=40, required=False)
    object_type = serializers.CharField(
        max_length=100, required=False, help_text='For example "incidents.incident".'
    )
    object_id = serializers.CharField(max_length=64, required=False)
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)
