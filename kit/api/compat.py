"""What Statuspage's older clients and scripts send, made into what the API reads.

Statuspage's own documentation long showed ``.json`` at the end of every path and
form-encoded bodies with brackets (``-d "component[status]=major_outage"``); scripts
written from it still do. Both are accepted under ``/api/v1/`` so that such a
script needs only its base URL and key changed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote_to_bytes

from django.http import HttpRequest, HttpResponse, QueryDict
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.parsers import FormParser

from .parsers import MAX_DEPTH, TOO_DEEP

MANAGE_API = "/api/v1/pages"
SUFFIX = ".json"
KEY_PART = re.compile(r"\[([^\[\]]*)\]")
NOT_UTF8 = "Not valid UTF-8: send form fields encoded as UTF-8."


class JsonSuffixMiddleware:
    """``/api/v1/pages/{id}/incidents.json`` is ``/api/v1/pages/{id}/incidents``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if path.startswith(MANAGE_API) and path.endswith(SUFFIX):
            request.path_info = path.removesuffix(SUFFIX)
        return self.get_response(request)


class FormBody(dict[str, Any]):
    """A request body that came form-encoded: its values are all strings, so the
    strict JSON fields read them as a form's (``"true"``, ``"3"``)."""


def _path(key: str) -> list[str] | None:
    """``incident[components][abc]`` -> ``["incident", "components", "abc"]``."""
    head, _, rest = key.partition("[")
    if not head:
        return None
    rest = "[" + rest if rest else ""
    parts = KEY_PART.findall(rest)
    if "".join(f"[{part}]" for part in parts) != rest:
        return None  # a malformed key is kept as it was sent
    if len(parts) >= MAX_DEPTH:
        # As deep as a JSON body may be: the nested objects are walked later.
        raise ParseError(TOO_DEEP)
    return [head, *parts]


def _place(body: dict[str, Any], path: list[str], values: list[str]) -> None:
    node = body
    for part in path[:-2] if path[-1] == "" else path[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            return  # the same key used as a value and as an object: first wins
        node = child
    if path[-1] == "":  # incident[component_ids][]=a&incident[component_ids][]=b
        node.setdefault(path[-2], [])
        if isinstance(node[path[-2]], list):
            node[path[-2]].extend(values)
    else:
        node.setdefault(path[-1], values[-1])


def nest(pairs: list[tuple[str, list[str]]]) -> FormBody:
    body = FormBody()
    for key, values in pairs:
        path = _path(key)
        if path is None or (path[-1] == "" and len(path) < 2):
            body.setdefault(key, values[-1])
        else:
            _place(body, path, values)
    return body


def _utf8_check(body: bytes) -> None:
    """Refuse a form whose names or values are not UTF-8, naming the first field.

    Django would read such a body as Latin-1 (the whole of it, so every accented
    letter elsewhere turns to mojibake) or put U+FFFD for a bad ``%E9``: either way
    something other than what was sent would be stored.
    """
    for pair in body.split(b"&"):
        name, _, value = pair.partition(b"=")
        name_bytes = unquote_to_bytes(name.replace(b"+", b" "))
        try:
            name_bytes.decode()
            unquote_to_bytes(value.replace(b"+", b" ")).decode()
        except UnicodeDecodeError:
            key = name_bytes.decode(errors="replace")
            path = _path(key) if key else None
            field = ".".join(part for part in path if part) if path else key
            raise ValidationError({field or "body": [NOT_UTF8]}) from None


class BracketFormParser(FormParser):
    """Form-encoded bodies with Rails-style brackets, as nested objects."""

    def parse(
        self, stream: Any, media_type: Any = None, parser_context: Any = None
    ) -> FormBody:
        body = stream.read() if stream is not None else b""
        _utf8_check(body)
        return nest(list(QueryDict(body, encoding="utf-8").lists()))
