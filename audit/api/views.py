"""Management API v1: the audit log, newest first, with filters. Nothing writes."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from audit.models import AuditEntry
from incidents.api.v1.base import ResourceViewSet
from kit.api.base import read_filters

from . import serializers as s

EXACT = {
    "actor_kind": "actor_kind",
    "actor": "actor_name",
    "action": "action",
    "object_type": "object_type",
    "object_id": "object_id",
}


@extend_schema(tags=["audit log"])
class AuditEntryViewSet(ResourceViewSet):
    """Every change of state: who (a person, an API token, an integration, the
    probes, the system or the command line), what (the object, the fields before
    and after), when and from where. Each entry carries the hash chaining it to
    the one before (``seq``, ``prev_hash``, ``hash``); ``manage.py audit verify``
    checks the chain."""

    serializer_class = s.AuditEntrySerializer
    permission_model = "audit.auditentry"
    lookup_field = "seq"

    def get_queryset(self) -> QuerySet[AuditEntry]:
        return AuditEntry.objects.order_by("-id")

    @extend_schema(parameters=[s.AuditFilters])
    def list(self, request: Request, **kwargs: Any) -> Response:
        filters = read_filters(s.AuditFilters, request)
        entries = self.get_queryset().filter(
            **{EXACT[name]: filters[name] for name in EXACT if name in filters}
        )
        if "since" in filters:
            entries = entries.filter(at__gte=filters["since"])
        if "until" in filters:
            entries = entries.filter(at__lt=filters["until"])
        return self.listing(entries)
