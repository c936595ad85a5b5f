"""The current configuration as a file that ``apply`` reads back unchanged.

Fields at their default are left out, so a file shows what was chosen; probe
configs too are cut to the fields that change what the kind makes of them. The
order is the default page first, then by slug (pages), the page's (components) or
by name (probes, templates), so two exports of the same configuration are the
same text.
"""

from __future__ import annotations

import copy
from typing import Any

import yaml
from django.core.exceptions import ValidationError

from incidents.models import Component, IncidentTemplate, Page
from probes.kinds import kind_class
from probes.models import Probe, default_regions

from .objects import ONE_RESULT_KINDS, stored_config
from .schema import (
    COMPONENT_FIELDS,
    PAGE_FIELDS,
    PROBE_FIELDS,
    TEMPLATE_FIELDS,
    VERSION,
)
from .source import ConfigError
from .state import FIRST_PAGE_SLUG, PageNames, Stored, host_names, key_of, reference


def export() -> str:
    stored = Stored.read()
    _refuse_ambiguous(stored)
    default = stored.default_page.slug if stored.default_page else FIRST_PAGE_SLUG
    names = PageNames(default, set(stored.pages))
    document = {
        "version": VERSION,
        # The default page first: a file's first page is its default.
        "pages": [_page(page) for page in stored.pages.values()],
        "components": [_component(c, stored, names) for c in stored.level(None)],
        "probes": [
            _probe(p, stored) for ps in sorted(stored.probes.items()) for p in ps[1]
        ],
        "templates": [_template(t) for _, t in sorted(stored.templates.items())],
    }
    return yaml.dump(
        document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=88
    )


def _refuse_ambiguous(stored: Stored) -> None:
    """A name two objects share would, read back, name only one of them."""
    problems = [
        f"{len(found)} components are named '{reference(key)}'"
        for key, found in stored.components.items()
        if len(found) > 1
    ]
    problems += [
        f"{len(found)} probes are named '{name}'"
        for name, found in stored.probes.items()
        if len(found) > 1
    ]
    problems += [
        f"the probe '{p.name}' feeds the deleted component '{p.component.name}'"
        for found in stored.probes.values()
        for p in found
        if p.component.is_deleted
    ]
    if problems:
        hint = "rename or move them in the console, then export again"
        raise ConfigError([f"cannot export: {problem}; {hint}" for problem in problems])


def _chosen(thing: Any, fields: dict[str, tuple[Any, Any]]) -> dict[str, Any]:
    """The fields whose value is not the default."""
    values = {name: getattr(thing, name) for name in fields}
    return {name: value for name, value in values.items() if value != fields[name][1]}


def _page(page: Page) -> dict[str, Any]:
    exported: dict[str, Any] = {"name": page.name, "slug": page.slug}
    hosts = host_names(page)
    if hosts:
        exported["hosts"] = hosts
    chosen = _chosen(page, PAGE_FIELDS)
    chosen.pop("name", None)
    return {**exported, **chosen}


def _component(
    component: Component, stored: Stored, names: PageNames
) -> dict[str, Any]:
    exported = {"name": component.name, **_chosen(component, COMPONENT_FIELDS)}
    pages = sorted(component.pages.all(), key=lambda p: (not p.is_default, p.slug))
    if [page.slug for page in pages] != [names.default]:  # not the default alone
        exported["pages"] = [page.slug for page in pages]
    if component.is_group:
        exported["components"] = [
            _component(child, stored, names) for child in stored.level(component.name)
        ]
    return exported


def _probe(probe: Probe, stored: Stored) -> dict[str, Any]:
    exported = {
        "name": probe.name,
        "kind": probe.kind,
        "component": reference(key_of(probe.component)),
        **_chosen(probe, PROBE_FIELDS),
    }
    if probe.regions == default_regions():
        del exported["regions"]
    if probe.kind in ONE_RESULT_KINDS:  # set by the service, whatever the file says
        exported.pop("failures_to_down", None)
        exported.pop("successes_to_up", None)
    exported["config"] = stored_config(
        shortest_config(probe.kind, probe.config), stored
    )
    return exported


def _template(template: IncidentTemplate) -> dict[str, Any]:
    live = [c for c in template.components.all() if not c.is_deleted]
    exported = {"name": template.name, **_chosen(template, TEMPLATE_FIELDS)}
    if template.page is not None:
        exported["page"] = template.page.slug
    return {**exported, "components": sorted(reference(key_of(c)) for c in live)}


def shortest_config(kind: str, config: dict[str, Any]) -> dict[str, Any]:
    """The config without every field the kind would fill in the same again.

    Greedy: try dropping each field, innermost objects included (journey steps),
    and keep it dropped when the kind still normalises the rest to the same config.
    """
    validate = kind_class(kind).validate
    try:
        # The database keeps JSON keys in its own order; the kind's is the readable one.
        config = validate(copy.deepcopy(config))
    except ValidationError:
        pass  # saved before a rule was added: export it as it is
    shortest = copy.deepcopy(config)
    for path in _field_paths(config):
        trial = copy.deepcopy(shortest)
        _drop(trial, path)
        try:
            same = validate(copy.deepcopy(trial)) == config
        except ValidationError:  # a required field: keep it
            same = False
        if same:
            shortest = trial
    return shortest


def _field_paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key of every mapping inside ``value``, deepest first."""
    paths: list[tuple[Any, ...]] = []
    items = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else []
    )
    for name, inner in items:
        paths += _field_paths(inner, (*path, name))
        if isinstance(value, dict):
            paths.append((*path, name))
    return paths


def _drop(value: Any, path: tuple[Any, ...]) -> None:
    for part in path[:-1]:
        value = value[part]
    value.pop(path[-1], None)


class _Dumper(yaml.SafeDumper):
    """Long texts (template bodies) as literal blocks, as a person would write them."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)
