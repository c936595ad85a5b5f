from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.test import APIClient

from incidents import services
from incidents.models import IncidentStatus
from notifications.models import Channel, Subscriber, SubscriberState
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
    services.component_pin  # noqa: B018 - the services are what the paths call
    return World(group, api, incident, resolved, subscriber, other, other_token)


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
