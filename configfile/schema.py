"""The shape of a configuration file (version 1), checked field by field.

Every field left out takes the model's default: the file describes each object it
names completely, so what the file says is what the page gets. Problems are
collected, not raised one by one, so a file is fixed in one pass.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from incidents.models import IncidentStatus
from probes.models import DownStatus, ProbeKindName, default_regions

from .source import Path, Problem

VERSION = 1

REQUIRED = object()
# A field's check returns the value to use, or raises ValueError with the reason.
Check = Callable[[Any], Any]


def text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("must be text")
    return value


def optional_text(value: Any) -> str:
    return "" if value is None else text(value)


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def whole(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("must be a whole number")
    return value


def optional_whole(value: Any) -> int | None:
    return None if value is None else whole(value)


def number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a number")
    return value


def date(value: Any) -> dt.date | None:
    if value is None or (
        isinstance(value, dt.date) and not isinstance(value, dt.datetime)
    ):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError("must be a date written YYYY-MM-DD")


def one_of(choices: list[str]) -> Check:
    def check(value: Any) -> str:
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return str(value)

    return check


def texts(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError("must be a list of text")
    return list(value)


def mapping(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError("must be a mapping of fields")
    return value


# field -> (check, default). The defaults are the models' own.
PAGE_FIELDS: dict[str, tuple[Check, Any]] = {
    "name": (text, "Status"),
    "url": (optional_text, ""),
    "time_zone": (text, "UTC"),
    "description": (optional_text, ""),
}
COMPONENT_FIELDS: dict[str, tuple[Check, Any]] = {
    "description": (optional_text, ""),
    "showcase": (boolean, True),
    "only_show_if_degraded": (boolean, False),
    "start_date": (date, None),
}
PROBE_FIELDS: dict[str, tuple[Check, Any]] = {
    "down_status": (one_of(DownStatus.values), DownStatus.MAJOR_OUTAGE.value),
    "interval_seconds": (whole, 60),
    "timeout_seconds": (number, 10.0),
    "failures_to_down": (whole, 3),
    "successes_to_up": (whole, 2),
    "regions": (texts, None),  # None: the install's regions, read when checked
    "quorum": (optional_whole, None),
    "enabled": (boolean, True),
}
TEMPLATE_FIELDS: dict[str, tuple[Check, Any]] = {
    "title": (text, REQUIRED),
    "body": (optional_text, ""),
    "update_status": (
        one_of([s for s in IncidentStatus.values if s != IncidentStatus.POSTMORTEM]),
        IncidentStatus.INVESTIGATING.value,
    ),
    "should_send_notifications": (boolean, True),
}


@dataclass
class PageSpec:
    """A page: the ``page`` section (the default page, slug and hosts untouched) or
    one entry of ``pages`` (known by its slug)."""

    fields: dict[str, Any]
    path: Path
    slug: str | None = None  # None: the ``page`` section
    hosts: list[str] | None = None  # None: left as they are
    is_default: bool = True


@dataclass
class ComponentSpec:
    name: str
    fields: dict[str, Any]
    path: Path
    group: str | None = None
    is_group: bool = False
    position: int = 0
    children: list[ComponentSpec] = field(default_factory=list)
    pages: list[str] | None = None  # page slugs; None: the default page


@dataclass
class ProbeSpec:
    name: str
    kind: str
    component: str  # a reference, resolved against the file and the database
    fields: dict[str, Any]
    config: dict[str, Any]
    path: Path


@dataclass
class TemplateSpec:
    name: str
    fields: dict[str, Any]
    components: list[str]
    path: Path
    page: str | None = None  # a page's slug; None: every page's


@dataclass
class ConfigSpec:
    page: PageSpec | None = None
    pages: list[PageSpec] | None = None  # None: no ``pages`` section

    def default_page(self) -> PageSpec | None:
        """The file's default page: the one marked ``default: true``, else the
        first of ``pages`` (or the ``page`` section)."""
        if self.pages is None:
            return self.page
        return next((p for p in self.pages if p.is_default), None)

    components: list[ComponentSpec] = field(default_factory=list)
    probes: list[ProbeSpec] = field(default_factory=list)
    templates: list[TemplateSpec] = field(default_factory=list)


class Reader:
    """Checks one mapping of the file against a table of fields."""

    def __init__(self, value: Any, path: Path, problems: list[Problem]) -> None:
        self.path = path
        self.problems = problems
        self.ok = isinstance(value, dict)
        self.value: dict[str, Any] = value if self.ok else {}
        if not self.ok:
            self.problem((), "must be a mapping of fields")

    def problem(self, key: Path, message: str) -> None:
        self.problems.append(Problem((*self.path, *key), message))

    def only(self, allowed: set[str]) -> None:
        for key in self.value:
            if key not in allowed:
                known = ", ".join(sorted(allowed))
                self.problem((key,), f"is not a known field; use one of: {known}")

    def get(self, key: str, check: Check, default: Any = None) -> Any:
        if key not in self.value:
            if default is REQUIRED:
                self.problem((key,), "is required")
                return None
            return default
        try:
            return check(self.value[key])
        except ValueError as exc:
            self.problem((key,), str(exc))
            return default

    def table(self, fields: dict[str, tuple[Check, Any]]) -> dict[str, Any]:
        return {key: self.get(key, *spec) for key, spec in fields.items()}

    def items(self, key: str) -> list[tuple[Any, Path]]:
        value = self.value.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.problem((key,), "must be a list")
            return []
        return [(item, (*self.path, key, index)) for index, item in enumerate(value)]


def read(value: Any, problems: list[Problem]) -> ConfigSpec:
    top = Reader(value, (), problems)
    top.only({"version", "page", "pages", "components", "probes", "templates"})
    if top.ok and top.value.get("version") != VERSION:
        top.problem(("version",), f"must be {VERSION} (write 'version: {VERSION}')")
    spec = ConfigSpec()
    if "page" in top.value:
        page = Reader(top.value["page"] or {}, ("page",), problems)
        page.only(set(PAGE_FIELDS))
        spec.page = PageSpec(page.table(PAGE_FIELDS), ("page",))
    if "pages" in top.value:
        if spec.page is not None:
            top.problem(("page",), "use either 'page' or 'pages', not both")
        spec.pages = _pages(top, problems)
    spec.components = _components(top, problems, group=None)
    spec.probes = [_probe(item, path, problems) for item, path in top.items("probes")]
    spec.templates = [
        _template(item, path, problems) for item, path in top.items("templates")
    ]
    return spec


def _pages(top: Reader, problems: list[Problem]) -> list[PageSpec]:
    specs = []
    for item, path in top.items("pages"):
        reader = Reader(item, path, problems)
        reader.only({"slug", "hosts", "default", *PAGE_FIELDS})
        specs.append(
            PageSpec(
                reader.table(PAGE_FIELDS),
                path,
                slug=reader.get("slug", text, REQUIRED) or "",
                hosts=reader.get("hosts", texts, []),
                is_default=reader.get("default", boolean, False),
            )
        )
    marked = [spec for spec in specs if spec.is_default]
    for spec in marked[1:]:
        problems.append(Problem((*spec.path, "default"), "only one page is default"))
    if specs and not marked:
        specs[0].is_default = True
    return specs


def _components(
    parent: Reader, problems: list[Problem], group: str | None
) -> list[ComponentSpec]:
    specs = []
    for position, (item, path) in enumerate(parent.items("components")):
        reader = Reader(item, path, problems)
        is_group = group is None and "components" in reader.value
        reader.only(
            {"name", "pages", *COMPONENT_FIELDS, *(["components"] if is_group else [])}
        )
        name = reader.get("name", text, REQUIRED)
        if name is not None and not name.strip():
            reader.problem(("name",), "must not be empty")
        spec = ComponentSpec(
            name or "",
            reader.table(COMPONENT_FIELDS),
            path,
            group=group,
            is_group=is_group,
            position=position,
            pages=reader.get("pages", texts, None),
        )
        if is_group:
            spec.children = _components(reader, problems, group=spec.name)
        specs.append(spec)
    return specs


def _probe(item: Any, path: Path, problems: list[Problem]) -> ProbeSpec:
    reader = Reader(item, path, problems)
    reader.only({"name", "kind", "component", "config", *PROBE_FIELDS})
    fields = reader.table(PROBE_FIELDS)
    if fields["regions"] is None:
        fields["regions"] = default_regions()
    return ProbeSpec(
        name=reader.get("name", text, REQUIRED) or "",
        kind=reader.get("kind", one_of(ProbeKindName.values), REQUIRED) or "",
        component=reader.get("component", text, REQUIRED) or "",
        fields=fields,
        config=reader.get("config", mapping, {}),
        path=path,
    )


def _template(item: Any, path: Path, problems: list[Problem]) -> TemplateSpec:
    reader = Reader(item, path, problems)
    reader.only({"name", "components", "page", *TEMPLATE_FIELDS})
    return TemplateSpec(
        name=reader.get("name", text, REQUIRED) or "",
        fields=reader.table(TEMPLATE_FIELDS),
        components=reader.get("components", texts, []),
        path=path,
        page=reader.get("page", text, None),
    )


def duplicates(spec: ConfigSpec, line_of: Callable[[Path], int]) -> list[Problem]:
    """Names are how the file finds its objects, so each must name one thing:
    components within their level (groups count at the top), probes, templates."""
    levels = [spec.components] + [c.children for c in spec.components if c.is_group]
    named: list[list[Any]] = [*levels, spec.probes, spec.templates]
    problems = []
    for objects in named:
        seen: dict[str, Path] = {}
        for item in objects:
            if not item.name:
                continue
            if item.name in seen:
                first = line_of(seen[item.name])
                message = f"'{item.name}' is already used at line {first}"
                problems.append(Problem((*item.path, "name"), message))
            seen.setdefault(item.name, item.path)
    slugs: dict[str, Path] = {}
    for page in spec.pages or []:
        if page.slug and page.slug in slugs:
            first = line_of(slugs[page.slug])
            message = f"'{page.slug}' is already used at line {first}"
            problems.append(Problem((*page.path, "slug"), message))
        if page.slug:
            slugs.setdefault(page.slug, page.path)
    return problems
