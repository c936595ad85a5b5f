"""Journey extractions: take a value out of a response into a ``{{variable}}``.

Sources: ``html`` (``pattern``: a regex with one group, searched in the body),
``cookie`` (``name``: read from the journey's cookie jar), ``json`` (``path``:
dotted, as in assertions) and ``header`` (``name``). ``var`` defaults to the
cookie or header name, or to the JSON path. Extracted values are treated as
secrets (kept out of errors) unless the extraction says ``"secret": false``.
"""

from __future__ import annotations

import json
import re
from typing import Any

import aiohttp
from yarl import URL

from .assertions import Reply, found, json_lookup, parse_json
from .config import FieldChecker
from .placeholders import PLACEHOLDER

SOURCES = {"html": "pattern", "cookie": "name", "json": "path", "header": "name"}


class ExtractionFailed(Exception):
    pass


def validate_extraction(check: FieldChecker) -> dict[str, Any] | None:
    source = check.raw("from")
    if not isinstance(source, str) or source not in SOURCES:
        check.error("from", f"must be one of {', '.join(SOURCES)}")
        return None
    key = SOURCES[source]
    check.unknown(("from", "var", "secret", key))
    what = check.text(key, required=True)
    if source == "html" and what is not None:
        _check_pattern(check, what)
    var = check.text("var", required=source == "html", default=what)
    if var is not None and not PLACEHOLDER.fullmatch("{{" + var + "}}"):
        check.error(
            "var", "must be letters, digits, '_', '.' or '-', starting with a letter"
        )
    secret = check.boolean("secret", True)
    return {"from": source, key: what, "var": var, "secret": secret}


def _check_pattern(check: FieldChecker, pattern: str) -> None:
    try:
        groups = re.compile(pattern).groups
    except re.error as exc:
        check.error("pattern", f"is not a valid regular expression: {exc}")
        return
    if groups != 1:
        check.error("pattern", "must have exactly one (group) around the value to take")


def extract(
    spec: dict[str, Any], reply: Reply, jar: aiohttp.CookieJar, url: str
) -> str:
    """The value one extraction takes from a response; raises ExtractionFailed."""
    source, label = spec["from"], f"extract {spec['var']}"
    if source == "html":
        match = re.search(spec["pattern"], reply.text)
        if match is None or match.group(1) is None:
            raise ExtractionFailed(f"{label}: pattern found no match in the response")
        return match.group(1)
    if source == "cookie":
        morsel = jar.filter_cookies(URL(url)).get(spec["name"])
        if morsel is None:
            raise ExtractionFailed(f"{label}: no cookie named {spec['name']!r}")
        return morsel.value
    if source == "header":
        value = reply.headers.get(spec["name"])
        if value is None:
            raise ExtractionFailed(
                f"{label}: no header {spec['name']!r} in the response"
            )
        return value
    return _from_json(spec["path"], reply, label)


def _from_json(path: str, reply: Reply, label: str) -> str:
    document = parse_json(reply.text)
    if not found(document):
        raise ExtractionFailed(f"{label}: the response is not JSON")
    value = json_lookup(document, path)
    if not found(value):
        raise ExtractionFailed(f"{label}: {path} not found in the JSON response")
    if isinstance(value, dict | list) or value is None:
        raise ExtractionFailed(f"{label}: {path} is not a text or number value")
    return value if isinstance(value, str) else json.dumps(value)
