from __future__ import annotations

from django.apps import AppConfig


class VisitorConfig(AppConfig):
    name = "visitor"
    verbose_name = "Public page"

    def ready(self) -> None:
        from incidents import events

        from .snapshot.publish import on_change

        events.listen(on_change)  # every change the page shows is published
