"""Applying a file: read, check, plan, then make every change through the services.

1. Parse and check the whole file, and compare it with the database; any problem
   stops here, before a single write.
2. Run the planned service calls in one transaction. A refusal is noted against
   the line of the object concerned and the rest still run, so one pass reports
   every problem; then anything refused rolls the whole transaction back.
3. A dry run does the same and always rolls back: it reports exactly the problems
   a real run would meet, and leaves nothing behind (snapshot publishing and
   probe decisions wait for a commit that never comes).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse

from access.permissions import missing, refusal
from audit.context import acting_as_user
from incidents import services
from incidents.models import Component, IncidentTemplate
from probes import services as probe_services
from probes.models import Probe

from . import objects, plan, schema
from .schema import ComponentSpec, ProbeSpec, TemplateSpec
from .source import ConfigError, Path, Problem, Source, load
from .state import Key, Stored, swap_step_components

Run = Callable[[], None]


class Skipped(Exception):
    """A change depends on one the services refused; that refusal is the report."""


@dataclass
class Outcome:
    plan: plan.Plan
    notes: list[str] = field(default_factory=list)  # e.g. new heartbeat tokens


def read_file(text: str, filename: str) -> tuple[schema.ConfigSpec, Source]:
    value, source = load(text, filename)
    problems: list[Problem] = []
    spec = schema.read(value, problems)
    problems += schema.duplicates(spec, source.line)
    if problems:
        raise source.error(problems)
    return spec, source


def make_plan(spec: schema.ConfigSpec, *, prune: bool, write: Writer) -> plan.Plan:
    stored = Stored.read()
    write.registry = {key: found[0] for key, found in stored.components.items()}
    the_plan = plan.Plan()
    plan.page_changes(spec, the_plan, write)
    doomed = plan.component_changes(spec, stored, the_plan, write, prune)
    refs = plan.references(spec, stored, prune)
    write.keys = refs.by_reference
    objects.probe_changes(spec, stored, refs, the_plan, write)
    objects.template_changes(spec, stored, refs, the_plan, write)
    if prune:
        objects.prune_changes(spec, stored, doomed, the_plan, write)
    return the_plan


# The permission each kind of change needs of the person applying the file.
VERBS = {"+": "add", "~": "change", "-": "delete"}
MODELS = {
    "page": "incidents.page",
    "group": "incidents.component",
    "component": "incidents.component",
    "probe": "probes.probe",
    "template": "incidents.incidenttemplate",
}


def permission_for(change: plan.Change) -> str:
    app, _, model = MODELS[change.noun].partition(".")
    return f"{app}.{VERBS[change.sign]}_{model}"


def apply_file(
    text: str,
    filename: str,
    *,
    prune: bool = False,
    dry_run: bool = False,
    user: Any = None,
) -> Outcome:
    """Plan the file and, unless a dry run, apply it; ConfigError on any problem.

    With ``user``, the changes are made as that person, and refused (all of them)
    if any needs a permission their role does not grant; without, as the operator.
    """
    spec, source = read_file(text, filename)
    write = Writer(dry_run=dry_run)
    with transaction.atomic(), _author(user):
        the_plan = make_plan(spec, prune=prune, write=write)
        if user is not None:
            the_plan.problems.extend(_unpermitted(the_plan, user))
        if the_plan.problems:
            raise source.error(the_plan.problems)
        for change in the_plan.changes:
            _run(change, the_plan.problems)
        if the_plan.problems:
            raise source.error(the_plan.problems)
        if dry_run:
            transaction.set_rollback(True)
    return Outcome(the_plan, write.notes)


def _author(user: Any) -> AbstractContextManager[None]:
    return nullcontext() if user is None else acting_as_user(user, "manage.py apply")


def _unpermitted(the_plan: plan.Plan, user: Any) -> list[Problem]:
    problems = []
    for change in the_plan.changes:
        lacking = missing(user, [permission_for(change)])
        if lacking:
            problems.append(
                Problem(change.path, f"{change.title}: {refusal(lacking[0])}")
            )
    return problems


def _run(change: plan.Change, problems: list[Problem]) -> None:
    try:
        change.run()
    except Skipped:
        pass
    except ValidationError as exc:
        problems.extend(_refusals(change.path, exc, change))


def _refusals(path: Path, exc: ValidationError, change: plan.Change) -> list[Problem]:
    """A service's refusal, each field's message on that field's line."""
    errors = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
    problems = []
    for name, messages in errors.items():
        where = (*path, name) if name and name != "__all__" else path
        for message in messages:
            problems.append(Problem(where, f"{change.title}: {message}"))
    return problems


