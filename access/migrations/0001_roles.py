"""The three roles, as groups holding the permissions of ``access.roles``."""

from django.db import migrations

from access.migrations._grants import ensure_permissions
from access.roles import ROLE_PERMISSIONS, roles_create


def create_roles(apps, schema_editor):
    ensure_permissions(apps)
    roles_create(apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"))


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
