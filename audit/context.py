"""Who is acting, for the audit log.

Where work begins, its author is set for the code it runs: a web request (a person
in the console, an API token, an integration, a visitor), a Celery task (the
system), a management command (the operator), or the probes deciding a component.
Rows written meanwhile are recorded under that author. A request's author is
resolved only when a row is written, so reads pay nothing.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from django.db import models
from django.http import HttpRequest

from kit.clients import client_address

USER_AGENT_MAX = 300


class ActorKind(models.TextChoices):
    USER = "user", "Staff user"
    TOKEN = "token", "API token"
    INTEGRATION = "integration", "Integration"
    PROBE = "probe", "Probes"
    SYSTEM = "system", "System"
    COMMAND = "command", "Command line"
    VISITOR = "visitor", "Visitor"


@dataclass(frozen=True)
class Actor:
    kind: str
    name: str = ""  # a user name, an integration's name, a task's or command's
    user_id: int | None = None
    token_id: int | None = None
    token_prefix: str = ""
    detail: str = ""  # what else says who: a token's name, the probes that decided
    address: str | None = None
    user_agent: str = ""


Resolver = Callable[[], Actor]
_current: ContextVar[Actor | Resolver | None] = ContextVar(
    "heliograph_actor", default=None
)


def current() -> Actor:
    """The author of what is being written now."""
    value = _current.get()
    if callable(value):
        return value()
    return value or _process_actor()


@contextmanager
def acting(actor: Actor | Resolver) -> Iterator[None]:
    """Record what the block writes under ``actor`` (or what it resolves to)."""
    token = _current.set(actor)
    try:
        yield
    finally:
        _current.reset(token)


def begin(actor: Actor) -> Token[Actor | Resolver | None]:
    """``acting`` split in two, for frameworks that signal a start and an end."""
    return _current.set(actor)


def end(token: Token[Actor | Resolver | None]) -> None:
    _current.reset(token)


def acting_as_user(user: Any, detail: str = "") -> Any:
    """``acting`` for a person outside a request (``manage.py apply --as``)."""
    return acting(
        Actor(
            kind=ActorKind.USER,
            name=user.get_username(),
            user_id=user.pk,
            detail=detail,
        )
    )


def _process_actor() -> Actor:
    """Nobody set an author: a management command run by the operator, or the
    system itself (a test, a shell)."""
    program = Path(sys.argv[0]).name if sys.argv else ""
    if program == "manage.py" and len(sys.argv) > 1:
        return Actor(
            kind=ActorKind.COMMAND,
            name=_os_user(),
            detail=f"manage.py {sys.argv[1]}",
        )
    return Actor(kind=ActorKind.SYSTEM, name=program or "heliograph")


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""


def request_actor(request: HttpRequest) -> Actor:
    """The author of a request: its API token, integration or signed-in user, or
    a visitor."""
    return in_request(_request_author(request), request)


def _request_author(request: HttpRequest) -> Actor:
    token = getattr(request, "api_token", None)
    if token is not None:
        return Actor(
            kind=ActorKind.TOKEN,
            name=token.user.get_username(),
            user_id=token.user_id,
            token_id=token.pk,
            token_prefix=token.prefix,
            detail=token.name,
        )
    integration = getattr(request, "integration", None)
    if integration is not None:
        return Actor(
            kind=ActorKind.INTEGRATION,
            name=integration.name,
            detail=f"{integration.get_kind_display()} {integration.public_id}",
        )
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return Actor(kind=ActorKind.USER, name=user.get_username(), user_id=user.pk)
    return Actor(kind=ActorKind.VISITOR)


def in_request(actor: Actor, request: HttpRequest) -> Actor:
    """``actor`` seen from where ``request`` came from."""
    return replace(
        actor,
        address=client_address(request),
        user_agent=request.headers.get("User-Agent", "")[:USER_AGENT_MAX],
    )
