"""Page settings."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from incidents import events
from incidents.models import (
    Page,
)


@transaction.atomic
def page_update(*, page: Page | None = None, **fields: Any) -> Page:
    page = page or Page.get()
    allowed = {"name", "url", "time_zone", "description"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError(f"Unknown page settings: {', '.join(sorted(unknown))}.")
    for name, value in fields.items():
        setattr(page, name, value)
    page.full_clean()
    page.save()
    # Every public page shows these settings; subscribers are not told.
    events.announce_quietly(events.Kind.PAGE_UPDATED)
    return page
