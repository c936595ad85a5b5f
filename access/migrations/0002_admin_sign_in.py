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
        ("account", "0009_emailaddress_unique_primary_email"),
        ("mfa", "0003_authenticator_type_uniq"),
        ("socialaccount", "0006_alter_socialaccount_extra_data"),
        ("axes", "0009_add_session_hash"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
