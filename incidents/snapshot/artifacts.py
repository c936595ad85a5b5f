"""Which public GET paths the snapshot holds, and the file each becomes in an export.

Add a public view here with one line: its URL name if it takes no argument, or
``per_component("name")`` for one path per visible component. Incident and history
pages are listed by ``render`` itself, as only some are rendered on each change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.urls import get_script_prefix, reverse

from incidents.models import Component

PathSource = Callable[[], Iterable[str]]


def per_component(url_name: str, **filters: object) -> PathSource:
    """One path per live component (of those matching ``filters``), reversed with
    its public id."""

    def paths() -> Iterable[str]:
        live = Component.objects.live().filter(**filters)
        ids = live.values_list("public_id", flat=True)
        return [path_of(url_name, public_id) for public_id in ids]

    return paths


# Every public GET path that is the same for every visitor.
PUBLIC: list[str | PathSource] = [
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
    per_component("public:component-badge"),
    # Groups have no page of their own: their children have one each.
    per_component("public:component", is_group=False),
    "public:embed-js",
    "public:compact",
]

# The one query parameter that selects a different artifact, and on which path.
PAGED = ("public:history", "page")


def path_of(url_name: str, *args: str) -> str:
    """The path as the middleware sees it (``path_info``: without a script prefix)."""
    return "/" + reverse(url_name, args=args).removeprefix(get_script_prefix())


def listed_paths() -> list[str]:
    paths: list[str] = []
    for source in PUBLIC:
        paths.extend([path_of(source)] if isinstance(source, str) else source())
    return paths


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
