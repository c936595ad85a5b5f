"""What a response must look like: status codes, body text, a JSON value, speed.

JSON paths are dotted: ``data.status`` reads ``{"data": {"status": ...}}`` and a
number indexes a list, so ``items.0.name`` reads ``{"items": [{"name": ...}]}``.
``json_equals`` compares JSON values exactly (``1`` does not equal ``"1"``).
Failures say what was expected and what kind of value came, never the value itself.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .base import Outcome
from .config import FieldChecker

DEFAULT_STATUS: list[int | str] = ["200-399"]
STATUS_RANGE = re.compile(r"^\s*(\d{3})\s*(?:-\s*(\d{3})\s*)?$")
ASSERTION_FIELDS = (
    "expected_status",
    "body_contains",
    "body_regex",
    "json_path",
    "json_equals",
    "degraded_after_ms",
)
_NOT_FOUND = object()


@dataclass(frozen=True)
class Reply:
    """The parts of an HTTP response that assertions and extractions read."""

    status: int
    text: str
    latency_ms: float
    headers: Mapping[str, str] = field(default_factory=dict)


def validate_assertions(check: FieldChecker) -> dict[str, Any]:
    spec = check.raw("expected_status")
    statuses = DEFAULT_STATUS if spec is None else _status_list(spec)
    if statuses is None:
        check.error(
            "expected_status",
            'must be a status code, a range like "200-299", or a list of them',
        )
    regex = check.text("body_regex")
    if regex is not None:
        try:
            re.compile(regex)
        except re.error as exc:
            check.error("body_regex", f"is not a valid regular expression: {exc}")
    config: dict[str, Any] = {
        "expected_status": statuses or DEFAULT_STATUS,
        "body_contains": check.text("body_contains"),
        "body_regex": regex,
        "degraded_after_ms": check.positive("degraded_after_ms"),
    }
    config.update(_json_assertion(check))
    return config


def _status_list(spec: Any) -> list[int | str] | None:
    items = spec if isinstance(spec, list) else [spec]
    if not items:
        return None
    normalised: list[int | str] = []
    for item in items:
        pieces = item.split(",") if isinstance(item, str) else [item]
        for piece in pieces:
            bounds = _status_bounds(piece)
            if bounds is None:
                return None
            low, high = bounds
            normalised.append(low if low == high else f"{low}-{high}")
    return normalised


def _status_bounds(item: Any) -> tuple[int, int] | None:
    if isinstance(item, bool):
        return None
    if isinstance(item, int):
        return (item, item) if 100 <= item <= 599 else None
    match = STATUS_RANGE.match(item) if isinstance(item, str) else None
    if not match:
        return None
    low, high = int(match[1]), int(match[2] or match[1])
    return (low, high) if 100 <= low <= high <= 599 else None


def _json_assertion(check: FieldChecker) -> dict[str, Any]:
    """Both keys or neither; a normalised config without a path carries neither, so
    it validates again unchanged (json_equals may itself be null)."""
    path = check.text("json_path")
    has_value = "json_equals" in check.config
    if path is None and has_value and check.config["json_equals"] is None:
        has_value = False  # a stored config from before: no assertion
    if path is not None and not has_value:
        check.error("json_path", "needs json_equals: the value expected at that path")
    if path is None and has_value:
        check.error("json_equals", "needs json_path: where to read the value")
    if path is not None and not all(path.split(".")):
        check.error("json_path", 'must be dotted names or indexes, e.g. "data.status"')
    if path is None:
        return {}
    return {"json_path": path, "json_equals": check.config.get("json_equals")}


def status_matches(code: int, statuses: list[int | str]) -> bool:
    for item in statuses:
        bounds = _status_bounds(item)
        if bounds and bounds[0] <= code <= bounds[1]:
            return True
    return False


def json_lookup(document: Any, path: str) -> Any:
    """The value at a dotted path, or _NOT_FOUND."""
    value = document
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return _NOT_FOUND
    return value


def parse_json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return _NOT_FOUND


def found(value: Any) -> bool:
    return value is not _NOT_FOUND


def assess(config: dict[str, Any], reply: Reply) -> tuple[Outcome, str]:
    """Outcome of one response: the first failed assertion, then speed."""
    error = _first_failure(config, reply)
    if error:
        return Outcome.DOWN, error
    limit = config.get("degraded_after_ms")
    if limit is not None and reply.latency_ms > limit:
        return Outcome.DEGRADED, f"slow: {reply.latency_ms:.0f} ms, above {limit} ms"
    return Outcome.UP, ""


def _first_failure(config: dict[str, Any], reply: Reply) -> str:
    statuses = config.get("expected_status") or DEFAULT_STATUS
    if not status_matches(reply.status, statuses):
        wanted = ", ".join(str(s) for s in statuses)
        return f"expected status {wanted}, got {reply.status}"
    needle = config.get("body_contains")
    if needle and needle not in reply.text:
        return f"response body does not contain {_show(needle)}"
    pattern = config.get("body_regex")
    if pattern and not re.search(pattern, reply.text):
        return f"response body does not match /{_shorten(pattern)}/"
    if config.get("json_path"):
        return _json_failure(config["json_path"], config.get("json_equals"), reply)
    return ""


def _json_failure(path: str, expected: Any, reply: Reply) -> str:
    document = parse_json(reply.text)
    if not found(document):
        return f"response is not JSON, cannot read {path}"
    actual = json_lookup(document, path)
    if not found(actual):
        return f"{path} not found in the JSON response"
    # JSON true is not 1: compare the kinds of scalars as well as their values.
    if actual != expected or isinstance(actual, bool) != isinstance(expected, bool):
        return f"{path} was {describe_value(actual)}, expected {_show(expected)}"
    return ""


def describe_value(value: Any) -> str:
    """What a response value is, never what it says: the target may echo a secret
    in a spelling no redactor knows (upper-cased, encoded)."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return f"a string of {_count(len(value), 'character')}"
    if isinstance(value, dict):
        return f"an object of {_count(len(value), 'key')}"
    return f"a list of {_count(len(value), 'item')}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _show(value: Any) -> str:
    return _shorten(json.dumps(value, ensure_ascii=False))


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
