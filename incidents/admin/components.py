"""Components, groups and the page settings in the console."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, QuerySet
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from access.permissions import require, user_may
from incidents import services
from kit.console import staff_member

from ..forms import ComponentForm, PageForm
from ..models import Component, ComponentStatus, Page, StatusSource
from .base import ServiceAdmin

CREATE_FIELDS = (
    "name",
    "description",
    "is_group",
    "group",
    "position",
    "showcase",
    "only_show_if_degraded",
    "start_date",
    "status",
)
EDIT_FIELDS = set(CREATE_FIELDS) - {"is_group", "status"}
CHANGE = "incidents.change_component"
SET_STATUS = "incidents.set_component_status"
PIN = "incidents.pin_component"
HISTORY_LENGTH = 10

Action = Callable[[Any, HttpRequest, QuerySet[Component]], None]
# Pages other apps add under the components' console (the uptime app's availability
# report, uptime/admin.py): the status domain imports none of them, they register
# here with ``console_view_add`` before the admin's URLs are read.
ConsoleView = Callable[["ComponentAdmin", HttpRequest], HttpResponse]
ADDED_VIEWS: list[tuple[str, str, ConsoleView]] = []


def console_view_add(route: str, name: str, view: ConsoleView) -> None:
    """Serve ``view(component_admin, request)`` at ``route`` under the components'
    console, as the admin URL ``name``; the view checks who may see it."""
    if all(added[1] != name for added in ADDED_VIEWS):
        ADDED_VIEWS.append((route, name, view))


def _status_action(status: ComponentStatus) -> Action:
    def action(
        modeladmin: ComponentAdmin, request: HttpRequest, queryset: QuerySet[Component]
    ) -> None:
        modeladmin.set_status(request, queryset, status)

    action.__name__ = f"set_{status.value}"
    return admin.action(
        description=f"Set status: {status.label}", permissions=["set_status"]
    )(action)


def _moved(siblings: list[Component], selected: set[int]) -> list[Component]:
    """Each selected component swaps with the unselected one just before it."""
    order = list(siblings)
    for index in range(1, len(order)):
        if order[index].pk in selected and order[index - 1].pk not in selected:
            order[index - 1], order[index] = order[index], order[index - 1]
    return order


@admin.register(Component)
class ComponentAdmin(ServiceAdmin):
    form = ComponentForm
    list_display = ("tree_name", "status", "pinned", "group", "position", "showcase")
    list_display_links = ("tree_name",)
    list_editable = ("position",)
    list_filter = ("status", "is_group")
    search_fields = ("name",)
    actions = [
        *(_status_action(status) for status in ComponentStatus),
        "move_up",
        "move_down",
        "delete_components",
    ]
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "name",
                    "description",
                    "is_group",
                    "group",
                    "status",
                    "pinned",
                )
            },
        ),
        (
            "Display",
            {
                "fields": (
                    "pages",
                    "position",
                    "showcase",
                    "only_show_if_degraded",
                    "start_date",
                )
            },
        ),
        ("History", {"fields": ("status_history",)}),
    )
    # The page's own order: each group followed by its components.
    # The admin takes expressions here; django-stubs types it as field names only.
    ordering = (  # type: ignore[assignment]
        Coalesce("group__position", "position").asc(),
        Coalesce("group_id", "id").asc(),
        F("is_group").desc(),
        "position",
        "id",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Component]:
        return Component.objects.live().select_related("group")

    # A responder may set a component's status and pin, not change what it is.

    def has_set_status_permission(self, request: HttpRequest) -> bool:
        return user_may(request.user, SET_STATUS)

    def has_structure_permission(self, request: HttpRequest) -> bool:
        """Change what the component is (name, group, order), not its status."""
        return user_may(request.user, CHANGE)

    def has_change_permission(
        self, request: HttpRequest, obj: Component | None = None
    ) -> bool:
        return super().has_change_permission(request, obj) or any(
            user_may(request.user, permission) for permission in (SET_STATUS, PIN)
        )

    def get_changelist_instance(self, request: HttpRequest) -> Any:
        changelist = super().get_changelist_instance(request)
        if not self.has_structure_permission(request):
            changelist.list_editable = ()  # positions are the page's structure
        return changelist

    def get_urls(self) -> list[URLPattern]:
        added = [
            path(route, self.admin_site.admin_view(partial(view, self)), name=name)
            for route, name, view in ADDED_VIEWS
        ]
        return [*added, *super().get_urls()]

    def get_readonly_fields(
        self, request: HttpRequest, obj: Component | None = None
    ) -> tuple[str, ...]:
        if obj is None:
            return ("status_history",)
        fixed = ["is_group", "status_history"]
        if obj.is_group:  # a group's status follows its components
            fixed += ["status", "pinned"]
        user = request.user
        if not user_may(user, CHANGE):
            fixed += [*sorted(EDIT_FIELDS), "pages"]
        fixed += [
            f
            for f, p in (("status", SET_STATUS), ("pinned", PIN))
            if not user_may(user, p)
        ]
        return tuple(dict.fromkeys(fixed))

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # a soft delete has its own action
        return actions

    @admin.display(description="Name")
    def tree_name(self, component: Component) -> SafeString:
        if component.is_group:
            return format_html("<strong>{}</strong> (group)", component.name)
        if component.group_id is not None:
            return format_html("&emsp;{}", component.name)
        return format_html("{}", component.name)

    @admin.display(description="Recent status changes")
    def status_history(self, component: Component) -> SafeString | str:
        changes = component.status_changes.select_related("actor")[:HISTORY_LENGTH]
        if not changes:
            return "-"
        lines = format_html_join(
            "",
            "<li>{}: {} &rarr; {} ({}{})</li>",
            (
                (
                    timezone.localtime(change.created_at).strftime("%Y-%m-%d %H:%M"),
                    change.get_old_status_display(),
                    change.get_new_status_display(),
                    change.get_source_display(),
                    f", {change.actor}" if change.actor else "",
                )
                for change in changes
            ),
        )
        return format_html("<ul>{}</ul>", lines)

    def save_related(
        self, request: HttpRequest, form: Any, formsets: Any, change: bool
    ) -> None:
        """The services set the pages (and the groups' with them) in ``save_model``."""
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def save_model(
        self, request: HttpRequest, obj: Component, form: Any, change: bool
    ) -> None:
        data = form.cleaned_data
        if not change:
            fields = {name: data[name] for name in CREATE_FIELDS if name in data}
            pages = list(data["pages"]) if "pages" in data else None
            created = services.component_create(pages=pages, **fields)
            if data.get("pinned"):
                services.component_pin(component=created, pinned=True)
            obj.pk = created.pk
            obj.refresh_from_db()
            obj._state.adding = False
            return
        component = Component.objects.get(pk=obj.pk)
        edited = {name: data[name] for name in form.changed_data if name in EDIT_FIELDS}
        pages_changed = "pages" in form.changed_data
        require(
            request.user,
            *([CHANGE] if edited or pages_changed else []),
            *([SET_STATUS] if "status" in form.changed_data else []),
            *([PIN] if "pinned" in form.changed_data else []),
        )
        if edited:
            services.component_update(component=component, **edited)
        if pages_changed:
            services.component_pages_set(component=component, pages=data["pages"])
        if "status" in form.changed_data:
            services.component_set_status(
                component=component,
                status=data["status"],
                source=StatusSource.STAFF,
                actor=staff_member(request),
            )
        if "pinned" in form.changed_data:
            services.component_pin(component=component, pinned=data["pinned"])

    def delete_view(
        self,
        request: HttpRequest,
        object_id: str,
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        try:
            return super().delete_view(request, object_id, extra_context)
        except ValidationError as refusal:
            self.show_refusal(request, refusal)
            return redirect("admin:incidents_component_change", object_id)

    def delete_model(self, request: HttpRequest, obj: Component) -> None:
        services.component_delete(component=obj)

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> Any:
        # A soft delete takes nothing else with it, whatever points at the component.
        names = [str(component) for component in objs]
        return names, {"components": len(names)}, set(), []

    def set_status(
        self, request: HttpRequest, queryset: QuerySet[Component], status: str
    ) -> None:
        changed = 0
        for component in queryset:
            try:
                services.component_set_status(
                    component=component,
                    status=status,
                    source=StatusSource.STAFF,
                    actor=staff_member(request),
                )
            except ValidationError as refusal:
                self.show_refusal(request, refusal)
                continue
            changed += 1
        label = ComponentStatus(status).label
        self.message_user(request, f"Set {changed} component(s) to {label}.")

    def show_refusal(self, request: HttpRequest, refusal: ValidationError) -> None:
        for message in refusal.messages:
            self.message_user(request, message, messages.ERROR)

    @admin.action(description="Move up", permissions=["structure"])
    def move_up(self, request: HttpRequest, queryset: QuerySet[Component]) -> None:
        self._reorder(queryset, upwards=True)

    @admin.action(description="Move down", permissions=["structure"])
    def move_down(self, request: HttpRequest, queryset: QuerySet[Component]) -> None:
        self._reorder(queryset, upwards=False)

    def _reorder(self, queryset: QuerySet[Component], *, upwards: bool) -> None:
        selected = {component.pk for component in queryset}
        for group_id in {component.group_id for component in queryset}:
            siblings = list(
                Component.objects.live()
                .filter(group_id=group_id)
                .order_by("position", "id")
            )
            if not upwards:
                siblings.reverse()
            order = _moved(siblings, selected)
            if not upwards:
                order.reverse()
            services.components_reorder(ordered=order)

    @admin.action(description="Delete selected components", permissions=["delete"])
    def delete_components(
        self, request: HttpRequest, queryset: QuerySet[Component]
    ) -> None:
        deleted = 0
        # Children first, so a group selected with all its components can go too.
        for component in sorted(queryset, key=lambda c: c.is_group):
            try:
                services.component_delete(component=component)
            except ValidationError as refusal:
                self.show_refusal(request, refusal)
                continue
            deleted += 1
        self.message_user(request, f"Deleted {deleted} component(s).")


@admin.register(Page)
class PageAdmin(ServiceAdmin):
    """The pages: an install with one goes straight to its settings."""

    form = PageForm
    fields = ("name", "slug", "hosts", "url", "time_zone", "description")
    list_display = ("name", "slug", "is_default", "host_names")
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    @admin.display(description="Host names")
    def host_names(self, obj: Page) -> str:
        return ", ".join(host.name for host in obj.hosts.all()) or f"/p/{obj.slug}/"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Page]:
        return super().get_queryset(request).prefetch_related("hosts")

    def has_delete_permission(
        self, request: HttpRequest, obj: Page | None = None
    ) -> bool:
        # A page holds its subscribers and what its incidents told them.
        return False

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        page = Page.get()
        if Page.objects.count() == 1:
            return HttpResponseRedirect(
                reverse("admin:incidents_page_change", args=[page.pk])
            )
        return super().changelist_view(request, extra_context)

    def save_model(
        self, request: HttpRequest, obj: Page, form: Any, change: bool
    ) -> None:
        names = [n for n in form.changed_data if n in services.page.PAGE_FIELDS]
        fields = {name: form.cleaned_data[name] for name in names}
        hosts = form.host_names() if "hosts" in form.changed_data else None
        if not change:
            fields.pop("name", None)
            fields.pop("slug", None)
            created = services.page_create(
                name=form.cleaned_data["name"],
                slug=form.cleaned_data["slug"],
                hosts=hosts or (),
                **fields,
            )
            obj.pk = created.pk
            obj.refresh_from_db()
            obj._state.adding = False
            return
        services.page_update(page=Page.objects.get(pk=obj.pk), hosts=hosts, **fields)
