from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Subscribers and notifications"

    def ready(self) -> None:
        from incidents import events

        from .services.outbox import event_record

        events.listen(event_record)
