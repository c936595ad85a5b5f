"""The pieces every management API view uses: bodies, refusals, filters."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Model, QuerySet
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

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
