"""Pages: their settings, the host names they answer on, and which one is default."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from incidents import events
from incidents.models import Page, PageHost, validate_host_name

PAGE_FIELDS = {"name", "url", "time_zone", "description", "slug"}


def _check_hosts(page: Page, hosts: Iterable[str]) -> list[str]:
    """Lower-case host names, each a valid one that no other page claims."""
    names = sorted({host.strip().lower().rstrip(".") for host in hosts if host.strip()})
    for name in names:
        try:
            validate_host_name(name)
        except ValidationError as error:
            raise ValidationError({"hosts": error.messages}) from None
    taken = PageHost.objects.filter(name__in=names).exclude(page=page)
    claimed = [f"{h.name} ({h.page.name})" for h in taken.select_related("page")]
    if claimed:
        raise ValidationError(
            {"hosts": f"Another page answers on {', '.join(claimed)}."}
        )
    return names


def _set_hosts(page: Page, hosts: Iterable[str]) -> None:
    names = _check_hosts(page, hosts)
    page.hosts.exclude(name__in=names).delete()
    existing = set(page.hosts.values_list("name", flat=True))
    PageHost.objects.bulk_create(
        [PageHost(page=page, name=name) for name in names if name not in existing]
    )


def _apply(page: Page, fields: dict[str, Any]) -> None:
    unknown = set(fields) - PAGE_FIELDS
    if unknown:
        raise ValidationError(f"Unknown page settings: {', '.join(sorted(unknown))}.")
    for name, value in fields.items():
        setattr(page, name, value)
    page.full_clean()
    page.save()


@transaction.atomic
def page_create(
    *, name: str, slug: str, hosts: Iterable[str] = (), **fields: Any
) -> Page:
    """A new page, with no component yet (add them to it), never the default one."""
    page = Page(name=name, slug=slug, is_default=False)
    _apply(page, fields)
    _set_hosts(page, hosts)
    events.announce_quietly(events.Kind.PAGE_UPDATED)
    return page


@transaction.atomic
def page_update(
    *, page: Page | None = None, hosts: Iterable[str] | None = None, **fields: Any
) -> Page:
    """Change a page's settings (the default page's when None), and its host names
    when ``hosts`` is given."""
    page = page or Page.get()
    _apply(page, fields)
    if hosts is not None:
        _set_hosts(page, hosts)
    # Every public page shows these settings; subscribers are not told.
    events.announce_quietly(events.Kind.PAGE_UPDATED)
    return page


@transaction.atomic
def page_components_add(*, page: Page, components: Iterable[Any]) -> None:
    """Show these components on ``page`` too (and their groups, which frame them)."""
    components = list(components)
    groups = [c.group for c in components if c.group_id is not None]
    page.components.add(*components, *groups)
    events.announce_quietly()


@transaction.atomic
def page_delete(*, page: Page) -> None:
    """Delete a page other than the default, with its host names. Its components and
    incidents stay, on their other pages; its subscribers and templates go with it,
    so a caller that keeps them checks first."""
    if page.is_default:
        raise ValidationError("The default page cannot be deleted.")
    page.delete()
    events.announce_quietly(events.Kind.PAGE_UPDATED)
