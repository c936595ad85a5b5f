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
from notifications.models import Subscriber

from .schema import ComponentSpec, ConfigSpec, PageSpec
from .source import Path, Problem
from .state import (
    FIRST_PAGE_SLUG,
    Key,
    PageNames,
    References,
    Stored,
    host_names,
    reference,
)
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


def page_names(spec: ConfigSpec, stored: Stored, prune: bool) -> PageNames:
    """The file's slug of the default page, and every page there will be (the
    ones the file does not name are kept unless pruned)."""
    default = spec.default_page()
    if spec.pages is not None and default is not None and default.slug:
        slug = default.slug
    elif stored.default_page is not None:
        slug = stored.default_page.slug
    else:
        slug = FIRST_PAGE_SLUG
    names = PageNames(slug, {slug})
    names.slugs |= {page.slug for page in spec.pages or [] if page.slug}
    if not (prune and spec.pages is not None):
        names.slugs |= {names.slug_of(page) for page in stored.pages.values()}
    return names


def page_changes(spec: ConfigSpec, stored: Stored, plan: Plan, write: Writer) -> None:
    """The ``page`` section's settings of the default page, or each of ``pages``
    (the default one first, as the others may take a slug it gives up)."""
    if spec.pages is not None:
        for page_spec in sorted(spec.pages, key=lambda page: not page.is_default):
            _page_change(page_spec, stored, plan, write)
        return
    if spec.page is None:
        return  # a file without a page section leaves the page settings alone
    page = stored.default_page or Page()
    current = {name: getattr(page, name) for name in spec.page.fields}
    diffs = differences(current, spec.page.fields)
    if diffs:
        run = write.page(spec.page.fields)
        plan.add(Change("~", "page", "", spec.page.path, run, diffs))


def _page_change(spec: PageSpec, stored: Stored, plan: Plan, write: Writer) -> None:
    slug = spec.slug or ""
    found = stored.pages.get(slug)
    if spec.is_default and found is not None and not found.is_default:
        message = (
            f"'{slug}' is another page than the default in the database; the file "
            "does not change which page is the default: mark that one 'default: true'"
        )
        plan.problems.append(Problem((*spec.path, "slug"), message))
        return
    page = stored.default_page if spec.is_default else found
    if page is not None and page.is_default and not spec.is_default:
        page = None  # the file gives the default page another slug: a new page
    if page is None and not spec.is_default:
        plan.add(Change("+", "page", slug, spec.path, write.page_create(spec)))
        return
    wanted = {**spec.fields, "slug": slug, "hosts": _hosts(spec.hosts or [])}
    shown = page or Page(slug=FIRST_PAGE_SLUG)
    current = {name: getattr(shown, name) for name in spec.fields}
    current.update(slug=shown.slug, hosts=host_names(page) if page else [])
    diffs = differences(current, wanted)
    if diffs:
        changed = {name: new for name, new in wanted.items() if current[name] != new}
        run = write.page_update(page, slug, changed)
        plan.add(Change("~", "page", slug, spec.path, run, diffs))


def _hosts(hosts: list[str]) -> list[str]:
    """Host names as the page service keeps them."""
    return sorted({host.strip().lower().rstrip(".") for host in hosts if host.strip()})


