"""Inbound integrations: alerting tools that push their alerts to us. Only a SHA-256
of each integration's secret is kept, never the secret."""

from __future__ import annotations

import hmac

from django.db import models
from django.utils import timezone

from kit.digests import secret_digest
from kit.ids import new_public_id


class IntegrationKind(models.TextChoices):
    ALERTMANAGER = "alertmanager", "Prometheus Alertmanager"
    GENERIC = "generic", "Generic webhook"


class Integration(models.Model):
    public_id = models.CharField(
        max_length=12, unique=True, default=new_public_id, editable=False
    )
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=IntegrationKind.choices)
    secret_hash = models.CharField(max_length=64, editable=False)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_received_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    def secret_matches(self, secret: str) -> bool:
        # Constant time, so the comparison reveals nothing of the stored digest.
        return hmac.compare_digest(self.secret_hash, secret_digest(secret))
