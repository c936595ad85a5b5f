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

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from access.permissions import missing, refusal
from audit.context import acting_as_user

from . import objects, plan, schema
from .source import ConfigError, Path, Problem, Source, load
from .state import Stored
from .writer import Skipped, Writer


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
    names = plan.page_names(spec, stored, prune)
    write.pages = {names.slug_of(page): page for page in stored.pages.values()}
    write.default_page_slug = names.default
    the_plan = plan.Plan()
    plan.page_changes(spec, stored, the_plan, write)
    doomed = plan.component_changes(spec, stored, names, the_plan, write, prune)
    refs = plan.references(spec, stored, prune)
    write.keys = refs.by_reference
    objects.probe_changes(spec, stored, refs, the_plan, write)
    objects.template_changes(spec, stored, refs, names, the_plan, write)
    if prune:
        objects.prune_changes(spec, stored, doomed, the_plan, write)
        plan.page_prune(spec, stored, the_plan, write)
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


__all__ = ["ConfigError", "Outcome", "apply_file", "read_file"]
