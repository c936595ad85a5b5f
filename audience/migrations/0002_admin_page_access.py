"""The admin role may set who views each page (audience.PageAccess)."""

from django.db import migrations

from access.migrations._grants import admin_grant_apps


def grant(apps, schema_editor):
    admin_grant_apps(apps, ("audience",))


class Migration(migrations.Migration):
    dependencies = [
        ("audience", "0001_initial"),
        ("access", "0004_admin_page_hosts"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
