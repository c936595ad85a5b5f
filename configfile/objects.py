"""Planning probes and templates, whose components are references into the file."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from incidents.models import Component
from probes.kinds import UnknownKind, kind_class
from probes.models import Probe

from .plan import Change, Plan, differences
from .schema import PROBE_FIELDS, ConfigSpec, ProbeSpec, TemplateSpec
from .source import Problem
from .state import (
    Key,
    PageNames,
    References,
    Stored,
    key_of,
    placeholder,
    reference,
    step_components,
    swap_step_components,
)
from .writer import Writer

# Alert probes act on one pushed result: the probe service sets both streaks to 1
# whatever it is given, so the file is read the same way or it would never match.
ONE_RESULT_KINDS = {"alert"}


def probe_changes(
    spec: ConfigSpec, stored: Stored, refs: References, plan: Plan, write: Writer
) -> None:
    for probe_spec in spec.probes:
        key = _resolve(
            refs, probe_spec.component, (*probe_spec.path, "component"), plan
        )
        config = wanted_config(probe_spec, refs, plan)
        if key is None or config is None:
            continue
        wanted = _probe_fields(probe_spec, key, config)
        found = stored.probes.get(probe_spec.name, [])
        if len(found) > 1:
            message = (
                f"{len(found)} probes in the database have this name: rename all "
                "but one"
            )
            plan.problems.append(Problem((*probe_spec.path, "name"), message))
        elif not found:
            run = write.probe_create(probe_spec, key, config)
            plan.add(Change("+", "probe", probe_spec.name, probe_spec.path, run))
        else:
            _probe_update(found[0], probe_spec, key, wanted, stored, plan, write)


def _probe_fields(spec: ProbeSpec, key: Key, config: dict[str, Any]) -> dict[str, Any]:
    fields = {"kind": spec.kind, "component": reference(key), **spec.fields}
    if spec.kind in ONE_RESULT_KINDS:
        fields["failures_to_down"] = fields["successes_to_up"] = 1
    return {**fields, "config": config}


def _probe_update(
    probe: Probe,
    spec: ProbeSpec,
    key: Key,
    wanted: dict[str, Any],
    stored: Stored,
    plan: Plan,
    write: Writer,
) -> None:
    current = {name: getattr(probe, name) for name in ("kind", *PROBE_FIELDS)}
    current["component"] = reference(key_of(probe.component))
    current["config"] = stored_config(probe.config, stored)
    diffs = differences(current, wanted)
    if diffs:
        run = write.probe_update(probe, spec, key, wanted["config"])
        plan.add(Change("~", "probe", spec.name, spec.path, run, diffs))


def stored_config(config: dict[str, Any], stored: Stored) -> dict[str, Any]:
    """A stored config with its steps' component ids turned into references."""

    def named(public_id: str) -> str:
        component = stored.by_public_id.get(public_id)
        return public_id if component is None else reference(key_of(component))

    return swap_step_components(config, named)


def wanted_config(
    spec: ProbeSpec, refs: References, plan: Plan
) -> dict[str, Any] | None:
    """The file's config as the probe's kind normalises it, steps naming references.

    The kind wants public ids, which new components do not have yet: stand-ins are
    validated and then turned back into references.
    """
    chosen: dict[str, str] = {}
    for index, wanted in step_components(spec.config):
        path = (*spec.path, "config", "steps", index, "component")
        key = _resolve(refs, wanted, path, plan)
        if key is not None:
            chosen[wanted] = reference(key)
    stand_ins = {
        ref: placeholder(n) for n, ref in enumerate(sorted(set(chosen.values())))
    }
    raw = swap_step_components(
        spec.config, lambda ref: stand_ins.get(chosen.get(ref, ""), ref)
    )
    try:
        normalised = kind_class(spec.kind).validate(raw)
    except UnknownKind:
        return None  # already reported by the schema
    except ValidationError as exc:
        _config_problems(spec, exc, plan)
        return None
    back = {stand_in: ref for ref, stand_in in stand_ins.items()}
    return swap_step_components(normalised, lambda pid: back.get(pid, pid))


def _config_problems(spec: ProbeSpec, exc: ValidationError, plan: Plan) -> None:
    """Each bad config field on its own line: ``steps.1.url`` is the file's
    ``config.steps[1].url``."""
    errors = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
    for name, messages in errors.items():
        parts = [int(p) if p.isdigit() else p for p in name.split(".") if p]
        path = (*spec.path, "config", *parts)
        for message in messages:
            reason = message.removeprefix(f"{name} ") if name else message
            plan.problems.append(Problem(path, reason))


def _resolve(refs: References, wanted: str, path: Any, plan: Plan) -> Key | None:
    if not wanted:
        return None  # missing: already reported by the schema
    try:
        return refs.resolve(wanted)
    except ValueError as exc:
        plan.problems.append(Problem(path, str(exc)))
        return None


def template_changes(
    spec: ConfigSpec,
    stored: Stored,
    refs: References,
    names: PageNames,
    plan: Plan,
    write: Writer,
) -> None:
    for template_spec in spec.templates:
        keys = _template_keys(template_spec, refs, plan)
        page = template_spec.page
        if page is not None and page not in names.slugs:
            message = f"no page '{page}' in the file or the database"
            plan.problems.append(Problem((*template_spec.path, "page"), message))
        if keys is None:
            continue
        wanted = {
            **template_spec.fields,
            "page": page,
            "components": sorted(map(reference, keys)),
        }
        template = stored.templates.get(template_spec.name)
        if template is None:
            run = write.template_create(template_spec, keys)
            plan.add(
                Change("+", "template", template_spec.name, template_spec.path, run)
            )
            continue
        current = {name: getattr(template, name) for name in template_spec.fields}
        current["page"] = template.page and names.slug_of(template.page)
        current["components"] = sorted(
            reference(key_of(c)) for c in template.components.all() if not c.is_deleted
        )
        diffs = differences(current, wanted)
        if diffs:
            run = write.template_update(template, template_spec, keys)
            plan.add(
                Change(
                    "~", "template", template_spec.name, template_spec.path, run, diffs
                )
            )


def _template_keys(
    spec: TemplateSpec, refs: References, plan: Plan
) -> list[Key] | None:
    keys = [
        _resolve(refs, wanted, (*spec.path, "components", index), plan)
        for index, wanted in enumerate(spec.components)
    ]
    found = [key for key in keys if key is not None]
    # A name listed twice is still one component of the template.
    return list(dict.fromkeys(found)) if len(found) == len(keys) else None


def prune_changes(
    spec: ConfigSpec, stored: Stored, doomed: list[Component], plan: Plan, write: Writer
) -> None:
    """With ``--prune``: delete what the file does not name, dependants first."""
    named_templates = {t.name for t in spec.templates}
    for name, template in sorted(stored.templates.items()):
        if name not in named_templates:
            plan.add(Change("-", "template", name, (), write.template_delete(template)))
    named_probes = {p.name for p in spec.probes}
    for name, probes in sorted(stored.probes.items()):
        for probe in probes if name not in named_probes else []:
            plan.add(Change("-", "probe", name, (), write.probe_delete(probe)))
    for component in doomed:
        noun = "group" if component.is_group else "component"
        label = reference(key_of(component))
        plan.add(Change("-", noun, label, (), write.component_delete(component)))
