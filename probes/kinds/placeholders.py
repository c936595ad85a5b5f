"""``{{name}}`` placeholders in requests; keeping secret values out of errors."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus

from .config import FieldChecker

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][\w.-]*)\s*\}\}")
REDACTED = "[redacted]"


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


class Redactor:
    """Replaces known secret values, in plain and URL-encoded spellings."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        self.spellings: set[str] = set()
        for value in values:
            self.add(value)

    def add(self, value: str) -> None:
        if value:
            self.spellings.update({value, quote(value, safe=""), quote_plus(value)})

    def __call__(self, text: str) -> str:
        # Longest first, so a secret that contains another is removed whole.
        for spelling in sorted(self.spellings, key=len, reverse=True):
            text = text.replace(spelling, REDACTED)
        return text


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
    return secrets


def check_placeholders(
    check: FieldChecker, fields: Iterable[str], known: set[str], hint: str
) -> None:
    """Every ``{{name}}`` used in these fields must be defined by then."""
    for field in fields:
        unknown = sorted(names_in(check.config.get(field)) - known)
        if unknown:
            check.error(field, f"uses {{{{{unknown[0]}}}}}, which {hint}")
