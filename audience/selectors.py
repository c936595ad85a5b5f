"""The rules of the private pages, read from the database (the publisher and the
views ask; the snapshot's readers have them from the manifest)."""

from __future__ import annotations

from typing import Any, cast

from incidents.models import Page

from .models import PageAccess, parse_networks
from .rules import Rules


def rules_of(access: PageAccess | None, page: Page) -> Rules | None:
    """The check a private page's access needs; None for a public page."""
    if access is None or not access.is_private:
        return None
    networks = tuple(parse_networks(access.ip_allowlist))
    return Rules(page.public_id, access.version, networks)


def access_of(page: Page) -> PageAccess | None:
    """The page's access row: no query when the page was read with it
    (``select_related("access")``, as the page middleware does)."""
    if page.pk is None:
        return None  # a page not saved (made in code) has no rules
    try:
        # The reverse one-to-one of PageAccess: typed only where the stubs see it.
        return cast(PageAccess, cast(Any, page).access)
    except PageAccess.DoesNotExist:
        return None


def rules_for(page: Page) -> tuple[PageAccess | None, Rules | None]:
    access = access_of(page)
    return access, rules_of(access, page)


def private_pages() -> dict[int, Rules]:
    """The rules of every private page, by the page's primary key."""
    found = {}
    for access in PageAccess.objects.select_related("page"):
        rules = rules_of(access, access.page)
        if rules is not None:
            found[access.page_id] = rules
    return found
