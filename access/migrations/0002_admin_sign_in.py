"""The admin role also holds the sign-in apps' permissions (the sign-in policy,
two-factor devices, single sign-on applications, lockouts), which came after the
roles were made."""

from django.db import migrations

from access.migrations._grants import admin_grant_apps

APPS = ("accounts", "account", "mfa", "socialaccount", "axes")


def grant(apps, schema_editor):
    admin_grant_apps(apps, APPS)


class Migration(migrations.Migration):
    dependencies = [
        ("access", "0001_roles"),
        ("accounts", "0001_initial"),
        # The first migrations make the models whose permissions matter; naming
        # the first keeps this valid across the versions pyproject.toml allows.
        ("account", "__first__"),
        ("mfa", "__first__"),
        ("socialaccount", "__first__"),
        ("axes", "0008_accessfailurelog"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
