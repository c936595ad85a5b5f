from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from visitor.snapshot.export import snapshot_export
from visitor.snapshot.publish import snapshot_publish


class Command(BaseCommand):
    help = (
        "Render the public page, API and feeds into the snapshot now; with --to, "
        "also write the whole public site into a folder for a static web server."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--all", action="store_true", help="Render every incident's page too."
        )
        parser.add_argument(
            "--to", type=Path, metavar="DIR", help="Export the public site into DIR."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        manifest = snapshot_publish(full=options["all"])
        assert manifest is not None  # no request time: never skipped
        elapsed = (time.monotonic() - started) * 1000
        self.stdout.write(
            f"Published snapshot {manifest.version}: "
            f"{len(manifest.artifacts)} artifacts in {elapsed:.0f} ms."
        )
        if options["to"]:
            written = snapshot_export(to=options["to"])
            self.stdout.write(f"Exported {len(written)} files to {options['to']}.")
