"""Writes to inbound integrations, and the alerts they bring."""

from __future__ import annotations

import secrets

from django.db import transaction
from django.utils import timezone

from kit.digests import secret_digest
from probes.services import AlertsRecorded, PushedAlert, alerts_record

from .models import Integration, IntegrationKind


def integration_create(
    *, name: str, kind: IntegrationKind | str
) -> tuple[Integration, str]:
    """Make an integration; its secret is returned this once and stored nowhere."""
    secret = secrets.token_urlsafe(32)
    with transaction.atomic():
        integration = Integration.objects.create(
            name=name, kind=IntegrationKind(kind), secret_hash=secret_digest(secret)
        )
    return integration, secret


def alerts_receive(
    *, integration: Integration, alerts: list[PushedAlert]
) -> AlertsRecorded:
    """Note that the integration was heard from, and count its alerts into the
    alert probes they match, in one transaction: a body that fails part-way leaves
    nothing behind for the tool's retry to be counted on top of."""
    with transaction.atomic():
        Integration.objects.filter(pk=integration.pk).update(
            last_received_at=timezone.now()
        )
        return alerts_record(alerts=alerts)


def integration_update(
    *, integration: Integration, name: str, enabled: bool
) -> Integration:
    """Rename, or turn off and on; the kind and the secret stay as they were made."""
    with transaction.atomic():
        integration.name, integration.enabled = name, enabled
        integration.save(update_fields=["name", "enabled"])
    return integration
