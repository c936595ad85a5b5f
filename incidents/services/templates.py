"""Incident templates: prepared texts for incidents and their updates."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from incidents.models import Component, IncidentStatus, IncidentTemplate

TEMPLATE_FIELDS = {
    "name",
    "title",
    "body",
    "update_status",
    "should_send_notifications",
    "page",
}


def _check_components(components: Iterable[Component]) -> list[Component]:
    components = list(components)
    for component in components:
        if component.is_deleted or component.is_group:
            what = "was deleted" if component.is_deleted else "is a group"
            raise ValidationError(
                {
                    "components": f"'{component.name}' {what}: a template names live "
                    "components only."
                }
            )
    return components


def _save(
    template: IncidentTemplate,
    fields: dict[str, Any],
    components: Iterable[Component] | None,
) -> IncidentTemplate:
    unknown = set(fields) - TEMPLATE_FIELDS
    if unknown:
        raise ValidationError(f"Unknown template fields: {', '.join(sorted(unknown))}.")
    if fields.get("update_status") == IncidentStatus.POSTMORTEM:
        raise ValidationError({"update_status": "A template cannot post a postmortem."})
    for name, value in fields.items():
        setattr(template, name, value)
    checked = None if components is None else _check_components(components)
    template.full_clean()
    template.save()
    if checked is not None:
        template.components.set(checked)
    return template


@transaction.atomic
def template_create(
    *, name: str, title: str, components: Iterable[Component] = (), **fields: Any
) -> IncidentTemplate:
    return _save(
        IncidentTemplate(), {"name": name, "title": title, **fields}, components
    )


@transaction.atomic
def template_update(
    *,
    template: IncidentTemplate,
    components: Iterable[Component] | None = None,
    **fields: Any,
) -> IncidentTemplate:
    """Change the given fields; ``components``, when given, replaces the list."""
    return _save(template, fields, components)


@transaction.atomic
def template_delete(*, template: IncidentTemplate) -> None:
    # Templates are not published anywhere: deleting one changes no public page.
    template.delete()
