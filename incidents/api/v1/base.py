"""The base of every resource under ``/api/v1/pages/{page_id}/``: the page checked,
one transaction per request, the permission each action needs."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from incidents.models import Page
from kit.api.base import envelope
from kit.api.compat import FormBody

VERBS = {
    "list": "view",
    "retrieve": "view",
    "create": "add",
    "update": "change",
    "partial_update": "change",
    "destroy": "delete",
}


class PageScopedViewSet(GenericViewSet):
    # A resource under /api/v1/pages/{page_id}/: unknown page ids are 404s. (A
    # comment, not a docstring: the schema would publish it as every description.)
    #
    # Each action needs a permission of ``permission_model`` ("incidents.incident"):
    # view to read, add to create, change to update, delete to delete, unless
    # ``action_permissions`` names another. The permission class asks for them.

    permission_model = ""
    action_permissions: dict[str, str] = {}
    lookup_field = "public_id"
    lookup_url_kwarg = "pk"
    lookup_value_regex = "[^/]+"
    body_key = ""
    # Fields Statuspage's clients send next to the envelope rather than in it.
    beside_envelope: tuple[str, ...] = ()

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        """One request, one transaction: a write refused part way (any 4xx or
        5xx) leaves nothing behind, however many services it had called."""
        if request.method in SAFE_METHODS:
            return super().dispatch(request, *args, **kwargs)
        with transaction.atomic():
            response = super().dispatch(request, *args, **kwargs)
            if response.status_code >= 400:
                transaction.set_rollback(True)
        return response

    def permissions_needed(self, request: Request) -> list[str]:
        action = self.action or ""
        if not action:
            return []  # no action has this method: DRF answers 405, nothing runs
        if action in self.action_permissions:
            return [self.action_permissions[action]]
        verb = VERBS.get(action) or ("view" if request.method in SAFE_METHODS else "")
        app, _, model = self.permission_model.partition(".")
        if not verb or not model:
            # An action nobody mapped is refused, never allowed by default.
            return [f"{app or 'heliograph'}.unmapped_{action or 'action'}"]
        return [f"{app}.{verb}_{model}"]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if any("\x00" in str(value) for value in kwargs.values()):
            raise Http404("No object with this id.")
        # Read once: the check and every body use it.
        page = Page.objects.filter(public_id=str(kwargs.get("page_id", ""))).first()
        if page is None:
            raise Http404("No page with this id.")
        self.page = page
        for name, values in request.query_params.lists():
            if any("\x00" in value for value in values):
                # PostgreSQL refuses NUL in text: say so rather than fail on it.
                raise ValidationError({name: ["A NUL character is not allowed."]})

    def sent_fields(self, request: Request) -> set[str]:
        """The names of the fields a body sends, wrapped in ``body_key`` or not."""
        data = request.data
        if not isinstance(data, dict):
            return set()
        inner = data.get(self.body_key, data)
        return set(inner) if isinstance(inner, dict) else set()

    def read_body(
        self, inner: type[serializers.Serializer], *, partial: bool = False
    ) -> dict[str, Any]:
        """The validated fields of the request, wrapped in ``body_key`` or not."""
        data = self.request.data
        if not isinstance(data, dict):
            raise ValidationError({"non_field_errors": ["Expected a JSON object."]})
        if self.body_key not in data:
            data = {self.body_key: data}
        elif self.beside_envelope and isinstance(data[self.body_key], dict):
            beside = {k: data[k] for k in self.beside_envelope if k in data}
            data = {self.body_key: {**beside, **data[self.body_key]}}
        checked = envelope(self.body_key, inner, partial=partial)(
            data=data,
            partial=partial,
            context={"form": isinstance(self.request.data, FormBody)},
        )
        checked.is_valid(raise_exception=True)
        fields = dict(checked.validated_data.get(self.body_key) or {})
        if partial and not fields:
            raise ValidationError(
                {self.body_key: ["Send at least one field to change."]}
            )
        return fields


class ResourceViewSet(PageScopedViewSet):
    # A page resource with the usual list and retrieve, and the context every body
    # needs: the page's id and address.

    def get_serializer_context(self) -> dict[str, Any]:
        # The schema generator asks for a context without running ``initial``.
        page = getattr(self, "page", None) or Page.get()
        return {
            **super().get_serializer_context(),
            "page_id": page.public_id,
            "page_url": page.url or self.request.build_absolute_uri("/"),
        }

    def respond(self, instance: Any, code: int = status.HTTP_200_OK) -> Response:
        return Response(self.get_serializer(instance).data, status=code)

    def list(self, request: Request, **kwargs: Any) -> Response:
        return self.listing(self.filter_queryset(self.get_queryset()))

    def listing(
        self, queryset: QuerySet[Any], serializer: type[Any] | None = None
    ) -> Response:
        """One page of ``queryset``, in the view's serializer or the one given."""
        rows = self.paginate_queryset(queryset)
        if serializer is None:
            data = self.get_serializer(rows, many=True).data
        else:
            data = serializer(
                rows, many=True, context=self.get_serializer_context()
            ).data
        return self.get_paginated_response(data)

    def retrieve(self, request: Request, **kwargs: Any) -> Response:
        return self.respond(self.get_object())
