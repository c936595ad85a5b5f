"""The staff console: Django's admin, shaped for incident work.

Every write goes through ``incidents.services``; a refusal shows on the form.
"""

from __future__ import annotations

from django.contrib import admin

from . import components, incidents, templates

admin.site.site_header = "Heliograph console"
admin.site.site_title = "Heliograph console"
admin.site.index_title = "Status page"

__all__ = ["components", "incidents", "templates"]
