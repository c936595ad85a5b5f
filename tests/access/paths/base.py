"""What every write path shares: who attempts it, what exists before, the table row.

A path is an attempt made by someone (signed in to the console, holding a write
token of their own, or naming themselves to a command), and a check of whether it
was written. The roles that may take it are the table's answer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from incidents.models import Component, Incident, IncidentTemplate
from integrations.models import Integration
from notifications.models import Delivery, Subscriber
from probes.models import Probe
from tokens.models import ApiToken

ALL = frozenset({"viewer", "responder", "admin"})
RESPONDERS = frozenset({"responder", "admin"})
ADMINS = frozenset({"admin"})


@dataclass
class Who:
    role: str
    user: User
    console: Client
    api: APIClient
    folder: Path


@dataclass
class World:
    """What exists before each attempt, made by the system."""

    group: Component
    api: Component
    incident: Incident
    resolved: Incident
    subscriber: Subscriber
    other_user: User
    other_token: ApiToken
    probe: Probe
    template: IncidentTemplate
    delivery: Delivery
    integration: Integration


Check = Callable[[], bool]


@dataclass(frozen=True)
class WritePath:
    name: str
    via: str  # console, api, command
    roles: frozenset[str]
    object_type: str  # what the audit log names
    attempt: Callable[[Who, World], tuple[int, Check]]

    def __str__(self) -> str:
        return f"{self.via}: {self.name}"


def admin_url(name: str, *args: Any) -> str:
    return reverse(f"admin:{name}", args=args)


def fresh(row: Any) -> Any:
    return type(row).objects.get(pk=row.pk)


def when(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")
