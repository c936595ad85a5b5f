"""Request fields that take JSON's types as they are.

DRF's fields coerce what a form would send: ``0`` becomes ``false``, ``12`` becomes
``"12"``, ``"3"`` becomes ``3``. A JSON API that quietly guesses hides client bugs,
so these refuse anything but the declared type, with a 400 naming the field. A
form-encoded body (``kit.api.compat``) has only strings, and is read as DRF
reads forms.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers


def from_form(field: serializers.Field) -> bool:
    return bool(field.context.get("form"))


class _StrictString:
    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            self.fail("invalid")  # type: ignore[attr-defined]
        return super().to_internal_value(data)  # type: ignore[misc]


class Text(_StrictString, serializers.CharField):
    default_error_messages = {"invalid": "Expected a string."}


class Address(_StrictString, serializers.URLField):
    default_error_messages = {"invalid": "Expected a URL, as a string."}


class Flag(serializers.BooleanField):
    default_error_messages = {"invalid": "Expected true or false."}

    def to_internal_value(self, data: Any) -> bool:
        if from_form(self):
            return bool(super().to_internal_value(data))
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class Number(serializers.IntegerField):
    default_error_messages = {"invalid": "Expected a whole number."}

    def to_internal_value(self, data: Any) -> int:
        strict = not from_form(self)
        if strict and (isinstance(data, bool) or not isinstance(data, int)):
            self.fail("invalid")
        return int(super().to_internal_value(data))


class PublicIdOf(serializers.SlugRelatedField):
    """A row named by its public id; ``null`` (not ``""``) names none."""

    default_error_messages = {
        "does_not_exist": "No object with the id '{value}'.",
        "invalid": "Expected an id, as a string, or null.",
        "null_characters": "A NUL character is not allowed.",
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(slug_field="public_id", **kwargs)

    def run_validation(self, data: Any = serializers.empty) -> Any:
        if data == "" and from_form(self):
            data = None  # a form cannot send null: an empty value clears
        if data == "" or not (
            data is serializers.empty or data is None or isinstance(data, str)
        ):
            self.fail("invalid")
        if isinstance(data, str) and "\x00" in data:
            # PostgreSQL refuses NUL in text: the lookup itself would fail.
            self.fail("null_characters")
        return super().run_validation(data)
