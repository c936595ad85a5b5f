"""Who may view a page: everyone, or those a rule lets in.

A page with no ``PageAccess`` row, or one whose rules are all off, is public. Each
rule on is a way in, and any one is enough: a visitor from an allowed network, one
who gave the page's password, one who followed a sign-in link mailed to an address
at an allowed domain, or a signed-in staff user. The last three get a signed viewer
pass (a cookie) that the snapshot checks without the database.
"""

from __future__ import annotations

import ipaddress

from django.core.exceptions import ValidationError
from django.db import models

from kit.addresses import Network


def parse_networks(text: str) -> list[Network]:
    """The networks of an allowlist: addresses or CIDR ranges, one per line or
    separated by commas; a clear error names the first wrong one."""
    networks = []
    for item in text.replace(",", " ").split():
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValidationError(
                f"'{item}' is not an address or a network (203.0.113.0/24, "
                "2001:db8::/32)."
            ) from None
    return networks


def parse_domains(text: str) -> list[str]:
    """Email domains, lower-case, one per line or separated by commas."""
    domains = []
    for item in text.replace(",", " ").split():
        domain = item.strip().lower().lstrip("@").rstrip(".")
        labels = domain.split(".")
        if len(labels) < 2 or not all(
            label and len(label) <= 63 and label.replace("-", "").isalnum()
            for label in labels
        ):
            raise ValidationError(
                f"'{item}' is not an email domain (example.com, without the @)."
            )
        domains.append(domain)
    return sorted(set(domains))


def validate_networks(value: str) -> None:
    parse_networks(value)


def validate_domains(value: str) -> None:
    parse_domains(value)


class PageAccess(models.Model):
    page = models.OneToOneField(
        "incidents.Page", on_delete=models.CASCADE, related_name="access"
    )
    password_hash = models.CharField(
        max_length=200,
        blank=True,
        help_text="Set through the page's access settings: never shown.",
    )
    ip_allowlist = models.TextField(
        blank=True,
        validators=[validate_networks],
        help_text="Visitors from these addresses or networks see the page without "
        "signing in: one per line (203.0.113.0/24).",
    )
    email_domains = models.TextField(
        blank=True,
        validators=[validate_domains],
        help_text="Anyone with an address at one of these domains may ask for a "
        "sign-in link by email: one per line (example.com).",
    )
    allow_staff = models.BooleanField(
        default=False,
        help_text="Staff signed in to the console (with a password or single "
        "sign-on) see the page.",
    )
    # Moves with every change of the rules: a pass given before is void.
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "page access"
        verbose_name_plural = "page access"

    def __str__(self) -> str:
        return f"Access to {self.page}"

    @property
    def is_private(self) -> bool:
        return bool(
            self.password_hash
            or self.ip_allowlist.strip()
            or self.email_domains.strip()
            or self.allow_staff
        )
