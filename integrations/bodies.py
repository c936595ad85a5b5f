"""Read the bodies alerting tools send into the alerts the probes take.

Each reader raises ``BodyError(field, reason)`` at the first field that is wrong, so
the sender learns which one (``alerts.0.labels``) and why. Fields the readers do not
use are ignored: a newer sender must not be refused for adding some.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from kit.api.parsers import MAX_DEPTH, TooDeep, json_loads
from probes.services import PushedAlert

STATUSES = ("firing", "resolved")
UNSTORABLE = "must not hold NUL characters or lone surrogates"
_SURROGATE = re.compile("[\ud800-\udfff]")


class BodyError(ValueError):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field} {reason}")
        self.field, self.reason = field, reason


def json_read(body: bytes) -> Any:
    try:
        return json_loads(body)
    except TooDeep:
        raise BodyError("body", f"nests deeper than {MAX_DEPTH} levels") from None
    except ValueError:
        raise BodyError("body", "is not valid JSON") from None


def alertmanager_alerts(payload: Any) -> list[PushedAlert]:
    """Alertmanager's webhook body, version 4: each alert with its own status."""
    body = _object(payload, "body")
    if body.get("version") != "4":
        raise BodyError("version", 'must be "4", Alertmanager\'s webhook format')
    return _alerts(body)


def generic_alerts(payload: Any) -> list[PushedAlert]:
    """``{"alerts": [{"status", "labels", "summary"}, ...]}``, or one such alert."""
    body = _object(payload, "body")
    if "alerts" not in body:
        return [_alert(body, "")]
    return _alerts(body)


def _alerts(body: dict[str, Any]) -> list[PushedAlert]:
    return [
        _alert(_object(item, f"alerts.{index}"), f"alerts.{index}.")
        for index, item in enumerate(_list(body, "alerts"))
    ]


def _alert(alert: dict[str, Any], prefix: str) -> PushedAlert:
    status = alert.get("status")
    if status not in STATUSES:
        raise BodyError(f"{prefix}status", 'must be "firing" or "resolved"')
    labels = _strings(alert.get("labels"), f"{prefix}labels", required=True)
    annotations = _strings(alert.get("annotations"), f"{prefix}annotations")
    summary = alert.get("summary")
    if summary is not None and not isinstance(summary, str):
        raise BodyError(f"{prefix}summary", "must be a string")
    if summary is not None and not storable(summary):
        raise BodyError(f"{prefix}summary", UNSTORABLE)
    summary = summary or annotations.get("summary") or annotations.get("description")
    return PushedAlert(
        fingerprint=fingerprint(labels),
        labels=labels,
        firing=status == "firing",
        message=": ".join(part for part in (labels.get("alertname"), summary) if part),
    )


def fingerprint(labels: Mapping[str, str]) -> str:
    """An alert's identity is its label set, as in Alertmanager; computed here the
    same way for every tool, so one tool's firing alert and another's resolved one
    with the same labels are the same alert."""
    canonical = json.dumps(sorted(labels.items()), separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def _object(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BodyError(field, "must be a JSON object")
    return value


def _list(body: dict[str, Any], field: str) -> list[Any]:
    value = body.get(field)
    if not isinstance(value, list):
        raise BodyError(field, "must be a list of alerts")
    return value


def _strings(value: Any, field: str, *, required: bool = False) -> dict[str, str]:
    if value is None and not required:
        return {}
    valid = isinstance(value, dict) and all(
        isinstance(item, str) for item in value.values()
    )
    if not valid or (required and not value):
        reason = "must be an object of strings" + (", not empty" if required else "")
        raise BodyError(field, reason)
    if not all(storable(key) and storable(item) for key, item in value.items()):
        raise BodyError(field, UNSTORABLE)
    return dict(value)


def storable(text: str) -> bool:
    """Whether PostgreSQL can store the text: JSON may spell a NUL (``\\u0000``) or
    half of a surrogate pair (``\\ud800``), which no text or jsonb column holds."""
    return "\x00" not in text and not _SURROGATE.search(text)
