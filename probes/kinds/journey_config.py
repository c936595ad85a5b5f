"""Validation of journey configs: the steps, their placeholders and extractions."""

from __future__ import annotations

import re
from typing import Any

from .assertions import ASSERTION_FIELDS, validate_assertions
from .bindings import check_secret_hosts
from .config import FieldChecker
from .extraction import validate_extraction
from .placeholders import check_placeholders, validate_secrets
from .request import REQUEST_FIELDS, TLS_FIELDS, validate_request, validate_tls

PUBLIC_ID = re.compile(r"^[a-z0-9]{12}$")
STEP_FIELDS = (
    "name",
    "component",
    "cleanup",
    "extract",
    *REQUEST_FIELDS,
    *ASSERTION_FIELDS,
)
TEMPLATED_FIELDS = ("url", "headers", "body", "form", "json")


def validate_journey(config: dict[str, Any]) -> dict[str, Any]:
    """Check the steps in order, so a placeholder is known only once defined."""
    check = FieldChecker(config)
    check.unknown(("steps", "secrets", *TLS_FIELDS))
    secrets = validate_secrets(check)
    normalised: dict[str, Any] = {"secrets": secrets, **validate_tls(check)}
    raw_steps = check.raw("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        check.error("steps", "must be a list with at least one step")
        raw_steps = []
    known, names = set(secrets), set[str]()
    steps = []
    for index, raw in enumerate(raw_steps):
        if not isinstance(raw, dict):
            check.error(f"steps.{index}", "must be an object with a name and a url")
            continue
        step_check = check.nested(raw, f"steps.{index}")
        steps.append(_validate_step(step_check, secrets, known, names))
    check.raise_if_any()
    normalised["steps"] = steps
    return normalised


def _validate_step(
    check: FieldChecker, secrets: dict[str, str], known: set[str], names: set[str]
) -> dict[str, Any]:
    check.unknown(STEP_FIELDS)
    name = check.text("name", required=True)
    if name in names:
        check.error("name", "is already used by another step; names must be unique")
    names.add(name)
    component = check.text("component")
    if component is not None and not PUBLIC_ID.match(component):
        check.error("component", "must be a component's public id (12 of a-z, 0-9)")
    step = {
        "name": name,
        "component": component,
        "cleanup": check.boolean("cleanup", False),
        **validate_request(check),
        **validate_assertions(check),
    }
    hint = "is neither in secrets nor extracted by an earlier step"
    check_placeholders(check, TEMPLATED_FIELDS, known, hint)
    check_secret_hosts(check, secrets, name)
    step["extract"] = _validate_extractions(check)
    known.update(spec["var"] for spec in step["extract"] if spec.get("var"))
    return step


def _validate_extractions(check: FieldChecker) -> list[dict[str, Any]]:
    raw = check.raw("extract")
    if raw is None:
        return []
    if not isinstance(raw, list):
        check.error(
            "extract", 'must be a list, e.g. [{"from": "cookie", "name": "csrftoken"}]'
        )
        return []
    specs = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            check.error(f"extract.{index}", "must be an object with a from field")
            continue
        spec = validate_extraction(check.nested(item, f"extract.{index}"))
        if spec is not None:
            specs.append(spec)
    return specs
