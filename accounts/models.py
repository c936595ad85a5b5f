"""The sign-in policy: who must sign in with a second factor."""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.db import models

POLICY_PK = 1


class SignInPolicy(models.Model):
    """One row (pk 1), edited in the console by those with its change permission."""

    require_two_factor_for_everyone = models.BooleanField(
        default=False,
        help_text="Every staff user must sign in with an authenticator app.",
    )
    require_two_factor_for_roles = models.ManyToManyField(
        Group,
        blank=True,
        related_name="+",
        verbose_name="require two-factor for these roles",
        help_text="Staff users in any of these roles must sign in with an "
        "authenticator app.",
    )

    class Meta:
        verbose_name = "sign-in policy"
        verbose_name_plural = "sign-in policy"

    def __str__(self) -> str:
        return "Sign-in policy"

    @classmethod
    def get(cls) -> SignInPolicy:
        """The policy; until first saved, the defaults (nothing required), so
        reading it on every console request never writes."""
        return cls.objects.filter(pk=POLICY_PK).first() or cls(pk=POLICY_PK)
