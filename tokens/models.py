"""Per-user API tokens: only a SHA-256 of the secret is kept, never the secret."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

TOKEN_PREFIX = "hg_"
PREFIX_LENGTH = 8


class TokenScope(models.TextChoices):
    READ = "read", "Read"
    WRITE = "write", "Read and write"


class ApiToken(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    scope = models.CharField(
        max_length=5, choices=TokenScope.choices, default=TokenScope.READ
    )
    prefix = models.CharField(
        max_length=PREFIX_LENGTH, editable=False, help_text="Identifies the token."
    )
    hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"
        permissions = [
            ("manage_all_apitokens", "Can create and revoke API tokens of others"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None
