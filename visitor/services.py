"""Writes of the visitor app: a page's brand."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from incidents import events
from incidents.models import Page
from visitor import brand as rules
from visitor.models import Brand

# Who may change a brand: who may change the page it brands.
PERMISSION = "incidents.change_page"
TEXT_FIELDS = {"colour", "footer_text", "custom_css", "not_found_text"}
# A file's field: its type and digest are stored beside it.
FILES = ("logo", "favicon")
# An upload of this value removes the file.
REMOVE = b""


def _checked(fields: dict[str, Any]) -> dict[str, Any]:
    """The values to store, or one refusal naming every field refused."""
    checks: dict[str, Callable[[Any], Any]] = {
        "colour": rules.colour_check,
        "custom_css": rules.css_check,
        "header_links": rules.links_check,
    }
    checked: dict[str, Any] = {}
    errors: dict[str, list[ValidationError]] = {}
    for name, value in fields.items():
        try:
            if name in FILES:
                checked.update(_file(name, value))
            elif name in checks:
                checked[name] = checks[name](value)
            else:
                checked[name] = value
        except ValidationError as error:
            errors[name] = [error]
    if errors:
        raise ValidationError(errors)
    return checked


def _file(name: str, data: bytes) -> dict[str, Any]:
    if data == REMOVE:
        return {name: b"", f"{name}_type": "", f"{name}_digest": ""}
    stored, kind = rules.image_check(bytes(data), what=name)
    digest = hashlib.blake2b(stored, digest_size=16).hexdigest()
    return {name: stored, f"{name}_type": kind, f"{name}_digest": digest}


@transaction.atomic
def brand_update(
    *,
    page: Page,
    actor: Any = None,
    header_links: Iterable[Any] | None = None,
    **fields: Any,
) -> Brand:
    """Set some of ``page``'s brand (made on first use): ``logo`` and ``favicon``
    as uploaded bytes (``b""`` removes one), ``colour``, ``header_links`` (label and
    url each), ``footer_text``, ``custom_css``, ``not_found_text``.

    Refuses, writing nothing, with the refused fields named; ``actor`` (a person)
    needs ``incidents.change_page``.
    """
    if actor is not None and not actor.has_perm(PERMISSION):
        raise PermissionDenied("Changing a page's brand needs incidents.change_page.")
    unknown = set(fields) - TEXT_FIELDS - set(FILES)
    if unknown:
        raise ValidationError(f"Unknown brand settings: {', '.join(sorted(unknown))}.")
    if header_links is not None:
        fields["header_links"] = list(header_links)
    checked = _checked(fields)
    brand, _ = Brand.objects.select_for_update().get_or_create(page=page)
    for name, value in checked.items():
        setattr(brand, name, value)
    brand.full_clean(exclude=["page"])
    brand.save()
    # Every public page of ``page`` shows its brand; subscribers are not told.
    events.announce_quietly(events.Kind.PAGE_UPDATED)
    return brand
