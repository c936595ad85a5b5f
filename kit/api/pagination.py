"""Lists answer a bare JSON array, as Statuspage's do, paged by ``page`` and
``per_page`` (``limit`` is accepted too). The total is in ``X-Total-Count`` and the
neighbouring pages in an RFC 8288 ``Link`` header."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

DEFAULT_PER_PAGE = 100
MAX_PER_PAGE = 1000


def _positive(request: Request, name: str, default: int, highest: int) -> int:
    given = request.query_params.getlist(name)
    if not given:
        return default
    try:
        (raw,) = given
        value = int(raw)
    except ValueError:  # not a number, or the parameter given more than once
        value = 0
    if not 1 <= value <= highest:
        raise ValidationError({name: [f"Expected a whole number from 1 to {highest}."]})
    return value


class PagePagination(BasePagination):
    def paginate_queryset(
        self, queryset: QuerySet[Any], request: Request, view: Any = None
    ) -> list[Any]:
        self.request = request
        limit = _positive(request, "limit", DEFAULT_PER_PAGE, MAX_PER_PAGE)
        self.per_page = _positive(request, "per_page", limit, MAX_PER_PAGE)
        self.page = _positive(request, "page", 1, 10**6)
        self.count = queryset.count()
        start = (self.page - 1) * self.per_page
        return list(queryset[start : start + self.per_page])

    def _links(self) -> str:
        url = self.request.build_absolute_uri()
        links = []
        if self.page * self.per_page < self.count:
            links.append(
                f'<{replace_query_param(url, "page", self.page + 1)}>; rel="next"'
            )
        if self.page > 1:
            links.append(
                f'<{replace_query_param(url, "page", self.page - 1)}>; rel="prev"'
            )
        return ", ".join(links)

    def get_paginated_response(self, data: Any) -> Response:
        headers = {"X-Total-Count": str(self.count)}
        links = self._links()
        if links:
            headers["Link"] = links
        return Response(data, headers=headers)

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return schema

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        def parameter(name: str, description: str, highest: int) -> dict[str, Any]:
            return {
                "name": name,
                "in": "query",
                "required": False,
                "description": description,
                "schema": {"type": "integer", "minimum": 1, "maximum": highest},
            }

        return [
            parameter("page", "The page of results, from 1.", 10**6),
            parameter("per_page", "Results per page (default 100).", MAX_PER_PAGE),
            parameter("limit", "The same as per_page.", MAX_PER_PAGE),
        ]
