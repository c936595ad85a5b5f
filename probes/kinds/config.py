"""Validation helpers shared by the kinds: one clear message per bad field."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError

MISSING = object()


class FieldChecker:
    """Reads fields of one config object, normalising them and collecting errors.

    Errors go into a dict shared with nested checkers (journey steps), keyed by
    the dotted field path, so a config reports every bad field at once.
    """

    def __init__(
        self,
        config: Mapping[str, Any],
        errors: dict[str, str] | None = None,
        prefix: str = "",
    ) -> None:
        self.config = config
        self.errors: dict[str, str] = {} if errors is None else errors
        self.prefix = prefix

    def nested(self, config: Mapping[str, Any], name: str) -> FieldChecker:
        return FieldChecker(config, self.errors, f"{self.key(name)}.")

    def key(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def error(self, name: str, message: str) -> None:
        # The first problem of a field is the one worth fixing first.
        self.errors.setdefault(self.key(name), f"{self.key(name)} {message}")

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationError(dict(self.errors))

    def has(self, name: str) -> bool:
        return self.config.get(name) is not None

    def raw(self, name: str) -> Any:
        return self.config.get(name)

    def unknown(self, allowed: Iterable[str]) -> None:
        known = set(allowed)
        for name in self.config:
            if name not in known:
                choices = ", ".join(sorted(known))
                self.error(name, f"is not a known field; use one of: {choices}")

    def text(self, name: str, *, required: bool = False, default: Any = None) -> Any:
        value = self.config.get(name)
        if value is None or value == "":
            if required:
                self.error(name, "is required")
            return default
        if not isinstance(value, str):
            self.error(name, "must be a string")
            return default
        return value

    def boolean(self, name: str, default: bool) -> bool:
        value = self.config.get(name, default)
        if not isinstance(value, bool):
            self.error(name, "must be true or false")
            return default
        return value

    def number(
        self,
        name: str,
        *,
        default: Any = None,
        minimum: float = 0,
        maximum: float | None = None,
        integer: bool = False,
    ) -> Any:
        value = self.config.get(name)
        if value is None:
            return default
        kind = "a whole number" if integer else "a number"
        wrong_type = isinstance(value, bool) or not isinstance(value, int | float)
        if wrong_type or (integer and not isinstance(value, int)):
            self.error(name, f"must be {kind}")
            return default
        if value < minimum or (maximum is not None and value > maximum):
            upper = f" and {maximum}" if maximum is not None else ""
            bound = f"between {minimum}{upper}" if upper else f"at least {minimum}"
            self.error(name, f"must be {bound}")
            return default
        return value

    def positive(self, name: str) -> Any:
        """An optional number above zero, such as a latency limit in ms."""
        value = self.number(name, minimum=0)
        if value == 0:
            self.error(name, "must be more than 0")
            return None
        return value

    def string_map(self, name: str) -> dict[str, str]:
        value = self.config.get(name)
        if value is None:
            return {}
        ok = isinstance(value, Mapping) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        )
        if not ok:
            self.error(name, 'must be an object of strings, e.g. {"Accept": "*/*"}')
            return {}
        return dict(value)

    def port(self, name: str, default: Any = None) -> Any:
        required = default is None and not self.has(name)
        if required:
            self.error(name, "is required (1-65535)")
            return None
        return self.number(
            name, default=default, minimum=1, maximum=65535, integer=True
        )
