"""Which public GET paths the snapshot holds, and the file each becomes in an export.

Add a public view here with one line: its URL name in ``PUBLIC`` if it takes no
argument, or in ``PER_COMPONENT`` for one path per live component; a page's brand
files are those ``brand_paths`` lists for it. Component,
incident and history pages are chosen by ``render`` itself, as only some are
rendered on each change.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import get_script_prefix, reverse

from incidents.models import Component, Page
from visitor.models import Brand

# Every public GET path that is the same for every visitor and shows the whole
# page: rendered on every change.
PUBLIC: list[str] = [
    "public:index",
    "public:history",
    "public:feed-atom",
    "public:feed-rss",
    "api_v2:summary",
    "api_v2:status",
    "api_v2:components",
    "api_v2:incidents",
    "api_v2:incidents-unresolved",
    "api_v2:scheduled-maintenances",
    "api_v2:scheduled-maintenances-upcoming",
    "api_v2:scheduled-maintenances-active",
    "public:badge",
    "public:embed-js",
    "public:compact",
    "public:brand-css",
]

# A component's own paths, for the live components matching the filters: rendered
# when the component changed, or when the uptime record of every one did.
PER_COMPONENT: list[tuple[str, dict[str, object]]] = [
    ("public:component-badge", {}),
    # Groups have no page of their own: their children have one each.
    ("public:component", {"is_group": False}),
]


@dataclass(frozen=True)
class ComponentPaths:
    group_id: int | None
    paths: list[str]


def component_paths(page: Page | None = None) -> dict[int, ComponentPaths]:
    """Each live component's own paths, of those the page shows (the default page
    when None), by its primary key."""
    found: dict[int, ComponentPaths] = {}
    shown = Component.objects.live().filter(pages=page or Page.get())
    for url_name, filters in PER_COMPONENT:
        rows = shown.filter(**filters)
        for pk, group_id, public_id in rows.values_list("pk", "group_id", "public_id"):
            entry = found.setdefault(pk, ComponentPaths(group_id, []))
            entry.paths.append(path_of(url_name, public_id))
    return found


def brand_paths(page: Page | None = None) -> list[str]:
    """The page's brand files (the default page's when None): each of a path named
    by its type, so only those it has are listed."""
    brand = (
        Brand.objects.only("logo_type", "favicon_type")
        .filter(page=page or Page.get())
        .first()
    )
    if brand is None:
        return []
    return [
        path_of(f"public:brand-{field}-{extension}")
        for field, extension in (
            ("logo", brand.logo_extension),
            ("favicon", brand.favicon_extension),
        )
        if extension
    ]


# The one query parameter that selects a different artifact, and on which path.
PAGED = ("public:history", "page")


def path_of(url_name: str, *args: str) -> str:
    """The path as the middleware sees it (``path_info``: without a script prefix)."""
    return "/" + reverse(url_name, args=args).removeprefix(get_script_prefix())


def listed_paths() -> list[str]:
    """The page-wide paths, the brand's files, then every component's own."""
    own = [path for entry in component_paths().values() for path in entry.paths]
    return [path_of(name) for name in PUBLIC] + brand_paths() + own


def export_name(key: str) -> str | None:
    """The file an artifact becomes in a static export, or None if it has none.

    A path ending in "/" or without a file extension becomes a folder's
    ``index.html``: plain static servers answer ``/incidents/abc`` with a redirect to
    ``/incidents/abc/`` and then that file, so the page's own links keep working.
    Extra pages of history (``?page=2``) have no file: a static server ignores the
    query.
    """
    if "?" in key:
        return None
    name = key.lstrip("/")
    last = name.rsplit("/", 1)[-1]
    if name == "" or name.endswith("/"):
        return f"{name}index.html"
    if "." in last:
        return name
    return f"{name}/index.html"
