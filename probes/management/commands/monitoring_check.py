from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from probes import monitoring, selectors


class Command(BaseCommand):
    help = (
        "Sweep for silent regions (beat does it every MONITORING_SWEEP_SECONDS), then "
        "report silent regions, components whose monitoring is degraded, and the "
        "beat's last dispatch. Exits 1 when monitoring is degraded or the beat has "
        "not dispatched for BEAT_STALE_AFTER_SECONDS: run it from cron, which "
        "watches the beat that cannot watch itself."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--no-sweep",
            action="store_true",
            help="Only report; do not decide components again or alert staff.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["no_sweep"]:
            swept = monitoring.monitoring_sweep()
            self.stdout.write(f"Decided {len(swept.decided)} components again.")
        overview = selectors.monitoring_overview()
        problems = []
        for silent in overview.silent:
            last = silent.last_result_at
            heard = f"last result {last:%Y-%m-%d %H:%M:%S} UTC" if last else "never"
            self.stdout.write(
                f"Silent: {silent.probe.name} from {silent.region} ({heard})."
            )
        for degraded in overview.degraded:
            problems.append(f"monitoring degraded for {degraded.name}")
        age = overview.beat_age
        if age is None:
            problems.append(
                "probes have never been dispatched (start beat and a worker "
                "reading the dispatch queue)"
            )
        elif age.total_seconds() > settings.BEAT_STALE_AFTER_SECONDS:
            problems.append(
                f"probes were last dispatched {age.total_seconds():.0f} s ago "
                "(beat, or the worker reading the dispatch queue, is stopped)"
            )
        else:
            self.stdout.write(f"Beat: dispatched {age.total_seconds():.0f} s ago.")
        if problems:
            text = "; ".join(problems)
            raise CommandError(f"{text[0].upper()}{text[1:]}.", returncode=1)
        self.stdout.write("Monitoring is healthy.")
