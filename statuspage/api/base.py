"""The pieces every management API view uses."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from incidents.models import Page

from .compat import FormBody
from .errors import Conflict

M = TypeVar("M", bound=Model)
_envelopes: dict[tuple[str, type, bool], type[serializers.Serializer]] = {}


def envelope(
    key: str, inner: type[serializers.Serializer], *, partial: bool = False
) -> type[serializers.Serializer]:
    """The request body as Statuspage's clients send it: ``{"component": {...}}``.

    ``partial`` for PATCH and PUT, which change only the fields given (as
    Statuspage's do), so the schema shows every field as optional there.
    """
    if (key, inner, partial) not in _envelopes:
        base = inner.__name__.removesuffix("Input")
        name = f"{base}{'Change' if partial else ''}Envelope"
        fields = {key: inner(partial=partial)}
        _envelopes[key, inner, partial] = type(name, (serializers.Serializer,), fields)
    return _envelopes[key, inner, partial]


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
        self.page = Page.get()  # read once: the check and every body use it
        if kwargs.get("page_id") != self.page.public_id:
            raise Http404("No page with this id.")
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


@contextmanager
def refusals(prefix: str, rename: dict[str, str] | None = None) -> Iterator[None]:
    """A service's refusal as a 400 naming the API's field (``group_id``)."""
    try:
        yield
    except DjangoValidationError as refusal:
        rename = rename or {}
        if hasattr(refusal, "error_dict"):
            detail = {
                f"{prefix}.{rename.get(field, field)}"
                if field != "__all__"
                else prefix: messages
                for field, messages in refusal.message_dict.items()
            }
        else:
            detail = {prefix: refusal.messages}
        raise ValidationError(detail) from refusal


@contextmanager
def conflicts() -> Iterator[None]:
    """A refusal that depends on the state of other rows (a group still has
    components): 409, not 400, since the same request may succeed later."""
    try:
        yield
    except DjangoValidationError as refusal:
        raise Conflict(" ".join(refusal.messages)) from refusal


def by_public_id(queryset: QuerySet[M], ids: list[str], field: str) -> list[M]:
    """The rows for ``ids`` in order, or a 400 naming the unknown ones."""
    asked = [value for value in ids if "\x00" not in value]
    found = queryset.in_bulk(asked, field_name="public_id")
    unknown = [value for value in ids if value not in found]
    if unknown:
        raise ValidationError({field: [f"Unknown id: {', '.join(unknown)}."]})
    return [found[value] for value in dict.fromkeys(ids)]


def read_filters(
    filters: type[serializers.Serializer], request: Request
) -> dict[str, Any]:
    """The query string checked by ``filters``: a bad one is a 400 naming it.

    A plain dict, not the QueryDict: DRF reads a form's missing boolean as false and
    an empty optional field as absent, and ``?state=`` would quietly mean "any".
    """
    checked = filters(data=request.query_params.dict())
    checked.is_valid(raise_exception=True)
    return dict(checked.validated_data)
