"""Integrations, alert probes, and alert bodies posted as an alerting tool does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from incidents.models import Component
from integrations.models import Integration
from integrations.services import integration_create
from probes.models import Probe
from probes.services import probe_create
from tests.conftest import make_component

HERE = Path(__file__).resolve().parent
REGIONS = ["eu", "us", "ap"]
HOLD = 300


@pytest.fixture(autouse=True)
def probe_settings(settings: Any) -> None:
    # Three regions: an alert must carry a majority quorum on its own.
    settings.PROBE_REGIONS = REGIONS
    settings.AUTO_RESOLVE_AFTER_SECONDS = HOLD
    settings.FLAP_WINDOW_SECONDS = 900
    settings.FLAP_THRESHOLD = 4


def alertmanager_body(name: str) -> dict[str, Any]:
    """``firing`` or ``resolved``: a real Alertmanager version 4 body, from a file."""
    body: dict[str, Any] = json.loads(
        (HERE / f"alertmanager_v4_{name}.json").read_text()
    )
    return body


def make_integration(**overrides: Any) -> tuple[Integration, str]:
    fields: dict[str, Any] = {"name": "Prometheus", "kind": "alertmanager"}
    fields.update(overrides)
    return integration_create(**fields)


def make_alert_probe(component: Component, **fields: Any) -> Probe:
    fields.setdefault("config", {"matchers": {"alertname": "LoginDown"}})
    probe, _ = probe_create(
        name=f"{component.name} alerts", kind="alert", component=component, **fields
    )
    return probe


def post(
    integration: Integration,
    body: Any,
    *,
    secret: str | None,
    raw: bytes | None = None,
    **headers: str,
) -> Any:
    """POST ``body`` as JSON to the integration's address, as Alertmanager does."""
    route = "alertmanager" if integration.kind == "alertmanager" else "webhook"
    url = reverse(f"integrations:{route}", kwargs={"public_id": integration.public_id})
    if secret is not None:
        headers.setdefault("Authorization", f"Bearer {secret}")
    data = raw if raw is not None else json.dumps(body).encode()
    client = Client(enforce_csrf_checks=True)  # as a machine would: no CSRF token
    return client.post(url, data, content_type="application/json", headers=headers)


def status_of(component: Component) -> str:
    return Component.objects.get(pk=component.pk).status


@pytest.fixture
def login() -> Component:
    return make_component(name="Login/logout path")


@pytest.fixture
def login_alerts(login: Component) -> Probe:
    return make_alert_probe(login, config={"matchers": {"service": "auth"}})


@pytest.fixture
def alertmanager() -> tuple[Integration, str]:
    return make_integration()


@pytest.fixture
def webhook() -> tuple[Integration, str]:
    return make_integration(name="Grafana", kind="generic")
