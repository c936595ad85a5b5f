"""Writing audit rows: each saved, deleted or re-linked row of an audited model,
and the events that are no row's change (signing in, a resend).

Model signals catch every write path at once (console, API, commands, tasks and
whatever is added later), which explicit calls in each service could miss. Before
a row of an audited model is saved, the stored values of the fields being saved
are read (one query, writes only), so a row says what changed from what to what.
Writes made with ``QuerySet.update`` send no signal: the services that change an
audited row that way record it with ``record`` themselves.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Iterable
from typing import Any

from django.db import models

from . import chain, context
from .models import AuditEntry
from .registry import BOOKKEEPING, Audited, audited

_BEFORE = "_audit_before"
_M2M_BEFORE = "_audit_m2m_before"
REPR_MAX = 200


def plain(value: Any) -> Any:
    """A value as the log stores it: JSON's own types, so the hash of a row read
    back is the hash of the row written."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID | dt.timedelta):
        return str(value)
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(item) for item in value]
    if isinstance(value, models.Model):
        return value.pk
    return str(value)


def record(
    action: str,
    *,
    instance: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
    changes: dict[str, Any] | None = None,
    actor: context.Actor | None = None,
) -> AuditEntry:
    """Add a row to the log under the current author (or ``actor``)."""
    who = actor or context.current()
    if instance is not None:
        object_type = object_type or instance._meta.label_lower
        object_id = object_id or str(instance.pk)
        object_repr = object_repr or _repr(instance)
    entry = AuditEntry.objects.create(
        actor_kind=who.kind,
        actor_name=who.name[:150],
        actor_user_id=who.user_id,
        token_id=who.token_id,
        token_prefix=who.token_prefix,
        actor_detail=who.detail[:200],
        address=who.address,
        user_agent=who.user_agent,
        action=action,
        object_type=object_type,
        object_id=object_id[:64],
        object_repr=object_repr[:REPR_MAX],
        changes=plain(changes or {}),
    )
    chain.seal_after_commit()
    return entry


def _repr(instance: models.Model) -> str:
    # A name where the row has one: str() of some rows reads related rows.
    for attribute in ("name", "title", "username"):
        value = getattr(instance, attribute, None)
        if isinstance(value, str) and value:
            return value
    return str(instance)


def _fields(
    model: type[models.Model], spec: Audited, update_fields: Iterable[str] | None
) -> list[models.Field[Any, Any]]:
    wanted = None if update_fields is None else set(update_fields)
    return [
        f
        for f in model._meta.concrete_fields
        if not f.primary_key
        and f.name not in spec.ignored
        and f.name not in BOOKKEEPING
        and (wanted is None or f.name in wanted or f.attname in wanted)
    ]


def _shown(
    spec: Audited, instance: models.Model, values: dict[str, Any]
) -> dict[str, Any]:
    return {name: spec.shown(instance, name, plain(v)) for name, v in values.items()}


def before_save(
    sender: type[models.Model],
    instance: models.Model,
    raw: bool = False,
    update_fields: Iterable[str] | None = None,
    **kwargs: Any,
) -> None:
    spec = audited(sender)
    if spec is None or raw:
        return
    if instance._state.adding or instance.pk is None:
        setattr(instance, _BEFORE, None)
        return
    fields = _fields(sender, spec, update_fields)
    stored = (
        sender._base_manager.filter(pk=instance.pk)
        .values(*(f.attname for f in fields))
        .first()
    )
    if stored is None:
        setattr(instance, _BEFORE, None)
        return
    values = {f.name: stored[f.attname] for f in fields}
    setattr(instance, _BEFORE, _shown(spec, instance, values))


def after_save(
    sender: type[models.Model],
    instance: models.Model,
    created: bool = False,
    raw: bool = False,
    update_fields: Iterable[str] | None = None,
    **kwargs: Any,
) -> None:
    spec = audited(sender)
    if spec is None or raw:
        return
    fields = _fields(sender, spec, update_fields)
    after = _shown(
        spec, instance, {f.name: getattr(instance, f.attname) for f in fields}
    )
    before = getattr(instance, _BEFORE, None)
    if created or before is None:
        changes = {
            name: [None, value]
            for name, value in after.items()
            if value not in (None, "", [], {})
        }
        record("created", instance=instance, changes=changes)
        return
    changes = {
        name: [before.get(name), value]
        for name, value in after.items()
        if before.get(name) != value
    }
    if changes:
        record("changed", instance=instance, changes=changes)


def after_delete(
    sender: type[models.Model], instance: models.Model, **kwargs: Any
) -> None:
    spec = audited(sender)
    if spec is None:
        return
    fields = _fields(sender, spec, None)
    values = _shown(
        spec, instance, {f.name: getattr(instance, f.attname) for f in fields}
    )
    changes = {
        name: [value, None] for name, value in values.items() if value not in (None, "")
    }
    record("deleted", instance=instance, changes=changes)


def m2m_changed(
    sender: type[models.Model],
    instance: models.Model,
    action: str,
    reverse: bool,
    **kwargs: Any,
) -> None:
    """A change of an audited row's many-to-many field (a user's roles, a group's
    permissions, an incident's components): the ids before and after."""
    if reverse or audited(type(instance)) is None:
        return
    field = next(
        (
            f
            for f in instance._meta.many_to_many
            if getattr(f.remote_field, "through", None) is sender
        ),
        None,
    )
    if field is None:
        return
    manager = getattr(instance, field.name)
    if action in ("pre_add", "pre_remove", "pre_clear"):
        saved = getattr(instance, _M2M_BEFORE, {})
        saved[field.name] = sorted(manager.values_list("pk", flat=True))
        setattr(instance, _M2M_BEFORE, saved)
        return
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    before = getattr(instance, _M2M_BEFORE, {}).pop(field.name, None)
    after = sorted(manager.values_list("pk", flat=True))
    if before != after:
        record("changed", instance=instance, changes={field.name: [before, after]})
