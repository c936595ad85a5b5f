from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from incidents import services


class Command(BaseCommand):
    help = "Start and complete scheduled maintenances whose time has come."

    def handle(self, *args: Any, **options: Any) -> None:
        updates = services.maintenance_advance()
        for update in updates:
            self.stdout.write(f"{update.incident.name}: {update.status}")
        self.stdout.write(f"{len(updates)} maintenance update(s) posted.")
