"""JSON bodies nested at most ``MAX_DEPTH`` deep.

Python's JSON decoder recurses once per bracket: a body of 200,000 ``[`` raises
``RecursionError``, which DRF does not expect (a 500), and a body just under
Python's limit still makes every later walk over it recurse as deep. No body the
API or an integration reads nests past a few levels.
"""

from __future__ import annotations

import json
from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError

MAX_DEPTH = 64
TOO_DEEP = f"The body nests deeper than {MAX_DEPTH} levels."


class TooDeep(ValueError):
    pass


def depth_check(value: Any, limit: int = MAX_DEPTH) -> None:
    """Raise ``TooDeep`` when lists and objects nest past ``limit`` (no recursion)."""
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        children = item.values() if isinstance(item, dict) else item
        if depth > limit:
            raise TooDeep(TOO_DEEP)
        pending.extend(
            (child, depth + 1) for child in children if isinstance(child, dict | list)
        )


def json_loads(data: bytes | str) -> Any:
    """``json.loads``, refusing nesting past ``MAX_DEPTH`` with ``TooDeep``."""
    try:
        value = json.loads(data)
    except RecursionError:
        raise TooDeep(TOO_DEEP) from None
    if isinstance(value, dict | list):
        depth_check(value)
    return value


class JSONParser(parsers.JSONParser):
    """DRF's parser, with nesting past ``MAX_DEPTH`` a 400 like any bad JSON."""

    def parse(
        self, stream: Any, media_type: Any = None, parser_context: Any = None
    ) -> Any:
        try:
            value = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(TOO_DEEP) from None
        if isinstance(value, dict | list):
            try:
                depth_check(value)
            except TooDeep:
                raise ParseError(TOO_DEEP) from None
        return value
