"""The differences between a file and the database, as a list of changes.

Nothing is written here: each change carries the service call that makes it, run
later by ``apply``. Values are compared before any service is called, so a file
that matches the database yields no change and moves no ``updated_at``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from incidents.models import Component, Page

from .schema import ComponentSpec, ConfigSpec
from .source import Path, Problem
from .state import Key, References, Stored, reference
from .writer import Writer

Diff = tuple[str, Any, Any]
SIGNS = {"+": "created", "~": "changed", "-": "deleted"}


@dataclass
class Change:
    sign: str  # + create, ~ change, - delete
    noun: str  # page, group, component, probe, template
    label: str
    path: Path  # where the file says it (empty for objects the file does not name)
    run: Callable[[], None]
    diffs: list[Diff] = field(default_factory=list)

    @property
    def title(self) -> str:
        # The page is the one object without a name of its own.
        return f'{self.noun} "{self.label}"' if self.label else self.noun

    def lines(self) -> list[str]:
        head = f"{self.sign} {self.title}"
        if not self.diffs:
            return [head]
        return [
            f"{head}: {name} {shown(old)} -> {shown(new)}"
            for name, old, new in self.diffs
        ]


def shown(value: Any) -> str:
    text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= 60 else f"{text[:57]}..."


def differences(
    current: dict[str, Any], wanted: dict[str, Any], prefix: str = ""
) -> list[Diff]:
    """The fields that differ, nested ones dotted (``config.steps[0].url``)."""
    diffs: list[Diff] = []
    for name in [*current, *(k for k in wanted if k not in current)]:
        old, new = current.get(name), wanted.get(name)
        label = f"{prefix}{name}"
        if isinstance(old, dict) and isinstance(new, dict):
            diffs += differences(old, new, f"{label}.")
        elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
            for index, (a, b) in enumerate(zip(old, new, strict=True)):
                diffs += differences({f"[{index}]": a}, {f"[{index}]": b}, label)
        elif old != new:
            diffs.append((label, old, new))
    return diffs


@dataclass
class Plan:
    changes: list[Change] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def add(self, change: Change) -> None:
        self.changes.append(change)

    def summary(self) -> str:
        counts = {sign: 0 for sign in SIGNS}
        for change in self.changes:
            counts[change.sign] += 1
        return ", ".join(f"{counts[sign]} {word}" for sign, word in SIGNS.items())


def page_changes(spec: ConfigSpec, plan: Plan, write: Writer) -> None:
    if spec.page is None:
        return  # a file without a page section leaves the page settings alone
    page = Page.objects.default() or Page()
    current = {name: getattr(page, name) for name in spec.page.fields}
    diffs = differences(current, spec.page.fields)
    if diffs:
        run = write.page(spec.page.fields)
        plan.add(Change("~", "page", "", spec.page.path, run, diffs))


def every_key(spec: ConfigSpec, stored: Stored, prune: bool) -> dict[Key, bool]:
    """Every component that exists once the file is applied -> whether a group."""
    keys: dict[Key, bool] = {}
    if not prune:
        for key, components in stored.components.items():
            keys[key] = components[0].is_group
    for top in spec.components:
        keys[(None, top.name)] = top.is_group
        for child in top.children:
            keys[(top.name, child.name)] = False
    return keys


def component_changes(
    spec: ConfigSpec, stored: Stored, plan: Plan, write: Writer, prune: bool
) -> list[Component]:
    """Plan each level's components in file order, then the ones the file does not
    name (kept after them, or deleted with ``prune``). Returns those to delete,
    children before their groups."""
    doomed = _level_changes(None, spec.components, stored, plan, write, prune)
    for top in spec.components:
        if top.is_group:
            doomed[:0] = _level_changes(
                top.name, top.children, stored, plan, write, prune
            )
    for group in [c for c in doomed if c.is_group]:
        doomed[:0] = stored.level(group.name)
    return doomed


def _level_changes(
    group: str | None,
    specs: list[ComponentSpec],
    stored: Stored,
    plan: Plan,
    write: Writer,
    prune: bool,
) -> list[Component]:
    named = {(group, spec.name) for spec in specs}
    others = [c for c in stored.level(group) if (group, c.name) not in named]
    for position, spec in enumerate(specs):
        spec.position = position
        _component_change(spec, stored, plan, write)
    if prune:
        return others
    for position, component in enumerate(others, start=len(specs)):
        if component.position != position:
            diffs: list[Diff] = [("position", component.position, position)]
            noun = "group" if component.is_group else "component"
            label = reference((group, component.name))
            run = write.component_position(component, position)
            plan.add(Change("~", noun, label, (), run, diffs))
    return []


def _component_change(
    spec: ComponentSpec, stored: Stored, plan: Plan, write: Writer
) -> None:
    key = (spec.group, spec.name)
    noun = "group" if spec.is_group else "component"
    found = stored.components.get(key, [])
    if len(found) > 1:
        plan.problems.append(
            Problem((*spec.path, "name"), _ambiguous(len(found), noun))
        )
        return
    wanted = {**spec.fields, "position": spec.position}
    if not found:
        plan.add(
            Change("+", noun, reference(key), spec.path, write.component_create(spec))
        )
        return
    component = found[0]
    if component.is_group != spec.is_group:
        what = "a group" if component.is_group else "a component, not a group"
        message = f"'{spec.name}' is {what} in the database; rename one of them"
        plan.problems.append(Problem((*spec.path, "name"), message))
        return
    current = {name: getattr(component, name) for name in wanted}
    diffs = differences(current, wanted)
    if diffs:
        changed = {name: new for name, new in wanted.items() if current[name] != new}
        run = write.component_update(component, changed)
        plan.add(Change("~", noun, reference(key), spec.path, run, diffs))


def _ambiguous(count: int, noun: str) -> str:
    return (
        f"{count} {noun}s in the database have this name here: rename all but one "
        "(in the console) so the file names one of them"
    )


def references(spec: ConfigSpec, stored: Stored, prune: bool) -> References:
    return References(every_key(spec, stored, prune))
