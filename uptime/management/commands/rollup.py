from __future__ import annotations

import datetime as dt
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from incidents.models import Component, Page
from uptime import rollup


def parse_day(option: str, value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(
            f"{option}: '{value}' is not a date; write it as YYYY-MM-DD."
        ) from None


def find_component(public_id: str) -> Component:
    component = Component.objects.filter(public_id=public_id).first()
    if component is None:
        raise CommandError(f"No component '{public_id}' (give its 12-character id).")
    if component.is_group:
        raise CommandError(
            f"'{component.name}' is a group: groups have no record of their own; "
            "roll up its components."
        )
    return component


class Command(BaseCommand):
    help = (
        "Roll up the uptime record (days of each component, hours of each probe). "
        "Without options: what changed since the last run, as beat does every "
        "UPTIME_ROLLUP_SECONDS. With --from, --to or --component: rebuild those "
        "days (of the page's time zone) and their hours; rebuilding is idempotent."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--from", dest="first", metavar="DATE", help="First day (default: --to)."
        )
        parser.add_argument(
            "--to", dest="last", metavar="DATE", help="Last day (default: today)."
        )
        parser.add_argument(
            "--component",
            metavar="PUBLIC_ID",
            help="Only this component, with the probes feeding it.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        if not any(options[name] for name in ("first", "last", "component")):
            summary = rollup.uptime_rollup()
        else:
            summary = rollup.rollup_range(**self._range(options))
        elapsed = time.monotonic() - started
        if summary.first is None:
            self.stdout.write("Nothing to roll up.")
            return
        self.stdout.write(
            f"Rolled up {summary.first} to {summary.last}: {summary.days} component "
            f"days, {summary.probe_hours} probe hours and {summary.latency_hours} "
            f"response-time hours in {elapsed:.1f} s."
        )
        if summary.kept:
            self.stdout.write(
                f"Kept {summary.kept} days as they were: part of their raw results "
                "was pruned since they were rolled up."
            )

    def _range(self, options: dict[str, Any]) -> dict[str, Any]:
        today = timezone.now().astimezone(Page.get().tzinfo).date()
        last = parse_day("--to", options["last"]) if options["last"] else today
        first = parse_day("--from", options["first"]) if options["first"] else last
        if last > today:
            raise CommandError(
                f"--to {last} is after today ({today} in the page's time zone)."
            )
        if first > last:
            raise CommandError(f"--from {first} is after --to {last}.")
        ids = None
        if options["component"]:
            ids = [find_component(options["component"]).pk]
        return {"first": first, "last": last, "component_ids": ids}
