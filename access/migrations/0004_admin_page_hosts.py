"""The admin role may manage the host names pages answer on (incidents.PageHost)."""

from django.db import migrations

from access.migrations._grants import admin_grant_apps


def grant(apps, schema_editor):
    admin_grant_apps(apps, ("incidents",))


class Migration(migrations.Migration):
    dependencies = [
        ("access", "0003_admin_every_permission"),
        ("incidents", "0008_pages"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
