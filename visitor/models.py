"""A page's brand: its logo, colour, icon, links and stylesheet.

The files are bytes in the database, not uploads on one machine's disk, so every
web host answers them and the snapshot publishes them with the rest of the page.
Whatever is stored here has passed ``visitor.brand`` (``visitor.services``).
"""

from __future__ import annotations

from django.db import models

from incidents.models import Page


class ImageType(models.TextChoices):
    SVG = "image/svg+xml", "SVG"
    PNG = "image/png", "PNG"


class Brand(models.Model):
    page = models.OneToOneField(Page, on_delete=models.CASCADE, related_name="brand")
    logo = models.BinaryField(blank=True, default=b"")
    logo_type = models.CharField(max_length=20, blank=True, choices=ImageType.choices)
    # Of the stored bytes: the file's links carry it, and the audit log records it.
    logo_digest = models.CharField(max_length=32, blank=True, editable=False)
    favicon = models.BinaryField(blank=True, default=b"")
    favicon_type = models.CharField(
        max_length=20, blank=True, choices=ImageType.choices
    )
    favicon_digest = models.CharField(max_length=32, blank=True, editable=False)
    colour = models.CharField(
        max_length=7, blank=True, help_text="Hex, as #0b3d91: the links and buttons."
    )
    # [{"label": "Support", "url": "https://..."}], in order.
    header_links = models.JSONField(default=list, blank=True)
    footer_text = models.TextField(max_length=500, blank=True)
    custom_css = models.TextField(blank=True)
    not_found_text = models.TextField(
        max_length=500, blank=True, help_text="Shown on the page's 404."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "brand"

    def __str__(self) -> str:
        return f"Brand of {self.page}"

    @property
    def version(self) -> str:
        """Changes with every save: the stylesheet's link carries it, so a cached
        one is never used after a change (the files' links carry their digest)."""
        return str(int(self.updated_at.timestamp())) if self.updated_at else "0"

    @property
    def logo_extension(self) -> str:
        return _EXTENSIONS.get(self.logo_type, "")

    @property
    def favicon_extension(self) -> str:
        return _EXTENSIONS.get(self.favicon_type, "")


_EXTENSIONS: dict[str, str] = {ImageType.SVG: "svg", ImageType.PNG: "png"}
