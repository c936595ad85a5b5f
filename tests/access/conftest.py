from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.test import APIClient

from incidents.models import IncidentStatus
from incidents.services import template_create
from integrations.services import integration_create
from notifications.models import (
    Channel,
    Delivery,
    DeliveryState,
    Event,
    Subscriber,
    SubscriberState,
)
from probes.services import probe_create
from tests.access.paths import Who, World
from tests.api_helpers import staff_user
from tests.conftest import make_component, make_group, make_incident, make_page
from tokens.services import token_create


@pytest.fixture
def world() -> World:
    make_page(name="Acme")
    group = make_group(name="Acme product")
    api = make_component(name="API", group=group)
    incident = make_incident(name="Elevated errors", component_statuses={})
    resolved = make_incident(name="Yesterday's outage", status=IncidentStatus.RESOLVED)
    subscriber = Subscriber.objects.create(
        channel=Channel.EMAIL, email="ada@example.com", state=SubscriberState.ACTIVE
    )
    other = staff_user("someone-else", "responder")
    other_token, _ = token_create(user=other, name="other's", scope="write")
    probe, _ = probe_create(
        name="API check",
        kind="http",
        component=api,
        config={"url": "http://127.0.0.1:9/"},
        regions=["local"],
    )
    template = template_create(name="Slow", title="Slowness", body="We look.")
    event = Event.objects.create(kind="incident.created", payload={}, subject="x")
    delivery = Delivery.objects.create(
        event=event, subscriber=subscriber, state=DeliveryState.FAILED
    )
    integration, _ = integration_create(name="Grafana", kind="alertmanager")
    return World(
        group,
        api,
        incident,
        resolved,
        subscriber,
        other,
        other_token,
        probe,
        template,
        delivery,
        integration,
    )


@pytest.fixture
def who(tmp_path: Path) -> Callable[[str], Who]:
    """Someone in ``role``: signed in to the console, with a write token of their
    own, and a folder for configuration files."""

    def make(role: str) -> Who:
        user: User = staff_user(f"{role}-person", role)
        console = Client()
        console.force_login(user)
        api = APIClient()
        _, plaintext = token_create(user=user, name="own", scope="write")
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
        return Who(role, user, console, api, tmp_path)

    return make
