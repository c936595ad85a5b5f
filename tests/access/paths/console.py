"""The console's write paths: forms, actions and the stock admin's pages."""

from __future__ import annotations

import datetime as dt
import json

from django.contrib.auth.models import Group, User
from django.utils import timezone

from incidents.models import Component, Incident, IncidentTemplate, Page
from integrations.models import Integration
from notifications.models import SubscriberState
from probes.models import Probe
from tokens.models import ApiToken
from visitor.models import Brand

from .base import (
    ADMINS,
    RESPONDERS,
    Check,
    Who,
    World,
    WritePath,
    admin_url,
    fresh,
    when,
)

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
        "pages": [page.pk for page in world.api.pages.all()],
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
        data |= {"pages": [page.pk for page in world.api.pages.all()]}
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
    data = {"name": "Renamed", "slug": page.slug, "url": page.url, "time_zone": "UTC"}
    response = who.console.post(admin_url("incidents_page_change", page.pk), data)
    return response.status_code, lambda: Page.get().name == "Renamed"


def console_brand_change(who: Who, world: World) -> tuple[int, Check]:
    page = Page.get()
    data = {"page": page.pk, "colour": "#1e3a5f", "header_links": ""}
    response = who.console.post(admin_url("visitor_brand_add"), data)
    return response.status_code, Brand.objects.filter(colour="#1e3a5f").exists


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


CONSOLE = [
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
    WritePath(
        "change the page's brand",
        "console",
        ADMINS,
        "visitor.brand",
        console_brand_change,
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
        "rename an incident",
        "console",
        RESPONDERS,
        "incidents.incident",
        console_incident_rename,
    ),
    WritePath(
        "delete a template",
        "console",
        RESPONDERS,
        "incidents.incidenttemplate",
        console_template_delete,
    ),
    WritePath(
        "delete a probe", "console", ADMINS, "probes.probe", console_probe_delete
    ),
    WritePath(
        "disable an integration",
        "console",
        ADMINS,
        "integrations.integration",
        console_integration_disable,
    ),
    WritePath(
        "resend a delivery",
        "console",
        ADMINS,
        "notifications.delivery",
        console_delivery_resend,
    ),
]
