"""``manage.py export``: the current configuration, in the format ``apply`` reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from configfile.export import export
from configfile.source import ConfigError


class Command(BaseCommand):
    help = (
        "Write the pages, components and groups, probes and incident "
        "templates as a YAML file for 'apply' (component statuses are live state "
        "and heartbeat tokens are secrets: neither is written)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--output", metavar="FILE", help="Write here instead of standard output."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            text = export()
        except ConfigError as exc:
            raise CommandError(str(exc)) from None
        if options["output"]:
            Path(options["output"]).write_text(text, encoding="utf-8")
        else:
            self.stdout.write(text, ending="")
