"""Components and groups: create, edit, delete, reorder, and set a status."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from incidents import events
from incidents.models import (
    Component,
    ComponentStatus,
    ComponentStatusChange,
    Incident,
    Page,
    StatusSource,
    worst_status,
)

User = AbstractBaseUser | None
ComponentStatuses = Mapping[Component, str]


# What component_update changes; the status, the pin and deletion have their own.
DESCRIPTIVE_FIELDS = frozenset(
    {
        "name",
        "description",
        "group",
        "position",
        "showcase",
        "only_show_if_degraded",
        "start_date",
    }
)


def _check_group(*, group: Component | None, is_group: bool) -> None:
    if group is None:
        return
    if is_group:
        raise ValidationError(
            {"group": "A group cannot belong to another group: only two levels exist."}
        )
    if not group.is_group:
        raise ValidationError({"group": f"'{group.name}' is a component, not a group."})
    if group.is_deleted:
        raise ValidationError({"group": f"The group '{group.name}' was deleted."})


def pages_place(row: Component | Incident, pages: Iterable[Page]) -> None:
    """Put a row made just now on its first pages, as part of its making: its audit
    entry is the one of its creation (a later move is a change of its own)."""
    through: Any = type(row).pages.through
    owner = type(row).__name__.lower()
    rows = [through(**{owner: row, "page": page}) for page in pages]
    through.objects.bulk_create(rows, ignore_conflicts=True)


def _next_position(group: Component | None) -> int:
    level = Component.objects.live().filter(group=group)
    highest = level.aggregate(highest=Max("position"))["highest"]
    return 0 if highest is None else highest + 1


@transaction.atomic
def component_create(
    *,
    name: str,
    description: str = "",
    is_group: bool = False,
    group: Component | None = None,
    position: int | None = None,
    showcase: bool = True,
    only_show_if_degraded: bool = False,
    start_date: dt.date | None = None,
    status: str = ComponentStatus.OPERATIONAL,
    pages: Iterable[Page] | None = None,
) -> Component:
    """A new component, on ``pages`` (None: on its group's pages, or on the default
    page; an empty list: on none, for staff only)."""
    _check_group(group=group, is_group=is_group)
    component = Component(
        name=name,
        description=description,
        is_group=is_group,
        group=group,
        position=_next_position(group) if position is None else position,
        showcase=showcase,
        only_show_if_degraded=only_show_if_degraded,
        start_date=start_date,
        status=ComponentStatus.OPERATIONAL if is_group else status,
    )
    component.full_clean()
    component.save()
    if pages is None:
        pages = list(group.pages.all()) if group is not None else [Page.get()]
    pages_place(component, pages)
    if group is not None:
        group.pages.add(*pages)  # a page showing a component shows its group
        _group_refresh(group)
    events.announce_quietly()
    return component


@transaction.atomic
def component_pages_set(*, component: Component, pages: Iterable[Page]) -> Component:
    """Show the component on exactly ``pages`` (none: staff alone see it); a page
    that shows a component shows its group too."""
    _refuse_deleted(component)
    pages = list(pages)
    component.pages.set(pages)
    if component.group is not None:
        component.group.pages.add(*pages)
    events.announce_quietly(events.Kind.PAGE_UPDATED)
    return component


@transaction.atomic
def component_update(*, component: Component, **fields: Any) -> Component:
    """Change a component's descriptive fields; its status has its own service."""
    unknown = set(fields) - DESCRIPTIVE_FIELDS
    if unknown:
        raise ValidationError(
            f"These fields cannot be changed here: {', '.join(sorted(unknown))}."
        )
    _refuse_deleted(component)
    old_group = Component.objects.get(pk=component.pk).group
    if "group" in fields:
        _check_group(group=fields["group"], is_group=component.is_group)
        if fields["group"] != old_group and "position" not in fields:
            fields["position"] = _next_position(fields["group"])
    for name, value in fields.items():
        setattr(component, name, value)
    component.full_clean()
    # Only the edited fields: the caller's copy may hold a status that has since moved.
    component.save(update_fields=[*fields, "updated_at"])
    for group in {g for g in (old_group, component.group) if g is not None}:
        _group_refresh(group)
    events.announce_quietly()
    return component