class Writer:
    """Makes the service call for each kind of change, once the plan is run.

    ``registry`` holds each component by key as it comes to exist, so a probe
    planned for a component the same file creates finds it.
    """

    def __init__(self, *, dry_run: bool) -> None:
        self.dry_run = dry_run
        self.registry: dict[Key, Component] = {}
        self.keys: dict[str, Key] = {}  # reference -> key, from the plan
        self.notes: list[str] = []

    def component(self, key: Key) -> Component:
        try:
            return self.registry[key]
        except KeyError:
            raise Skipped from None

    def page(self, fields: dict[str, Any]) -> Run:
        return call(services.page_update, **fields)

    def component_create(self, spec: ComponentSpec) -> Run:
        def run() -> None:
            group = None if spec.group is None else self.component((None, spec.group))
            created = services.component_create(
                name=spec.name,
                is_group=spec.is_group,
                group=group,
                position=spec.position,
                **spec.fields,
            )
            self.registry[(spec.group, spec.name)] = created

        return run

    def component_update(self, component: Component, fields: dict[str, Any]) -> Run:
        return call(services.component_update, component=component, **fields)

    def component_position(self, component: Component, position: int) -> Run:
        return self.component_update(component, {"position": position})

    def component_delete(self, component: Component) -> Run:
        return call(services.component_delete, component=component)

    def _probe_fields(
        self, spec: ProbeSpec, key: Key, config: dict[str, Any]
    ) -> dict[str, Any]:
        def public_id(reference: str) -> str:
            return self.component(self.keys[reference]).public_id

        return {
            **spec.fields,
            "component": self.component(key),
            "config": swap_step_components(config, public_id),
        }

    def probe_create(self, spec: ProbeSpec, key: Key, config: dict[str, Any]) -> Run:
        def run() -> None:
            fields = self._probe_fields(spec, key, config)
            _, token = probe_services.probe_create(
                name=spec.name, kind=spec.kind, **fields
            )
            if token and not self.dry_run:
                url = reverse("probes:heartbeat", kwargs={"token": token})
                self.notes.append(
                    f'heartbeat probe "{spec.name}" pings {url} (shown once)'
                )

        return run

    def probe_update(
        self, probe: Probe, spec: ProbeSpec, key: Key, config: dict[str, Any]
    ) -> Run:
        def run() -> None:
            fields = self._probe_fields(spec, key, config)
            probe_services.probe_update(probe=probe, kind=spec.kind, **fields)

        return run

    def probe_delete(self, probe: Probe) -> Run:
        return call(probe_services.probe_delete, probe=probe)

    def template_create(self, spec: TemplateSpec, keys: list[Key]) -> Run:
        def run() -> None:
            components = [self.component(key) for key in keys]
            services.template_create(
                name=spec.name, components=components, **spec.fields
            )

        return run

    def template_update(
        self, template: IncidentTemplate, spec: TemplateSpec, keys: list[Key]
    ) -> Run:
        def run() -> None:
            components = [self.component(key) for key in keys]
            services.template_update(
                template=template, components=components, **spec.fields
            )

        return run

    def template_delete(self, template: IncidentTemplate) -> Run:
        return call(services.template_delete, template=template)


def call(service: Callable[..., Any], **kwargs: Any) -> Run:
    def run() -> None:
        service(**kwargs)

    return run


__all__ = ["ConfigError", "Outcome", "apply_file", "read_file"]
