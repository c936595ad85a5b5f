"""Authors and events that are no row's change: signing in and out, and tasks."""

from __future__ import annotations

from contextvars import Token
from typing import Any

from django.http import HttpRequest

from . import context
from .context import Actor, ActorKind
from .recording import record

_task_actors: dict[str, Token[Any]] = {}


def _record_on_user(action: str, user: Any, request: HttpRequest) -> None:
    actor = context.in_request(
        Actor(kind=ActorKind.USER, name=user.get_username(), user_id=user.pk), request
    )
    record(
        action,
        actor=actor,
        object_type="auth.user",
        object_id=str(user.pk),
        object_repr=user.get_username(),
    )


def signed_in(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    _record_on_user("signed_in", user, request)


def signed_out(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    if user is not None:
        _record_on_user("signed_out", user, request)


def sign_in_failed(
    sender: Any,
    credentials: dict[str, Any],
    request: HttpRequest | None = None,
    **kwargs: Any,
) -> None:
    """A failed sign-in, under the name that was tried (never the password)."""
    tried = str(
        credentials.get("username")
        or credentials.get("login")
        or credentials.get("email")
        or ""
    )
    actor = Actor(kind=ActorKind.VISITOR, name=tried[:150])
    if request is not None:
        actor = context.in_request(actor, request)
    record("sign_in_failed", actor=actor, object_type="auth.user", object_repr=tried)


def task_started(task_id: str = "", task: Any = None, **kwargs: Any) -> None:
    name = getattr(task, "name", "") or "task"
    actor = Actor(kind=ActorKind.SYSTEM, name=name.rsplit(".", 1)[-1], detail=name)
    _task_actors[task_id] = context.begin(actor)


def task_ended(task_id: str = "", **kwargs: Any) -> None:
    token = _task_actors.pop(task_id, None)
    if token is not None:
        context.end(token)
