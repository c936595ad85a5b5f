"""``manage.py apply CONFIG.yaml``: the page as a configuration file says.

Lives in ``probes`` rather than ``incidents`` because the file holds probes too,
and ``incidents`` never imports ``probes``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from configfile.apply import apply_file
from configfile.source import ConfigError, read


class Command(BaseCommand):
    help = (
        "Create or update the pages, components and groups, probes and "
        "incident templates from a YAML file (see 'Configuration as code' in the "
        "README). Objects the file does not name are left alone unless --prune. "
        "Nothing is written when any part of the file is refused."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("config", metavar="CONFIG.yaml", help="The file to apply.")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Print the changes and the problems a real run would meet; "
            "write nothing.",
        )
        parser.add_argument(
            "--prune",
            action="store_true",
            help="Also delete components, groups, probes and templates the file "
            "does not name.",
        )
        parser.add_argument(
            "--as",
            dest="as_user",
            metavar="USERNAME",
            help="Apply as this staff user: refused unless their role grants every "
            "change, and recorded under their name in the audit log (default: "
            "the operator, recorded as the command line).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["config"])
        try:
            text = read(path)
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"{path}: cannot read it: {exc}") from None
        except ConfigError as exc:
            raise CommandError(f"{exc}\nNothing was written.") from None
        user = _staff_user(options["as_user"])
        try:
            outcome = apply_file(
                text,
                str(path),
                prune=options["prune"],
                dry_run=options["dry_run"],
                user=user,
            )
        except ConfigError as exc:
            raise CommandError(f"{exc}\nNothing was written.") from None
        changes = outcome.plan.changes
        for change in changes:
            for line in change.lines():
                self.stdout.write(line)
        for note in outcome.notes:
            self.stdout.write(note)
        if not changes:
            self.stdout.write("No changes.")
        elif options["dry_run"]:
            self.stdout.write(f"Dry run: {outcome.plan.summary()}; nothing written.")
        else:
            self.stdout.write(self.style.SUCCESS(f"Applied: {outcome.plan.summary()}."))


def _staff_user(username: str | None) -> Any:
    if username is None:
        return None
    user = get_user_model().objects.filter(username=username).first()
    if user is None or not user.is_active or not user.is_staff:
        raise CommandError(
            f"--as {username}: no active staff user has this name. Nothing was written."
        )
    return user
