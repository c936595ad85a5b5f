"""The audit log in the console: read, filter, export. Nothing here writes."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseBase, StreamingHttpResponse
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from .export import FORMATS, exported
from .models import EXPORTED_FIELDS, AuditEntry

SHOWN_CHANGES = 6
SHOWN_AS = {"actor_name": "who", "changes": "changes_table"}
IN_WHO = ("actor_kind", "actor_user_id", "token_id", "token_prefix")


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ("at", "who", "action", "object_type", "object_repr", "summary")
    list_filter = ("actor_kind", "action", "object_type")
    search_fields = (
        "actor_name",
        "object_repr",
        "object_id",
        "address",
        "actor_detail",
    )
    date_hierarchy = "at"
    show_full_result_count = False
    change_list_template = "admin/audit/auditentry/change_list.html"
    # The exported fields, the author's and the changes' shown readably.
    readonly_fields = tuple(
        SHOWN_AS.get(name, name) for name in EXPORTED_FIELDS if name not in IN_WHO
    )
    fields = readonly_fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        export = path(
            "export/<str:fmt>/",
            self.admin_site.admin_view(self.export_view),
            name="audit_auditentry_export",
        )
        return [export, *super().get_urls()]

    def export_view(self, request: HttpRequest, fmt: str) -> HttpResponseBase:
        """The entries the list shows (its filters and search), whole."""
        if not self.has_view_permission(request) or fmt not in FORMATS:
            raise PermissionDenied
        changelist = self.get_changelist_instance(request)
        entries = changelist.get_queryset(request)
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        response = StreamingHttpResponse(
            exported(entries, fmt), content_type=FORMATS[fmt]
        )
        response["Content-Disposition"] = (
            f'attachment; filename="heliograph-audit-{stamp}.{fmt}"'
        )
        return response

    @admin.display(description="Who", ordering="actor_name")
    def who(self, entry: AuditEntry) -> str:
        return entry.actor_label

    @admin.display(description="Changes")
    def summary(self, entry: AuditEntry) -> str:
        names = list(entry.changes)[:SHOWN_CHANGES]
        more = len(entry.changes) - len(names)
        return ", ".join(names) + (f" and {more} more" if more > 0 else "")

    @admin.display(description="Changes")
    def changes_table(self, entry: AuditEntry) -> SafeString | str:
        if not entry.changes:
            return "—"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td><code>{}</code></td><td><code>{}</code></td></tr>",
            (
                (name, _shown(values, 0), _shown(values, 1))
                for name, values in entry.changes.items()
            ),
        )
        return format_html(
            "<table><tr><th>Field</th><th>Before</th><th>After</th></tr>{}</table>",
            rows,
        )


def _shown(values: Any, index: int) -> str:
    if isinstance(values, list) and len(values) == 2:
        return json.dumps(values[index], ensure_ascii=False)
    return json.dumps(values, ensure_ascii=False) if index == 1 else ""
