from django.apps import AppConfig


class UptimeConfig(AppConfig):
    name = "uptime"
    verbose_name = "Uptime record"
    default_auto_field = "django.db.models.BigAutoField"
