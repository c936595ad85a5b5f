"""What the database holds, keyed as a file names it, and references between objects.

A component is known by ``(group name or None, name)``; a file refers to it as
``Name`` (top level) or ``Group/Name``, or by its bare name when only one
component has it. Journey steps store their component's public id; here they are
compared as references, so a file and a database agree without knowing ids.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from incidents.models import Component, IncidentTemplate, Page
from probes.models import Probe

Key = tuple[str | None, str]
# The slug ``Page.get()`` gives the default page it makes on an empty install.
FIRST_PAGE_SLUG = "main"


def reference(key: Key) -> str:
    group, name = key
    return name if group is None else f"{group}/{name}"


def key_of(component: Component) -> Key:
    group = component.group.name if component.group is not None else None
    return (group, component.name)


@dataclass
class Stored:
    """The live configuration objects, grouped by the name a file gives them."""

    components: dict[Key, list[Component]] = field(default_factory=dict)
    probes: dict[str, list[Probe]] = field(default_factory=dict)
    templates: dict[str, IncidentTemplate] = field(default_factory=dict)
    by_public_id: dict[str, Component] = field(default_factory=dict)
    pages: dict[str, Page] = field(default_factory=dict)  # by slug
    default_page: Page | None = None

    @classmethod
    def read(cls) -> Stored:
        stored = cls()
        pages = Page.objects.prefetch_related("hosts").order_by("-is_default", "slug")
        stored.pages = {page.slug: page for page in pages}
        stored.default_page = next(
            (page for page in stored.pages.values() if page.is_default), None
        )
        components = (
            Component.objects.live().select_related("group").prefetch_related("pages")
        )
        grouped = defaultdict(list)
        for component in components.order_by("position", "id"):
            grouped[key_of(component)].append(component)
            stored.by_public_id[component.public_id] = component
        stored.components = dict(grouped)
        named = defaultdict(list)
        for probe in Probe.objects.select_related("component__group").order_by("id"):
            named[probe.name].append(probe)
        stored.probes = dict(named)
        templates = IncidentTemplate.objects.select_related("page").prefetch_related(
            "components__group"
        )
        stored.templates = {template.name: template for template in templates}
        return stored

    def level(self, group: str | None) -> list[Component]:
        """The live components of one level, in their order on the page."""
        found = [c for (g, _), cs in self.components.items() if g == group for c in cs]
        return sorted(found, key=lambda c: (c.position, c.pk))


def host_names(page: Page) -> list[str]:
    return sorted(host.name for host in page.hosts.all())


class PageNames:
    """The slug a file gives each page, and the pages that will exist.

    The file's default page is the database's default page whatever its slug there
    (the file may rename it); the others are known by their slug.
    """

    def __init__(self, default: str, slugs: set[str]) -> None:
        self.default = default
        self.slugs = slugs  # every page that exists once the file is applied

    def slug_of(self, page: Page) -> str:
        return self.default if page.is_default else page.slug

    def slugs_of(self, pages: Any) -> list[str]:
        return sorted(self.slug_of(page) for page in pages)


class References:
    """Finds the component a reference names among those that will exist."""

    def __init__(self, groups: dict[Key, bool]) -> None:
        self.is_group = groups  # every key that will exist -> whether it is a group
        self.by_reference = {reference(key): key for key in groups}
        self.by_name: dict[str, list[Key]] = defaultdict(list)
        for key in groups:
            if key[0] is not None:
                self.by_name[key[1]].append(key)

    def resolve(self, wanted: str) -> Key:
        """The key of a non-group component, or ValueError saying why not."""
        key = self.by_reference.get(wanted)
        if key is None:
            key = self._by_bare_name(wanted)
        if self.is_group[key]:
            raise ValueError(f"'{wanted}' is a group; name one of its components")
        return key

    def _by_bare_name(self, wanted: str) -> Key:
        keys = self.by_name.get(wanted, [])
        if len(keys) == 1:
            return keys[0]
        if keys:
            choices = ", ".join(sorted(reference(k) for k in keys))
            raise ValueError(
                f"'{wanted}' names several components: write one of {choices}"
            )
        raise ValueError(f"no component '{wanted}' in the file or the database")


# Journey steps name components; everything else in a config is the kind's business.
def step_components(config: dict[str, Any]) -> list[tuple[int, str]]:
    steps = config.get("steps")
    if not isinstance(steps, list):
        return []
    return [
        (index, step["component"])
        for index, step in enumerate(steps)
        if isinstance(step, dict) and isinstance(step.get("component"), str)
        if step["component"]
    ]


def swap_step_components(
    config: dict[str, Any], swap: Callable[[str], str]
) -> dict[str, Any]:
    """A copy of the config with each step's component passed through ``swap``."""
    swapped = copy.deepcopy(config)
    for index, component in step_components(config):
        swapped["steps"][index]["component"] = swap(component)
    return swapped


def placeholder(number: int) -> str:
    """A stand-in public id, so a kind validates steps whose component is new."""
    return f"r{number:011d}"
