"""The three roles Heliograph starts with, as Django groups an admin may edit.

- **viewer** reads the console and writes nothing. Subscribers' addresses,
  deliveries (which name them), tokens, users and the audit log are not theirs
  to read.
- **responder** runs incidents: opens and updates them, posts postmortems,
  schedules maintenance, sets components' statuses and pins, uses and edits
  incident templates, and makes API tokens for themselves. Not the page settings,
  components' structure, users, tokens of others, probe configurations,
  integrations or subscribers.
- **admin** may do everything.

The groups are made by a migration (``access/migrations``) from the lists below as
they were then; later migrations grant what later versions add.
"""

from __future__ import annotations

from typing import Any

VIEWER = "viewer"
RESPONDER = "responder"
ADMIN = "admin"
ROLES = (VIEWER, RESPONDER, ADMIN)

VIEWER_PERMISSIONS = (
    "incidents.view_page",
    "incidents.view_component",
    "incidents.view_componentstatuschange",
    "incidents.view_incident",
    "incidents.view_incidentupdate",
    "incidents.view_incidenttemplate",
    "uptime.view_componentday",
    "uptime.view_componentlatencyhour",
    "probes.view_probe",
    "probes.view_proberesult",
    "probes.view_regionstate",
    "probes.view_componentverdict",
    "probes.view_firingalert",
    "notifications.view_event",
    "integrations.view_integration",
)

RESPONDER_PERMISSIONS = (
    *VIEWER_PERMISSIONS,
    "incidents.add_incident",
    "incidents.change_incident",
    "incidents.add_incidentupdate",
    "incidents.change_incidentupdate",
    "incidents.set_component_status",
    "incidents.pin_component",
    "incidents.add_incidenttemplate",
    "incidents.change_incidenttemplate",
    "incidents.delete_incidenttemplate",
    "tokens.view_apitoken",
    "tokens.add_apitoken",
    "tokens.change_apitoken",
)

ROLE_PERMISSIONS: dict[str, tuple[str, ...] | None] = {
    VIEWER: VIEWER_PERMISSIONS,
    RESPONDER: RESPONDER_PERMISSIONS,
    ADMIN: None,  # every permission
}


def roles_create(
    group_model: Any,
    permission_model: Any,
    role_permissions: dict[str, tuple[str, ...] | None] | None = None,
) -> None:
    """Make the roles that do not exist yet with their permissions; existing ones
    are left as admins made them. Takes the models (and the lists) so a migration
    can pass its own (historical) ones."""
    every = permission_model.objects.select_related("content_type")
    by_name = {f"{p.content_type.app_label}.{p.codename}": p for p in every}
    for role, names in (role_permissions or ROLE_PERMISSIONS).items():
        group, created = group_model.objects.get_or_create(name=role)
        if not created:
            continue
        if names is None:
            group.permissions.set(by_name.values())
            continue
        unknown = sorted(set(names) - set(by_name))
        if unknown:
            raise LookupError(f"role {role}: no such permissions {unknown}")
        group.permissions.set(by_name[name] for name in names)
