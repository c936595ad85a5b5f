"""Management API v1: probes, their latest state per region, and their results.

Each write validates the request with ``ProbeInput`` and calls the service the console
calls (``probe_create``, ``probe_update``, ``probe_delete``), which checks the kind's
configuration; its refusals come back as 400s naming the API's field.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import OuterRef, Prefetch, QuerySet, Subquery
from django.http import Http404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from incidents.api.v1.base import ResourceViewSet
from kit.api.base import envelope, read_filters, refusals
from probes import services
from probes.kinds.base import Outcome
from probes.models import Probe, ProbeKindName, ProbeResult, RegionState

from . import serializers as s

RENAMED = {"component": "component_id"}
OUTCOMES = [outcome.value for outcome in Outcome]
# A kind names the field at the start of each message: "steps.0.url must start
# with http://" (``probes.kinds.config.FieldChecker``), or "steps.0.component: no
# component 'x'." for a journey step's component.
FIELD_FIRST = re.compile(
    r"(?P<field>[a-z_][a-z0-9_]*(?:\.[\w-]+)*):? (?P<reason>.+)", re.S
)


def _query(
    name: str, kind: Any, description: str, enum: list[str] | None = None
) -> OpenApiParameter:
    return OpenApiParameter(name, kind, description=description, enum=enum)


PROBE_FILTERS = [
    _query("component_id", OpenApiTypes.STR, "Only probes feeding this component."),
    _query("kind", OpenApiTypes.STR, "Only probes of this kind.", ProbeKindName.values),
    _query("enabled", OpenApiTypes.BOOL, "Only enabled (true) or disabled probes."),
]
RESULT_FILTERS = [
    _query("region", OpenApiTypes.STR, "Only results from this region."),
    _query("outcome", OpenApiTypes.STR, "Only results with this outcome.", OUTCOMES),
    _query("since", OpenApiTypes.DATETIME, "Only results started at or after this."),
]


def _config_fields(refusal: DjangoValidationError) -> DjangoValidationError:
    """The service's ``config`` messages under the field each one names."""
    if not hasattr(refusal, "error_dict") or "config" not in refusal.error_dict:
        return refusal
    fields = {k: v for k, v in refusal.message_dict.items() if k != "config"}
    for message in refusal.message_dict["config"]:
        named = FIELD_FIRST.fullmatch(message)
        field, reason = (
            (f"config.{named['field']}", named["reason"])
            if named
            else ("config", message)
        )
        fields.setdefault(field, []).append(reason)
    return DjangoValidationError(fields)


@contextmanager
def probe_refusals() -> Iterator[None]:
    with refusals("probe", RENAMED):
        try:
            yield
        except DjangoValidationError as refusal:
            raise _config_fields(refusal) from refusal


def latest_states() -> Prefetch:
    """Each probe's region states with their step's latest result, in one query."""
    last = ProbeResult.objects.filter(
        probe_id=OuterRef("probe_id"), region=OuterRef("region"), step=OuterRef("step")
    ).order_by("-started_at", "-id")
    states = RegionState.objects.annotate(
        last_outcome=Subquery(last.values("outcome")[:1]),
        last_latency_ms=Subquery(last.values("latency_ms")[:1]),
        last_error=Subquery(last.values("error")[:1]),
        last_checked_at=Subquery(last.values("started_at")[:1]),
    ).order_by("region", "step")
    return Prefetch("states", queryset=states, to_attr="latest_states")


@extend_schema(tags=["probes"])
class ProbeViewSet(ResourceViewSet):
    """Probes: checks of the product from each region, which feed the verdict on
    their component. ``latest`` is each region's state as the verdict counts it, with
    its last result; ``/results`` lists the results themselves."""

    serializer_class = s.ProbeSerializer
    body_key = "probe"
    permission_model = "probes.probe"
    action_permissions = {"results": "probes.view_proberesult"}

    def get_queryset(self) -> QuerySet[Probe]:
        probes = Probe.objects.select_related("component")
        if self.action == "results":
            return probes
        return probes.prefetch_related(latest_states())

    def get_object(self) -> Probe:
        # PostgreSQL refuses NUL in a query: no probe has such an id.
        if "\x00" in self.kwargs.get(self.lookup_url_kwarg, ""):
            raise Http404("No probe with this id.")
        probe: Probe = super().get_object()
        return probe

    def filter_queryset(self, queryset: QuerySet[Probe]) -> QuerySet[Probe]:
        if self.action != "list":
            return queryset
        filters = read_filters(s.ProbeFilters, self.request)
        if "component_id" in filters:
            queryset = queryset.filter(component__public_id=filters["component_id"])
        if "kind" in filters:
            queryset = queryset.filter(kind=filters["kind"])
        if "enabled" in filters:
            queryset = queryset.filter(enabled=filters["enabled"])
        return queryset

    @extend_schema(parameters=PROBE_FILTERS)
    def list(self, request: Request, **kwargs: Any) -> Response:
        return super().list(request, **kwargs)

    @extend_schema(
        request=envelope("probe", s.ProbeInput),
        responses={201: s.ProbeCreatedSerializer},
    )
    def create(self, request: Request, page_id: str) -> Response:
        fields = self.read_body(s.ProbeInput)
        with probe_refusals():
            probe, token = services.probe_create(**fields)
        data = dict(self.get_serializer(self.get_queryset().get(pk=probe.pk)).data)
        if token:  # a heartbeat probe's address: shown now, never again
            address = reverse("probes:heartbeat", kwargs={"token": token})
            data["heartbeat_url"] = request.build_absolute_uri(address)
            data["heartbeat_token"] = token
        return Response(data, status=status.HTTP_201_CREATED)

    @extend_schema(request=envelope("probe", s.ProbeInput, partial=True))
    def partial_update(self, request: Request, page_id: str, pk: str) -> Response:
        probe = self.get_object()
        fields = self.read_body(s.ProbeInput, partial=True)
        with probe_refusals():
            services.probe_update(probe=probe, **fields)
        return self.respond(self.get_queryset().get(pk=probe.pk))

    @extend_schema(request=envelope("probe", s.ProbeInput, partial=True))
    def update(self, request: Request, page_id: str, pk: str) -> Response:
        return self.partial_update(request, page_id, pk)

    def destroy(self, request: Request, page_id: str, pk: str) -> Response:
        services.probe_delete(probe=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(parameters=RESULT_FILTERS, responses=s.ResultSerializer(many=True))
    @action(detail=True, url_path="results")
    def results(self, request: Request, page_id: str, pk: str) -> Response:
        """The probe's results, the newest first."""
        filters = read_filters(s.ResultFilters, request)
        results = ProbeResult.objects.filter(probe=self.get_object())
        if "region" in filters:
            results = results.filter(region=filters["region"])
        if "outcome" in filters:
            results = results.filter(outcome=filters["outcome"])
        if "since" in filters:
            results = results.filter(started_at__gte=filters["since"])
        ordered = results.select_related("component").order_by("-started_at", "-id")
        return self.listing(ordered, s.ResultSerializer)
