"""Every write path a person can take, for the role matrix and the audit walk.

A path is an attempt made by someone (signed in to the console, holding a write
token of their own, or naming themselves to a command), and a check of whether it
was written. The roles that may take it are the table's answer: ``ROLES_FOR``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from incidents.models import Component, Incident, IncidentTemplate, Page
from integrations.models import Integration
from notifications.models import Delivery, Subscriber, SubscriberState
from probes.models import Probe
from tests.api_helpers import v1
from tokens.models import ApiToken

ALL = frozenset({"viewer", "responder", "admin"})
RESPONDERS = frozenset({"responder", "admin"})
ADMINS = frozenset({"admin"})


@dataclass
class Who:
    role: str
    user: User
    console: Client
    api: APIClient
    folder: Path


@dataclass
class World:
    """What exists before each attempt, made by the system."""

    group: Component
    api: Component
    incident: Incident
    resolved: Incident
    subscriber: Subscriber
    other_user: User
    other_token: ApiToken
    probe: Probe
    template: IncidentTemplate
    delivery: Delivery
    integration: Integration


Check = Callable[[], bool]


@dataclass(frozen=True)
class WritePath:
    name: str
    via: str  # console, api, command
    roles: frozenset[str]
    object_type: str  # what the audit log names
    attempt: Callable[[Who, World], tuple[int, Check]]

    def __str__(self) -> str:
        return f"{self.via}: {self.name}"


def admin_url(name: str, *args: Any) -> str:
    return reverse(f"admin:{name}", args=args)


def fresh(row: Any) -> Any:
    return type(row).objects.get(pk=row.pk)


def when(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


# The console ---------------------------------------------------------------------


def console_component_add(who: Who, world: World) -> tuple[int, Check]:
    data = {"name": "Billing", "status": "operational", "showcase": "on"}
    response = who.console.post(admin_url("incidents_component_add"), data)
    return response.status_code, Component.objects.filter(name="Billing").exists


def console_component_rename(who: Who, world: World) -> tuple[int, Check]:
    data = {
        "name": "Public API",
        "status": world.api.status,
        "position": world.api.position,
        "showcase": "on",
    }
    url = admin_url("incidents_component_change", world.api.pk)
    response = who.console.post(url, data)
    return response.status_code, lambda: fresh(world.api).name == "Public API"


def console_component_status(who: Who, world: World) -> tuple[int, Check]:
    data = {"action": "set_major_outage", "_selected_action": [world.api.pk]}
    response = who.console.post(admin_url("incidents_component_changelist"), data)
    return response.status_code, lambda: fresh(world.api).status == "major_outage"


def console_component_pin(who: Who, world: World) -> tuple[int, Check]:
    # What a responder's form holds: the status and the pin, the rest read-only.
    data = {"status": world.api.status, "pinned": "on"}
    if who.role == "admin":
        data |= {"name": "API", "position": world.api.position, "showcase": "on"}
    url = admin_url("incidents_component_change", world.api.pk)
    response = who.console.post(url, data)
    return response.status_code, lambda: fresh(world.api).pinned


def console_component_delete(who: Who, world: World) -> tuple[int, Check]:
    data = {"action": "delete_components", "_selected_action": [world.api.pk]}
    response = who.console.post(admin_url("incidents_component_changelist"), data)
    return response.status_code, lambda: fresh(world.api).deleted_at is not None


def console_incident_open(who: Who, world: World) -> tuple[int, Check]:
    data = {
        "name": "Checkout failing",
        "status": "investigating",
        "body": "Looking into it.",
        f"component_{world.api.pk}": "major_outage",
    }
    response = who.console.post(admin_url("incidents_incident_add"), data)
    return response.status_code, Incident.objects.filter(name="Checkout failing").exists


def console_incident_update(who: Who, world: World) -> tuple[int, Check]:
    data = {
        "_action": "update",
        "update-status": "identified",
        "update-body": "Found it.",
    }
    url = admin_url("incidents_incident_change", world.incident.pk)
    response = who.console.post(url, data)
    return response.status_code, lambda: fresh(world.incident).status == "identified"


def console_incident_postmortem(who: Who, world: World) -> tuple[int, Check]:
    data = {"_action": "postmortem", "postmortem-postmortem_body": "What happened"}
    url = admin_url("incidents_incident_change", world.resolved.pk)
    response = who.console.post(url, data)
    return response.status_code, lambda: bool(fresh(world.resolved).postmortem_body)


def console_incident_delete(who: Who, world: World) -> tuple[int, Check]:
    url = admin_url("incidents_incident_delete", world.resolved.pk)
    response = who.console.post(url, {"post": "yes"})
    return (
        response.status_code,
        lambda: not Incident.objects.filter(pk=world.resolved.pk).exists(),
    )


def console_maintenance_schedule(who: Who, world: World) -> tuple[int, Check]:
    start = timezone.now() + dt.timedelta(days=1)
    data = {
        "name": "Database upgrade",
        "scheduled_for": when(start),
        "scheduled_until": when(start + dt.timedelta(hours=1)),
        "components": [world.api.pk],
        "body": "We upgrade the database.",
        "auto_start": "on",
        "auto_complete": "on",
    }
    response = who.console.post(admin_url("incidents_incident_schedule"), data)
    return response.status_code, Incident.objects.filter(name="Database upgrade").exists


def console_template_add(who: Who, world: World) -> tuple[int, Check]:
    data = {
        "name": "Login down",
        "title": "Sign-in failing",
        "body": "We are looking into it.",
        "update_status": "investigating",
        "should_send_notifications": "on",
    }
    response = who.console.post(admin_url("incidents_incidenttemplate_add"), data)
    return response.status_code, IncidentTemplate.objects.filter(
        name="Login down"
    ).exists


def console_page_settings(who: Who, world: World) -> tuple[int, Check]:
    page = Page.get()
    data = {"name": "Renamed", "url": page.url, "time_zone": "UTC"}
    response = who.console.post(admin_url("incidents_page_change", page.pk), data)
    return response.status_code, lambda: Page.get().name == "Renamed"


def console_probe_add(who: Who, world: World) -> tuple[int, Check]:
    data = {
        "name": "Front page",
        "kind": "http",
        "component": world.api.pk,
        "config": json.dumps({"url": "http://127.0.0.1:9/"}),
        "down_status": "major_outage",
        "interval_seconds": 60,
        "timeout_seconds": 10,
        "failures_to_down": 3,
        "successes_to_up": 2,
        "regions": json.dumps(["local"]),
        "quorum": "",
        "enabled": "on",
    }
    response = who.console.post(admin_url("probes_probe_add"), data)
    return response.status_code, Probe.objects.filter(name="Front page").exists


def console_subscriber_unsubscribe(who: Who, world: World) -> tuple[int, Check]:
    data = {"action": "unsubscribe", "_selected_action": [world.subscriber.pk]}
    url = admin_url("notifications_subscriber_changelist")
    response = who.console.post(url, data)
    return (
        response.status_code,
        lambda: fresh(world.subscriber).state == SubscriberState.UNSUBSCRIBED,
    )


def console_token_for_self(who: Who, world: World) -> tuple[int, Check]:
    data = {"user": who.user.pk, "name": "mine", "scope": "write"}
    response = who.console.post(admin_url("tokens_apitoken_add"), data)
    return response.status_code, ApiToken.objects.filter(name="mine").exists


def console_token_for_other(who: Who, world: World) -> tuple[int, Check]:
    data = {"user": world.other_user.pk, "name": "theirs", "scope": "write"}
    response = who.console.post(admin_url("tokens_apitoken_add"), data)
    return response.status_code, ApiToken.objects.filter(name="theirs").exists


def console_token_revoke_other(who: Who, world: World) -> tuple[int, Check]:
    data = {"action": "revoke", "_selected_action": [world.other_token.pk]}
    response = who.console.post(admin_url("tokens_apitoken_changelist"), data)
    return response.status_code, lambda: fresh(world.other_token).is_revoked


def console_integration_add(who: Who, world: World) -> tuple[int, Check]:
    data = {"name": "Prometheus", "kind": "alertmanager"}
    response = who.console.post(admin_url("integrations_integration_add"), data)
    return response.status_code, Integration.objects.filter(name="Prometheus").exists


def console_user_add(who: Who, world: World) -> tuple[int, Check]:
    data = {
        "username": "newcomer",
        "usable_password": "true",
        "password1": "a-long-Passphrase-42",
        "password2": "a-long-Passphrase-42",
    }
    response = who.console.post(admin_url("auth_user_add"), data)
    return response.status_code, User.objects.filter(username="newcomer").exists


def console_role_change(who: Who, world: World) -> tuple[int, Check]:
    viewer = Group.objects.get(name="viewer")
    url = admin_url("auth_group_change", viewer.pk)
    response = who.console.post(url, {"name": "viewer", "permissions": []})
    return response.status_code, lambda: not viewer.permissions.exists()


def console_incident_rename(who: Who, world: World) -> tuple[int, Check]:
    data = {"_action": "edit", "edit-name": "Errors on checkout"}
    url = admin_url("incidents_incident_change", world.incident.pk)
    response = who.console.post(url, data)
    return (
        response.status_code,
        lambda: fresh(world.incident).name == ("Errors on checkout"),
    )


def console_template_delete(who: Who, world: World) -> tuple[int, Check]:
    url = admin_url("incidents_incidenttemplate_delete", world.template.pk)
    response = who.console.post(url, {"post": "yes"})
    return (
        response.status_code,
        lambda: not IncidentTemplate.objects.filter(pk=world.template.pk).exists(),
    )


def console_probe_delete(who: Who, world: World) -> tuple[int, Check]:
    url = admin_url("probes_probe_delete", world.probe.pk)
    response = who.console.post(url, {"post": "yes"})
    return (
        response.status_code,
        lambda: not Probe.objects.filter(pk=world.probe.pk).exists(),
    )


def console_integration_disable(who: Who, world: World) -> tuple[int, Check]:
    url = admin_url("integrations_integration_change", world.integration.pk)
    response = who.console.post(url, {"name": world.integration.name})
    return response.status_code, lambda: not fresh(world.integration).enabled


def console_delivery_resend(who: Who, world: World) -> tuple[int, Check]:
    data = {"action": "resend", "_selected_action": [world.delivery.pk]}
    response = who.console.post(admin_url("notifications_delivery_changelist"), data)
    return response.status_code, lambda: fresh(world.delivery).state == "pending"


# The management API --------------------------------------------------------------


def _api(who: Who, method: str, path: str, data: Any = None) -> Any:
    call = getattr(who.api, method)
    return call(v1(path), data, format="json")


def api_component_create(who: Who, world: World) -> tuple[int, Check]:
    response = _api(who, "post", "components", {"component": {"name": "Billing"}})
    return response.status_code, Component.objects.filter(name="Billing").exists


def api_component_rename(who: Who, world: World) -> tuple[int, Check]:
    path = f"components/{world.api.public_id}"
    response = _api(who, "patch", path, {"component": {"name": "Public API"}})
    return response.status_code, lambda: fresh(world.api).name == "Public API"


def api_component_status(who: Who, world: World) -> tuple[int, Check]:
    path = f"components/{world.api.public_id}"
    response = _api(who, "patch", path, {"component": {"status": "major_outage"}})
    return response.status_code, lambda: fresh(world.api).status == "major_outage"


def api_component_pin(who: Who, world: World) -> tuple[int, Check]:
    path = f"components/{world.api.public_id}"
    response = _api(who, "patch", path, {"component": {"pinned": True}})
    return response.status_code, lambda: fresh(world.api).pinned


def api_group_create(who: Who, world: World) -> tuple[int, Check]:
    body = {"component_group": {"name": "Payments", "components": []}}
    response = _api(who, "post", "component-groups", body)
    return response.status_code, Component.objects.filter(name="Payments").exists


def api_incident_create(who: Who, world: World) -> tuple[int, Check]:
    body = {"incident": {"name": "Checkout failing", "body": "Looking into it."}}
    response = _api(who, "post", "incidents", body)
    return response.status_code, Incident.objects.filter(name="Checkout failing").exists


def api_incident_update(who: Who, world: World) -> tuple[int, Check]:
    path = f"incidents/{world.incident.public_id}"
    body = {"incident": {"status": "identified", "body": "Found it."}}
    response = _api(who, "patch", path, body)
    return response.status_code, lambda: fresh(world.incident).status == "identified"


def api_incident_delete(who: Who, world: World) -> tuple[int, Check]:
    response = _api(who, "delete", f"incidents/{world.resolved.public_id}")
    return (
        response.status_code,
        lambda: not Incident.objects.filter(pk=world.resolved.pk).exists(),
    )


def api_postmortem(who: Who, world: World) -> tuple[int, Check]:
    path = f"incidents/{world.resolved.public_id}/postmortem/publish"
    response = _api(who, "put", path, {"postmortem": {"body": "What happened"}})
    return response.status_code, lambda: bool(fresh(world.resolved).postmortem_body)


def api_template_create(who: Who, world: World) -> tuple[int, Check]:
    body = {"template": {"name": "Login down", "title": "Sign-in failing"}}
    response = _api(who, "post", "incident_templates", body)
    return response.status_code, IncidentTemplate.objects.filter(
        name="Login down"
    ).exists


def api_page_settings(who: Who, world: World) -> tuple[int, Check]:
    response = who.api.patch(v1(), {"page": {"name": "Renamed"}}, format="json")
    return response.status_code, lambda: Page.get().name == "Renamed"


def api_probe_create(who: Who, world: World) -> tuple[int, Check]:
    body = {
        "probe": {
            "name": "Front page",
            "kind": "http",
            "component_id": world.api.public_id,
            "config": {"url": "http://127.0.0.1:9/"},
            "regions": ["local"],
        }
    }
    response = _api(who, "post", "probes", body)
    return response.status_code, Probe.objects.filter(name="Front page").exists


def api_subscriber_create(who: Who, world: World) -> tuple[int, Check]:
    body = {
        "subscriber": {
            "email": "new@example.com",
            "skip_confirmation_notification": True,
        }
    }
    response = _api(who, "post", "subscribers", body)
    return response.status_code, Subscriber.objects.filter(
        email="new@example.com"
    ).exists


def api_subscriber_unsubscribe(who: Who, world: World) -> tuple[int, Check]:
    response = _api(who, "delete", f"subscribers/{world.subscriber.public_id}")
    return (
        response.status_code,
        lambda: fresh(world.subscriber).state == SubscriberState.UNSUBSCRIBED,
    )


def api_component_delete(who: Who, world: World) -> tuple[int, Check]:
    response = _api(who, "delete", f"components/{world.api.public_id}")
    return response.status_code, lambda: fresh(world.api).deleted_at is not None


def api_group_rename(who: Who, world: World) -> tuple[int, Check]:
    path = f"component-groups/{world.group.public_id}"
    response = _api(who, "patch", path, {"component_group": {"name": "Core"}})
    return response.status_code, lambda: fresh(world.group).name == "Core"


def api_incident_update_edit(who: Who, world: World) -> tuple[int, Check]:
    update = world.incident.updates.get()
    path = f"incidents/{world.incident.public_id}/incident_updates/{update.public_id}"
    response = _api(who, "patch", path, {"incident_update": {"body": "Corrected."}})
    return response.status_code, lambda: fresh(update).body == "Corrected."


def api_template_delete(who: Who, world: World) -> tuple[int, Check]:
    response = _api(who, "delete", f"incident_templates/{world.template.public_id}")
    return (
        response.status_code,
        lambda: not IncidentTemplate.objects.filter(pk=world.template.pk).exists(),
    )


def api_probe_change(who: Who, world: World) -> tuple[int, Check]:
    path = f"probes/{world.probe.public_id}"
    response = _api(who, "patch", path, {"probe": {"enabled": False}})
    return response.status_code, lambda: not fresh(world.probe).enabled


def api_probe_delete(who: Who, world: World) -> tuple[int, Check]:
    response = _api(who, "delete", f"probes/{world.probe.public_id}")
    return (
        response.status_code,
        lambda: not Probe.objects.filter(pk=world.probe.pk).exists(),
    )


def api_subscriber_send_test(who: Who, world: World) -> tuple[int, Check]:
    path = f"subscribers/{world.subscriber.public_id}/send_test"
    response = _api(who, "post", path)
    return response.status_code, lambda: world.subscriber.deliveries.count() > 1


def api_delivery_resend(who: Who, world: World) -> tuple[int, Check]:
    response = _api(who, "post", f"deliveries/{world.delivery.public_id}/resend")
    return response.status_code, lambda: fresh(world.delivery).state == "pending"


# Commands ------------------------------------------------------------------------


def _apply(who: Who, text: str) -> int:
    config = who.folder / "heliograph.yaml"
    config.write_text(text)
    try:
        call_command("apply", str(config), "--as", who.user.username)
    except CommandError:
        return 403
    return 0


def command_apply_page(who: Who, world: World) -> tuple[int, Check]:
    code = _apply(who, "version: 1\npage:\n  name: Renamed\n")
    return code, lambda: Page.get().name == "Renamed"


def command_apply_template(who: Who, world: World) -> tuple[int, Check]:
    text = "version: 1\ntemplates:\n  - name: Login down\n    title: Sign-in failing\n"
    code = _apply(who, text)
    return code, IncidentTemplate.objects.filter(name="Login down").exists


PATHS = [
    WritePath(
        "add a component",
        "console",
        ADMINS,
        "incidents.component",
        console_component_add,
    ),
    WritePath(
        "rename a component",
        "console",
        ADMINS,
        "incidents.component",
        console_component_rename,
    ),
    WritePath(
        "set a component's status",
        "console",
        RESPONDERS,
        "incidents.component",
        console_component_status,
    ),
    WritePath(
        "pin a component",
        "console",
        RESPONDERS,
        "incidents.component",
        console_component_pin,
    ),
    WritePath(
        "delete a component",
        "console",
        ADMINS,
        "incidents.component",
        console_component_delete,
    ),
    WritePath(
        "open an incident",
        "console",
        RESPONDERS,
        "incidents.incident",
        console_incident_open,
    ),
    WritePath(
        "post an update",
        "console",
        RESPONDERS,
        "incidents.incident",
        console_incident_update,
    ),
    WritePath(
        "publish a postmortem",
        "console",
        RESPONDERS,
        "incidents.incident",
        console_incident_postmortem,
    ),
    WritePath(
        "delete an incident",
        "console",
        ADMINS,
        "incidents.incident",
        console_incident_delete,
    ),
    WritePath(
        "schedule a maintenance",
        "console",
        RESPONDERS,
        "incidents.incident",
        console_maintenance_schedule,
    ),
    WritePath(
        "add a template",
        "console",
        RESPONDERS,
        "incidents.incidenttemplate",
        console_template_add,
    ),
    WritePath(
        "change the page settings",
        "console",
        ADMINS,
        "incidents.page",
        console_page_settings,
    ),
    WritePath("add a probe", "console", ADMINS, "probes.probe", console_probe_add),
    WritePath(
        "unsubscribe a subscriber",
        "console",
        ADMINS,
        "notifications.subscriber",
        console_subscriber_unsubscribe,
    ),
    WritePath(
        "make an API token for oneself",
        "console",
        RESPONDERS,
        "tokens.apitoken",
        console_token_for_self,
    ),
    WritePath(
        "make an API token for another",
        "console",
        ADMINS,
        "tokens.apitoken",
        console_token_for_other,
    ),
    WritePath(
        "revoke another's API token",
        "console",
        ADMINS,
        "tokens.apitoken",
        console_token_revoke_other,
    ),
    WritePath(
        "add an integration",
        "console",
        ADMINS,
        "integrations.integration",
        console_integration_add,
    ),
    WritePath("add a user", "console", ADMINS, "auth.user", console_user_add),
    WritePath(
        "change a role's permissions",
        "console",
        ADMINS,
        "auth.group",
        console_role_change,
    ),
    WritePath(
        "create a component", "api", ADMINS, "incidents.component", api_component_create
    ),
    WritePath(
        "rename a component", "api", ADMINS, "incidents.component", api_component_rename
    ),
    WritePath(
        "set a component's status",
        "api",
        RESPONDERS,
        "incidents.component",
        api_component_status,
    ),
    WritePath(
        "pin a component", "api", RESPONDERS, "incidents.component", api_component_pin
    ),
    WritePath(
        "create a component group",
        "api",
        ADMINS,
        "incidents.component",
        api_group_create,
    ),
    WritePath(
        "open an incident", "api", RESPONDERS, "incidents.incident", api_incident_create
    ),
    WritePath(
        "post an update", "api", RESPONDERS, "incidents.incident", api_incident_update
    ),
    WritePath(
        "delete an incident", "api", ADMINS, "incidents.incident", api_incident_delete
    ),
    WritePath(
        "publish a postmortem", "api", RESPONDERS, "incidents.incident", api_postmortem
    ),
    WritePath(
        "create a template",
        "api",
        RESPONDERS,
        "incidents.incidenttemplate",
        api_template_create,
    ),
    WritePath(
        "change the page settings", "api", ADMINS, "incidents.page", api_page_settings
    ),
    WritePath("create a probe", "api", ADMINS, "probes.probe", api_probe_create),
    WritePath(
        "create a subscriber",
        "api",
        ADMINS,
        "notifications.subscriber",
        api_subscriber_create,
    ),
    WritePath(
        "unsubscribe a subscriber",
        "api",
        ADMINS,
        "notifications.subscriber",
        api_subscriber_unsubscribe,
    ),
    WritePath(
        "apply the page settings",
        "command",
        ADMINS,
        "incidents.page",
        command_apply_page,
    ),
    WritePath(
        "apply a template",
        "command",
        RESPONDERS,
        "incidents.incidenttemplate",
        command_apply_template,
    ),
]
