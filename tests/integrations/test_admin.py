"""Integrations in the console: the secret shown once, stored only as a hash."""

from __future__ import annotations

import hashlib

import pytest
from django.test import Client
from django.urls import reverse

from integrations.models import Integration
from tests.integrations.conftest import alertmanager_body, make_integration, post

pytestmark = pytest.mark.django_db

ADD = reverse("admin:integrations_integration_add")
LIST = reverse("admin:integrations_integration_changelist")


def change_url(integration: Integration) -> str:
    return reverse("admin:integrations_integration_change", args=[integration.pk])


def test_it_stores_only_a_hash_of_the_secret() -> None:
    integration, secret = make_integration()

    stored = Integration.objects.get(pk=integration.pk)
    assert stored.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(Integration.objects.values().get(pk=integration.pk))
    assert len(secret) >= 40  # 32 random bytes
    assert stored.secret_matches(secret)
    assert not stored.secret_matches(secret[:-1])


def test_it_shows_a_created_integration_secret_once(admin_client: Client) -> None:
    response = admin_client.post(ADD, {"name": "Prometheus", "kind": "alertmanager"})

    assert response.status_code == 200
    integration = Integration.objects.get(name="Prometheus")
    page = response.content.decode()
    secret = page.split('<code id="integration-secret">')[1].split("</code>")[0]
    url = page.split('<code id="integration-url">')[1].split("</code>")[0]
    assert integration.secret_matches(secret)
    assert url.endswith(f"/api/v1/integrations/alertmanager/{integration.public_id}")
    assert f"credentials: {secret}" in page  # the alertmanager.yml receiver
    assert "will not be shown again" in page
    assert "no-store" in response["Cache-Control"]
    for shown_at in [LIST, change_url(integration)]:
        shown = admin_client.get(shown_at).content.decode()
        assert integration.public_id in shown
        assert secret not in shown
        assert integration.secret_hash not in shown
    assert (
        post(integration, alertmanager_body("firing"), secret=secret).status_code == 200
    )


def test_it_renames_and_disables_but_keeps_kind_and_secret(
    admin_client: Client,
) -> None:
    integration, secret = make_integration(kind="generic")

    response = admin_client.post(
        change_url(integration), {"name": "Grafana", "kind": "alertmanager"}
    )

    assert response.status_code == 302
    integration.refresh_from_db()
    assert (integration.name, integration.kind) == ("Grafana", "generic")
    assert not integration.enabled
    assert integration.secret_matches(secret)