@transaction.atomic
def component_delete(*, component: Component) -> None:
    """Soft-delete, so past incidents and status history keep the component's name."""
    _refuse_deleted(component)
    if component.is_group and component.children.live().exists():
        raise ValidationError(
            f"The group '{component.name}' still has components: move or delete them "
            "first."
        )
    component.deleted_at = timezone.now()
    component.save(update_fields=["deleted_at", "updated_at"])
    if component.group is not None:
        _group_refresh(component.group)
    events.announce_quietly()


@transaction.atomic
def components_reorder(*, ordered: Iterable[Component]) -> None:
    """Give the components of one level the positions 0, 1, 2... in the given order."""
    ordered = list(ordered)
    if len({component.group_id for component in ordered}) > 1:
        raise ValidationError(
            "Only components of the same level can be reordered together."
        )
    for position, component in enumerate(ordered):
        if component.position != position:
            component.position = position
            component.save(update_fields=["position", "updated_at"])
    events.announce_quietly()


def _refuse_deleted(component: Component) -> None:
    if component.is_deleted:
        raise ValidationError(
            {"component": f"The component '{component.name}' was deleted."}
        )


def _check_status_and_source(status: str, source: str) -> None:
    if status not in ComponentStatus.values:
        raise ValidationError(
            {
                "status": f"'{status}' is not a component status; use one of "
                f"{', '.join(ComponentStatus.values)}."
            }
        )
    if source not in StatusSource.values:
        raise ValidationError({"source": f"'{source}' is not a status source."})


@transaction.atomic
def component_set_status(
    *,
    component: Component,
    status: str,
    source: str,
    actor: User = None,
    incident: Incident | None = None,
    at: dt.datetime | None = None,
) -> ComponentStatusChange | None:
    """Set a component's status and record who or what changed it.

    Returns the recorded change, or None when the status was already that (or the
    component is pinned and the change comes from a probe).
    """
    _check_status_and_source(status, source)
    component = Component.objects.select_for_update().get(pk=component.pk)
    _refuse_deleted(component)
    if component.is_group:
        raise ValidationError(
            {
                "component": f"'{component.name}' is a group: its status follows its "
                "components."
            }
        )
    if component.status == status:
        return None
    if component.pinned and source == StatusSource.PROBE:
        return None  # staff pinned it: probes record, but do not change it
    change = ComponentStatusChange.objects.create(
        component=component,
        old_status=component.status,
        new_status=status,
        source=source,
        actor=_signed_in(actor),
        incident=incident,
        created_at=at or timezone.now(),
    )
    component.status = status
    component.save(update_fields=["status", "updated_at"])
    if component.group is not None:
        _group_refresh(component.group)
    events.announce(
        events.Change(
            kind=events.Kind.COMPONENT_UPDATED, incident=incident, status_change=change
        )
    )
    return change


@transaction.atomic
def component_pin(*, component: Component, pinned: bool) -> Component:
    """Pin a component's status against the probes, or hand it back to them."""
    component = Component.objects.select_for_update().get(pk=component.pk)
    _refuse_deleted(component)
    if component.is_group:
        raise ValidationError(
            {"pinned": f"'{component.name}' is a group: pin its components instead."}
        )
    component.pinned = pinned
    component.save(update_fields=["pinned", "updated_at"])
    return component


def _signed_in(actor: User) -> Any:
    """The user to record, or None for an anonymous or absent one."""
    return actor if getattr(actor, "pk", None) else None


def _group_refresh(group: Component) -> None:
    """Store the worst status of the group's live children.

    The caller's ``group`` may be a stale copy, so compare and write against the row,
    locked first so two children changing at once cannot each miss the other.
    """
    stored = Component.objects.select_for_update().get(pk=group.pk)
    children = stored.children.live().values_list("status", flat=True)
    status = worst_status(list(children))
    if stored.status != status:
        stored.status = status
        stored.save(update_fields=["status", "updated_at"])
    group.status = status
