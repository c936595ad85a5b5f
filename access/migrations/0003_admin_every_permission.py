"""The admin role may do everything: it also holds the permissions of the models
that came after the roles were made (the probes' beat ticks and dropped slots, the
sign-in lockouts' expirations)."""

from django.db import migrations

from access.migrations._grants import admin_grant_apps

APPS = ("probes", "axes", "uptime")


def grant(apps, schema_editor):
    admin_grant_apps(apps, APPS)


class Migration(migrations.Migration):
    dependencies = [
        ("access", "0002_admin_sign_in"),
        ("probes", "0007_region_skipped_since"),
        ("uptime", "0001_initial"),
        # Named exactly: "__latest__" would move with each axes release and leave
        # a database that applied this migration inconsistent.
        ("axes", "0010_accessattemptexpiration"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
