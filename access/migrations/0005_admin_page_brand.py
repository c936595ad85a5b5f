"""The admin role may manage each page's brand (visitor.Brand)."""

from django.db import migrations

from access.migrations._grants import admin_grant_apps


def grant(apps, schema_editor):
    admin_grant_apps(apps, ("visitor",))


class Migration(migrations.Migration):
    dependencies = [
        ("access", "0004_admin_page_hosts"),
        ("visitor", "0001_brand"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
