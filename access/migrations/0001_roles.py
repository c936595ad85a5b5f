"""The three roles, as groups holding the permissions of ``access.roles``."""

from django.db import migrations

from access.migrations._grants import ensure_permissions
from access.roles import ADMIN, RESPONDER, VIEWER, roles_create

# The roles as they were when this migration was written, not ``access.roles`` as it
# is now: a model that later moved (the uptime record, to the uptime app, whose first
# migration carries its permissions and their grants along) is named as it was then.
VIEWER_PERMISSIONS = (
    "incidents.view_page",
    "incidents.view_component",
    "incidents.view_componentstatuschange",
    "incidents.view_incident",
    "incidents.view_incidentupdate",
    "incidents.view_incidenttemplate",
    "incidents.view_componentday",
    "incidents.view_componentlatencyhour",
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
ROLE_PERMISSIONS = {
    VIEWER: VIEWER_PERMISSIONS,
    RESPONDER: RESPONDER_PERMISSIONS,
    ADMIN: None,
}


def create_roles(apps, schema_editor):
    ensure_permissions(apps)
    roles_create(
        apps.get_model("auth", "Group"),
        apps.get_model("auth", "Permission"),
        ROLE_PERMISSIONS,
    )


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(
        name__in=list(ROLE_PERMISSIONS)
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("admin", "0003_logentry_add_action_flag_choices"),
        ("sessions", "0001_initial"),
        ("incidents", "0005_component_permissions"),
        ("probes", "0004_alert_probes"),
        ("notifications", "0001_initial"),
        ("tokens", "0002_token_permissions"),
        ("integrations", "0001_initial"),
        ("audit", "0002_append_only"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
