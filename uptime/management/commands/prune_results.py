from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from uptime import rollup


class Command(BaseCommand):
    help = (
        "Delete raw probe results older than PROBE_RESULT_RETENTION_DAYS whose days "
        "are rolled up for good (beat does it every RESULTS_PRUNE_SECONDS). Results "
        "not rolled up yet are kept; the uptime record is never pruned."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help="Keep this many days (default: PROBE_RESULT_RETENTION_DAYS).",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=10_000,
            help="Results deleted per transaction (default: 10000).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["days"]
        if days is not None and days < 1:
            raise CommandError(f"--days must be 1 or more, not {days}.")
        if options["batch_size"] < 1:
            raise CommandError(
                f"--batch-size must be 1 or more, not {options['batch_size']}."
            )
        pruned = rollup.results_prune(
            retention_days=days, batch_size=options["batch_size"]
        )
        assert pruned.cutoff is not None
        self.stdout.write(
            f"Deleted {pruned.deleted} results older than "
            f"{pruned.cutoff:%Y-%m-%d %H:%M} UTC "
            f"(keeping {days or settings.PROBE_RESULT_RETENTION_DAYS} days)."
        )
        if pruned.waiting:
            first, last = pruned.waiting[0], pruned.waiting[-1]
            self.stdout.write(
                f"Kept the results of {len(pruned.waiting)} days not rolled up yet, "
                f"from {first} to {last}: run manage.py rollup --from {first} "
                f"--to {last}, then prune again."
            )
