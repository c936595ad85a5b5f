"""The management API's write paths, with the person's own write token."""

from __future__ import annotations

from typing import Any

from incidents.models import Component, Incident, IncidentTemplate, Page
from notifications.models import Subscriber, SubscriberState
from probes.models import Probe
from tests.api_helpers import v1

from .base import (
    ADMINS,
    RESPONDERS,
    Check,
    Who,
    World,
    WritePath,
    fresh,
)

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


API = [
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
        "delete a component", "api", ADMINS, "incidents.component", api_component_delete
    ),
    WritePath(
        "rename a component group",
        "api",
        ADMINS,
        "incidents.component",
        api_group_rename,
    ),
    WritePath(
        "correct an update",
        "api",
        RESPONDERS,
        "incidents.incidentupdate",
        api_incident_update_edit,
    ),
    WritePath(
        "delete a template",
        "api",
        RESPONDERS,
        "incidents.incidenttemplate",
        api_template_delete,
    ),
    WritePath("change a probe", "api", ADMINS, "probes.probe", api_probe_change),
    WritePath("delete a probe", "api", ADMINS, "probes.probe", api_probe_delete),
    WritePath(
        "send a subscriber a test",
        "api",
        ADMINS,
        "notifications.subscriber",
        api_subscriber_send_test,
    ),
    WritePath(
        "resend a delivery",
        "api",
        ADMINS,
        "notifications.delivery",
        api_delivery_resend,
    ),
]
