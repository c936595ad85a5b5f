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

from incidents.models import Component, IncidentTemplate
from probes.models import Probe

Key = tuple[str | None, str]


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

    @classmethod
    def read(cls) -> Stored:
        stored = cls()
        components = Component.objects.live().select_related("group")
        grouped = defaultdict(list)
        for component in components.order_by("position", "id"):
            grouped[key_of(component)].append(component)
            stored.by_public_id[component.public_id] = component
        stored.components = dict(grouped)
        named = defaultdict(list)
        for probe in Probe.objects.select_related("component__group").order_by("id"):
            named[probe.name].append(probe)
        stored.probes = dict(named)
        templates = IncidentTemplate.objects.prefetch_related("components__group")
        stored.templates = {template.name: template for template in templates}
        return stored

    def level(self, group: str | None) -> list[Component]:
        """The live components of one level, in their order on the page."""
        found = [c for (g, _), cs in self.components.items() if g == group for c in cs]
        return sorted(found, key=lambda c: (c.position, c.pk))


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
