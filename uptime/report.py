"""The availability report staff download: per component over a date range, with
the incidents and maintenance of the range, from the daily rollups.

Dates are days of the page's time zone, both ends included, as the public bars.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Q

from incidents.models import Component, Incident, Page

from . import selectors
from .models import ComponentDay

# The longest range one report covers: a year and a day, for leap years.
MAX_DAYS = 366
SECONDS_FIELDS = selectors.SECONDS_FIELDS
CSV_HEADER = (
    "component",
    "component_id",
    "date",
    "availability_percent",
    *SECONDS_FIELDS,
    "checks",
    "checks_up",
    "incidents",
)


@dataclass
class ComponentFigures:
    component: Component
    days: list[ComponentDay] = field(default_factory=list)

    @property
    def availability(self) -> float | None:
        return selectors.availability(self.days)

    @property
    def seconds(self) -> dict[str, int]:
        return {
            name: sum(getattr(d, name) for d in self.days) for name in SECONDS_FIELDS
        }

    @property
    def checks(self) -> int:
        return sum(day.checks for day in self.days)

    @property
    def probe_availability(self) -> float | None:
        """The share of probe results that passed: what the monitor saw."""
        checks = self.checks
        if not checks:
            return None
        return sum(day.checks_up for day in self.days) / checks


@dataclass
class Report:
    start: dt.date
    end: dt.date
    time_zone: str
    components: list[ComponentFigures]
    incidents: list[Incident]
    maintenances: list[Incident]


def availability_report(
    *, start: dt.date, end: dt.date, components: Iterable[Component]
) -> Report:
    """The figures of each component (none given: every live one) and the incidents
    and maintenance that touched them within the range."""
    page = Page.get()
    chosen = list(components) or list(
        Component.objects.live().filter(is_group=False).order_by("name", "pk")
    )
    figures = {component.pk: ComponentFigures(component) for component in chosen}
    days = ComponentDay.objects.filter(
        component__in=figures, day__gte=start, day__lte=end
    ).order_by("day")
    for day in days:
        figures[day.component_id].days.append(day)
    opened = selectors.day_bounds(start, page.tzinfo)[0]
    closed = selectors.day_bounds(end, page.tzinfo)[1]
    touching = Incident.objects.filter(components__in=figures).distinct()
    ordered = touching.prefetch_related("components").order_by("started_at", "pk")
    incidents = ordered.incidents().filter(
        Q(resolved_at__isnull=True) | Q(resolved_at__gte=opened),
        started_at__lt=closed,
    )
    maintenances = ordered.maintenances().filter(
        scheduled_for__lt=closed, scheduled_until__gte=opened
    )
    return Report(
        start=start,
        end=end,
        time_zone=page.time_zone,
        components=list(figures.values()),
        incidents=list(incidents),
        maintenances=list(maintenances),
    )


def report_csv(report: Report) -> str:
    """One row per component and day, then one "total" row per component.

    A cell that a spreadsheet would run as a formula (a name starting with ``=``,
    ``+``, ``-`` or ``@``) is prefixed with a quote.
    """
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for figures in report.components:
        name, public_id = _cell(figures.component.name), figures.component.public_id
        for day in figures.days:
            writer.writerow(
                (
                    name,
                    public_id,
                    day.day.isoformat(),
                    _percent(selectors.availability([day])),
                    *(getattr(day, f) for f in SECONDS_FIELDS),
                    day.checks,
                    day.checks_up,
                    "; ".join(_cell(i["name"]) for i in day.incidents),
                )
            )
        writer.writerow(
            (
                name,
                public_id,
                "total",
                _percent(figures.availability),
                *figures.seconds.values(),
                figures.checks,
                sum(day.checks_up for day in figures.days),
                "",
            )
        )
    return out.getvalue()


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.3f}"


def _cell(text: str) -> str:
    return f"'{text}" if text[:1] in ("=", "+", "-", "@") else text
