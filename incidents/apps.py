from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = "Status page"

    def ready(self) -> None:
        from . import events
        from .snapshot.publish import on_change

        events.listen(on_change)
