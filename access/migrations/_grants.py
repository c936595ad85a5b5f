"""What the roles migrations share (not a migration: its name starts with _)."""

from django.contrib.auth.management import create_permissions


def ensure_permissions(apps):
    # Permissions are made after migrations run; the roles need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None


def admin_grant_apps(apps, labels):
    """Give the admin role every permission of these apps, if it still exists."""
    ensure_permissions(apps)
    admin = apps.get_model("auth", "Group").objects.filter(name="admin").first()
    if admin is None:
        return
    permission = apps.get_model("auth", "Permission")
    admin.permissions.add(
        *permission.objects.filter(content_type__app_label__in=labels)
    )