def page_prune(spec: ConfigSpec, stored: Stored, plan: Plan, write: Writer) -> None:
    """With ``--prune`` and a ``pages`` section: delete the pages it does not name,
    never one that has subscribers (they would go with it)."""
    if spec.pages is None:
        return
    named = {page.slug for page in spec.pages}
    for slug, page in stored.pages.items():
        if page.is_default or slug in named:
            continue
        count = Subscriber.objects.filter(page=page).count()
        if count:
            message = (
                f"the page '{slug}' ({page.name}) is not in the file, but --prune "
                f"keeps it: it has {count} subscriber(s), who would be deleted with "
                "it; name it in the file, or remove them in the console first"
            )
            plan.problems.append(Problem(("pages",), message))
            continue
        plan.add(Change("-", "page", slug, (), write.page_delete(page)))


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
    spec: ConfigSpec,
    stored: Stored,
    names: PageNames,
    plan: Plan,
    write: Writer,
    prune: bool,
) -> list[Component]:
    """Plan each level's components in file order, then the ones the file does not
    name (kept after them, or deleted with ``prune``). Returns those to delete,
    children before their groups."""
    doomed = _level_changes(None, spec.components, stored, names, plan, write, prune)
    for top in spec.components:
        if top.is_group:
            doomed[:0] = _level_changes(
                top.name, top.children, stored, names, plan, write, prune
            )
    for group in [c for c in doomed if c.is_group]:
        doomed[:0] = stored.level(group.name)
    return doomed


def _level_changes(
    group: str | None,
    specs: list[ComponentSpec],
    stored: Stored,
    names: PageNames,
    plan: Plan,
    write: Writer,
    prune: bool,
) -> list[Component]:
    named = {(group, spec.name) for spec in specs}
    others = [c for c in stored.level(group) if (group, c.name) not in named]
    for position, spec in enumerate(specs):
        spec.position = position
        pages = _wanted_pages(spec, stored, names, plan, prune)
        _component_change(spec, pages, stored, names, plan, write)
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


def _wanted_pages(
    spec: ComponentSpec, stored: Stored, names: PageNames, plan: Plan, prune: bool
) -> list[str]:
    """The slugs of the pages that will show the component: those it lists (none
    listed: the default page); for a group, also every page of its components, as a
    page that shows a component shows its group."""
    for index, slug in enumerate(spec.pages or []):
        if slug not in names.slugs:
            message = f"no page '{slug}' in the file or the database"
            plan.problems.append(Problem((*spec.path, "pages", index), message))
    slugs = set(_listed_pages(spec, names))
    for child in spec.children:
        slugs.update(_listed_pages(child, names))
    if spec.is_group and not prune:
        listed = {child.name for child in spec.children}
        for other in stored.level(spec.name):
            if other.name not in listed:
                slugs.update(names.slugs_of(other.pages.all()))
    return sorted(slugs & names.slugs)


def _listed_pages(spec: ComponentSpec, names: PageNames) -> list[str]:
    return [names.default] if spec.pages is None else spec.pages


def _component_change(
    spec: ComponentSpec,
    pages: list[str],
    stored: Stored,
    names: PageNames,
    plan: Plan,
    write: Writer,
) -> None:
    key = (spec.group, spec.name)
    noun = "group" if spec.is_group else "component"
    found = stored.components.get(key, [])
    if len(found) > 1:
        plan.problems.append(
            Problem((*spec.path, "name"), _ambiguous(len(found), noun))
        )
        return
    if not found:
        run = write.component_create(spec, pages)
        plan.add(Change("+", noun, reference(key), spec.path, run))
        return
    component = found[0]
    if component.is_group != spec.is_group:
        what = "a group" if component.is_group else "a component, not a group"
        message = f"'{spec.name}' is {what} in the database; rename one of them"
        plan.problems.append(Problem((*spec.path, "name"), message))
        return
    wanted = {**spec.fields, "position": spec.position}
    current = {name: getattr(component, name) for name in wanted}
    current["pages"] = names.slugs_of(component.pages.all())
    diffs = differences(current, {**wanted, "pages": pages})
    if diffs:
        changed = {name: new for name, new in wanted.items() if current[name] != new}
        moved = pages if current["pages"] != pages else None
        run = write.component_update(component, changed, moved)
        plan.add(Change("~", noun, reference(key), spec.path, run, diffs))


def _ambiguous(count: int, noun: str) -> str:
    return (
        f"{count} {noun}s in the database have this name here: rename all but one "
        "(in the console) so the file names one of them"
    )


def references(spec: ConfigSpec, stored: Stored, prune: bool) -> References:
    return References(every_key(spec, stored, prune))
