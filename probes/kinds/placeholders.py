"""``{{name}}`` placeholders in requests; keeping secret values out of errors."""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus

from .config import FieldChecker

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][\w.-]*)\s*\}\}")
REDACTED = "[redacted]"
# Shorter base64 fragments of a secret would match unrelated text too often.
MIN_BASE64_CORE = 4


class MissingVariable(KeyError):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def names_in(value: Any) -> set[str]:
    """Every placeholder name used anywhere in a string, list or object."""
    if isinstance(value, str):
        return set(PLACEHOLDER.findall(value))
    if isinstance(value, Mapping):
        return set().union(*(names_in(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(names_in(v) for v in value))
    return set()


def render(value: Any, variables: Mapping[str, str]) -> Any:
    """Fill placeholders in strings, recursing into JSON-like values."""
    if isinstance(value, str):
        return PLACEHOLDER.sub(lambda m: _lookup(m.group(1), variables), value)
    if isinstance(value, Mapping):
        return {k: render(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, variables) for v in value]
    return value


def _lookup(name: str, variables: Mapping[str, str]) -> str:
    if name not in variables:
        raise MissingVariable(name)
    return variables[name]


def spellings(value: str) -> set[str]:
    """How a secret may appear in a request or an answer: as is, URL- or JSON-
    escaped, HTML-escaped, or base64-encoded (also inside a longer encoding, as in
    Basic auth). Letter case is left to the matching, which ignores it."""
    if not value:
        return set()
    found = {
        value,
        quote(value, safe=""),
        quote_plus(value),
        json.dumps(value)[1:-1],
        html.escape(value),
    }
    for variant in {value, value.upper(), value.lower()}:
        found |= _base64_cores(variant.encode())
    return found


def _base64_cores(data: bytes) -> set[str]:
    """The base64 characters that depend on ``data`` alone, at each of the three
    alignments it can have inside a longer encoded text."""
    cores = set()
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + data).decode()
        # Skip the characters that mix in the bytes before or after the value.
        core = encoded[-(-4 * shift // 3) : 8 * (shift + len(data)) // 6]
        if len(core) >= MIN_BASE64_CORE:
            cores |= {core, core.replace("+", "-").replace("/", "_")}
    return cores


class Redactor:
    """Replaces known secret values in every spelling of ``spellings``, any case."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        self.spellings: set[str] = set()
        for value in values:
            self.add(value)

    def add(self, value: str) -> None:
        self.spellings |= spellings(value)

    def __call__(self, text: str) -> str:
        if not self.spellings:
            return text
        # Longest first, so a secret that contains another is removed whole.
        ordered = sorted(self.spellings, key=len, reverse=True)
        pattern = re.compile("|".join(map(re.escape, ordered)), re.IGNORECASE)
        return pattern.sub(REDACTED, text)


SETTING_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def validate_secrets(check: FieldChecker) -> dict[str, str]:
    """``secrets``: placeholder name -> the setting or variable holding its value."""
    secrets = check.string_map("secrets")
    for name, setting in secrets.items():
        if not PLACEHOLDER.fullmatch("{{" + name + "}}"):
            check.error("secrets", f"has a bad placeholder name {name!r}; use letters")
        elif not SETTING_NAME.match(setting):
            check.error(
                "secrets", f"must name a setting for {name!r}, e.g. ACME_PASSWORD"
            )
        elif setting.endswith("_HOSTS"):
            check.error(
                "secrets",
                f"names {setting} for {name!r}, but PROBE_SECRET_*_HOSTS variables "
                "bind secrets to hosts and are no secrets themselves",
            )
    return secrets


def check_placeholders(
    check: FieldChecker, fields: Iterable[str], known: set[str], hint: str
) -> None:
    """Every ``{{name}}`` used in these fields must be defined by then."""
    for field in fields:
        unknown = sorted(names_in(check.config.get(field)) - known)
        if unknown:
            check.error(field, f"uses {{{{{unknown[0]}}}}}, which {hint}")
