"""The record drawn server-side: the 90-day bars as a list of focusable days whose
figures the stylesheet shows as tooltips, and the response-time charts as inline
SVG, whose tooltips are SVG ``<title>`` elements. No JavaScript.

Built with string joins rather than template loops: the public page draws 90 bars for
each of up to a thousand components on every publish. Every text that comes from the
database (names) is escaped; the rest is numbers and dates formatted here.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import zoneinfo
from collections.abc import Callable, Sequence
from html import escape

from django.utils.safestring import SafeString, mark_safe

from incidents.models import ComponentStatus
from uptime import selectors as uptime
from visitor.badges import STATUS_COLOURS

# The page's palette (white text keeps 4.5:1 on each), and a light grey for no data
# that no status colour can be mistaken for.
NO_DATA_COLOUR = "#c4ccd4"
DAY_COLOURS = {**STATUS_COLOURS, uptime.NO_DATA: NO_DATA_COLOUR}
DAY_NAMES = {
    ComponentStatus.OPERATIONAL: "Operational",
    ComponentStatus.DEGRADED_PERFORMANCE: "Degraded performance",
    ComponentStatus.PARTIAL_OUTAGE: "Partial outage",
    ComponentStatus.MAJOR_OUTAGE: "Major outage",
    ComponentStatus.UNDER_MAINTENANCE: "Maintenance",
    uptime.NO_DATA: "No data",
}
# Django's "M" (dates read "Mar 20, 2025" as elsewhere on the page), without its
# translation lookup for each of hundreds of points.
_MONTHS = ("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec").split()
_PUBLIC_ID = re.compile("[a-z0-9]{12}")

# The days a narrow screen shows of the window (public.css hides the older ones).
NARROW_DAYS = 30


def duration(seconds: int) -> str:
    """ "2 h 5 min", "12 min", "40 s"."""
    if seconds < 60:
        return f"{seconds} s"
    hours, minutes = divmod(seconds // 60, 60)
    if not hours:
        return f"{minutes} min"
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


class UptimeBars:
    """Draws the days of every component sharing one window of dates: a list of
    bars, each a focusable item named by its figures, which a stylesheet shows as a
    tooltip on hover, focus or tap (no script: the page is the same bytes for every
    visitor, under a policy without inline scripts).

    Narrow screens show the last ``NARROW_DAYS`` days only (public.css hides the
    older bars), so each window gives its uptime over both spans and the stylesheet
    shows the one that matches the bars.

    Days without incidents are drawn once and reused: ``uptime.windows`` shares one
    ``Day`` between all components with the same figures on the same date, and on a
    healthy page most bars of most components are that day's "100 %" bar.
    """

    def __init__(self, dates: Sequence[dt.date], incident_url: Callable[[str], str]):
        self.labels = [f"{_MONTHS[d.month - 1]} {d.day}, {d.year}" for d in dates]
        self.incident_url = incident_url
        self._drawn: dict[uptime.Day, str] = {}

    def render(self, *, name: str, window: uptime.Window) -> SafeString:
        drawn = self._drawn
        bars = "".join(
            [drawn.get(day) or self._bar(n, day) for n, day in enumerate(window.days)]
        )
        recent = window.days[-NARROW_DAYS:]
        return mark_safe(
            '<div class="uptime">'
            f'<ol class="uptime__days" aria-label="{escape(name)}: uptime by day">'
            f"{bars}</ol>"
            f"{_scale(len(window.days), window.availability, 'uptime__wide')}"
            f"{_scale(len(recent), uptime.availability(recent), 'uptime__narrow')}"
            "</div>"
        )

    def _bar(self, n: int, day: uptime.Day) -> str:
        links = self._links(day)
        if links:
            return self._linked_bar(n, day, links)
        # Days are shared between components and each belongs to one date, so to
        # one position: the drawing can be kept for the day itself.
        drawn = self._drawn[day] = (
            f'<li class="{uptime.worst_status(day)}" tabindex="0" '
            f'aria-label="{self._title(n, day)}"></li>'
        )
        return drawn

    def _links(self, day: uptime.Day) -> str | None:
        """The day's incidents, those of ours linked to their pages; None when none
        is ours (a day named after another page's incidents links nothing)."""
        names = []
        linked = False
        for incident in day.incidents:
            name = escape(str(incident.get("name", "")))
            public_id = str(incident.get("id", ""))
            if _PUBLIC_ID.fullmatch(public_id):
                name = f'<a href="{escape(self.incident_url(public_id))}">{name}</a>'
                linked = True
            names.append(name)
        return ", ".join(names) if linked else None

    def _linked_bar(self, n: int, day: uptime.Day, links: str) -> str:
        """A day with incidents of ours shows its figures with links to them, as
        markup rather than the stylesheet's copy of its name."""
        return (
            f'<li class="{uptime.worst_status(day)} uptime__linked" tabindex="0" '
            f'aria-label="{self._title(n, day)}"><span class="uptime__tip">'
            f"{self._figures(n, day)} Incidents: {links}.</span></li>"
        )

    def _title(self, n: int, day: uptime.Day) -> str:
        """ "Mar 3, 2025: 99.95 % uptime; partial outage 12 min. Incidents: ..." """
        names = ", ".join(escape(str(i.get("name", ""))) for i in day.incidents)
        incidents = f"Incidents: {names}." if names else "No incidents."
        return f"{self._figures(n, day)} {incidents}"

    def _figures(self, n: int, day: uptime.Day) -> str:
        """ "Mar 3, 2025: 99.95 % uptime; partial outage 12 min." """
        if uptime.worst_status(day) == uptime.NO_DATA:
            return f"{self.labels[n]}: no data."
        figure = uptime.availability([day])
        head = (
            "nothing counted" if figure is None else f"{uptime.percent(figure)} uptime"
        )
        states = [
            f"{words} {duration(seconds)}"
            for seconds, words in (
                (day.major_seconds, "major outage"),
                (day.partial_seconds, "partial outage"),
                (day.degraded_seconds, "degraded performance"),
                (day.maintenance_seconds, "maintenance"),
                (day.no_data_seconds, "no data"),
            )
            if seconds
        ]
        detail = f"; {', '.join(states)}" if states else ""
        return f"{self.labels[n]}: {head}{detail}."


def _scale(days: int, availability: float | None, shown: str) -> str:
    """The span of the bars and the uptime over it, for the screens that show it."""
    figure = uptime.percent(availability)
    summary = figure if availability is None else f"{figure} uptime"
    return (
        f'<p class="uptime__scale {shown}"><span aria-hidden="true">{days} days ago'
        f'</span><span class="uptime__figure">{summary}<span class="visually-hidden">'
        f" over the last {days} days</span></span>"
        '<span aria-hidden="true">Today</span></p>'
    )


def legend() -> SafeString:
    """What the bar colours mean, with words next to each colour."""
    items = "".join(
        f'<li><svg width="10" height="10" aria-hidden="true"><rect width="10" '
        f'height="10" fill="{DAY_COLOURS[state]}"/></svg>{escape(name)}</li>'
        for state, name in DAY_NAMES.items()
    )
    return mark_safe(f'<ul class="uptime-legend">{items}</ul>')


# Response-time charts ----------------------------------------------------------------

CHART_WIDTH = 400
CHART_HEIGHT = 180
LEFT, RIGHT, TOP, BOTTOM = 56, 8, 24, 22
PLOT_WIDTH = CHART_WIDTH - LEFT - RIGHT
PLOT_HEIGHT = CHART_HEIGHT - TOP - BOTTOM
P50_COLOUR = "#0b5cad"
P95_COLOUR = "#c2410c"
TEXT_COLOUR = "#52606d"
GRID_COLOUR = "#d9dee4"


def latency_chart(
    series: uptime.LatencySeries, *, tz: zoneinfo.ZoneInfo, chart_id: str
) -> SafeString:
    """A chart of p50 and p95 over ``series``, with its axes, and a table of its
    figures for readers who cannot see it."""
    chart = _Chart(series, tz)
    title = f"Response time, {series.range.label.lower()}"
    return mark_safe(
        f'<figure class="chart" aria-labelledby="{chart_id}-caption">'
        f'<figcaption id="{chart_id}-caption" class="chart__caption">'
        f"{series.range.label}</figcaption>"
        f'<svg class="chart__svg" viewBox="0 0 {CHART_WIDTH} {CHART_HEIGHT}" '
        f'role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" '
        'font-size="11">'
        f'<title id="{chart_id}-title">{title}</title>'
        f'<desc id="{chart_id}-desc">{chart.description()}</desc>'
        f"{chart.body()}</svg>"
        f"{chart.table()}</figure>"
    )


def _nice_scale(highest: float) -> tuple[float, float]:
    """A step of 1, 2, 2.5 or 5 x 10^n giving at most 4 intervals, and the top."""
    highest = max(highest, 1.0)
    rough = highest / 4
    magnitude = 10 ** math.floor(math.log10(rough))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= rough)
    return step, math.ceil(highest / step) * step


def milliseconds(value: float) -> str:
    return f"{value:,.0f} ms" if value >= 10 else f"{value:.1f} ms"


class _Chart:
    def __init__(self, series: uptime.LatencySeries, tz: zoneinfo.ZoneInfo) -> None:
        self.series = series
        self.tz = tz
        self.measured = [p for p in series.points if p.p50_ms is not None]
        peaks = [p.p95_ms or p.p50_ms or 0.0 for p in self.measured]
        self.step, self.top = _nice_scale(max(peaks, default=1.0))
        self._labels: dict[dt.datetime, str] = {}

    # Geometry

    def x_of(self, moment: dt.datetime) -> float:
        span = (self.series.end - self.series.start).total_seconds()
        return LEFT + (moment - self.series.start).total_seconds() / span * PLOT_WIDTH

    def y_of(self, value: float) -> float:
        return TOP + PLOT_HEIGHT - value / self.top * PLOT_HEIGHT

    def centre(self, point: uptime.LatencyPoint) -> float:
        return self.x_of(point.start + self.series.range.bucket / 2)

    # Parts

    def body(self) -> str:
        parts = [self._legend(), self._y_axis(), self._x_axis()]
        if self.measured:
            parts += [
                self._line("p50_ms", P50_COLOUR, ""),
                self._line("p95_ms", P95_COLOUR, ' stroke-dasharray="5 3"'),
                self._hits(),
            ]
        else:
            x, y = LEFT + PLOT_WIDTH // 2, TOP + PLOT_HEIGHT // 2
            parts.append(
                f'<text x="{x}" y="{y}" text-anchor="middle" fill="{TEXT_COLOUR}" '
                'font-size="14">No data</text>'
            )
        return "".join(parts)

    def _legend(self) -> str:
        y = TOP - 10
        return (
            f'<g aria-hidden="true" fill="{TEXT_COLOUR}">'
            f'<line x1="{LEFT}" x2="{LEFT + 16}" y1="{y}" y2="{y}" '
            f'stroke="{P50_COLOUR}" stroke-width="2"/>'
            f'<text x="{LEFT + 20}" y="{y + 4}">p50 (median)</text>'
            f'<line x1="{LEFT + 110}" x2="{LEFT + 126}" y1="{y}" y2="{y}" '
            f'stroke="{P95_COLOUR}" stroke-width="2" stroke-dasharray="5 3"/>'
            f'<text x="{LEFT + 130}" y="{y + 4}">p95</text></g>'
        )

    def _y_axis(self) -> str:
        ticks = []
        count = round(self.top / self.step) if self.measured else 0
        for n in range(count + 1):
            value = n * self.step
            y = self.y_of(value)
            ticks.append(
                f'<line x1="{LEFT}" x2="{LEFT + PLOT_WIDTH}" y1="{y:.1f}" y2="{y:.1f}" '
                f'stroke="{GRID_COLOUR}"/>'
                f'<text x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end">'
                f"{_tick_ms(value, self.step)}</text>"
            )
        return (
            f'<g fill="{TEXT_COLOUR}" aria-hidden="true">{"".join(ticks)}'
            f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + PLOT_HEIGHT}" '
            f'stroke="{TEXT_COLOUR}"/></g>'
        )

    def _x_axis(self) -> str:
        bottom = TOP + PLOT_HEIGHT
        ticks = []
        for moment, label in self._time_ticks():
            x = self.x_of(moment)
            ticks.append(
                f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{bottom}" y2="{bottom + 4}" '
                f'stroke="{TEXT_COLOUR}"/>'
                f'<text x="{x:.1f}" y="{bottom + 15}" text-anchor="middle">{label}'
                "</text>"
            )
        return (
            f'<g fill="{TEXT_COLOUR}" aria-hidden="true">'
            f'<line x1="{LEFT}" x2="{LEFT + PLOT_WIDTH}" y1="{bottom}" y2="{bottom}" '
            f'stroke="{TEXT_COLOUR}"/>{"".join(ticks)}</g>'
        )

    def _time_ticks(self) -> list[tuple[dt.datetime, str]]:
        """Every 6 hours over a day; local midnights otherwise (every 7th over 30
        days), in the page's time zone."""
        start, end = self.series.start, self.series.end
        if self.series.range.span <= dt.timedelta(days=1):
            hours = [start + n * uptime.HOUR for n in range(1, 24)]
            local = [(h, h.astimezone(self.tz)) for h in hours]
            return [(h, f"{at:%H:%M}") for h, at in local if at.hour % 6 == 0]
        every = 1 if self.series.range.span <= dt.timedelta(days=7) else 7
        midnights = _local_midnights(start, end, self.tz)[::-1][::every][::-1]
        return [(m, f"{_MONTHS[m.month - 1]} {m.day}") for m in midnights]

    def _line(self, field: str, colour: str, dashes: str) -> str:
        """The figure as a line, broken where a bucket has no data."""
        runs: list[list[str]] = [[]]
        for point in self.series.points:
            value = getattr(point, field)
            if value is None:
                runs.append([])
                continue
            runs[-1].append(f"{self.centre(point):.1f} {self.y_of(value):.1f}")
        path = "".join(
            f"M{run[0]}" + ("".join(f"L{xy}" for xy in run[1:]) or "h0")
            for run in runs
            if run
        )
        return (
            f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="2" '
            f'stroke-linecap="round" stroke-linejoin="round"{dashes}/>'
        )

    def _hits(self) -> str:
        """A transparent column per bucket, whose title is its figures on hover."""
        width = PLOT_WIDTH / len(self.series.points)
        columns = [
            f'<rect x="{self.x_of(point.start):.1f}" y="{TOP}" width="{width:.2f}" '
            f'height="{PLOT_HEIGHT}" fill="transparent">'
            f"<title>{self._when(point)}: {_figures(point)}</title></rect>"
            for point in self.series.points
        ]
        return f'<g class="chart__hits">{"".join(columns)}</g>'

    def _when(self, point: uptime.LatencyPoint) -> str:
        """ "Mar 20, 14:00", or "Mar 20, 12:00–18:00" for a bucket of hours; kept,
        as each is asked for twice (its column's title, its row in the table)."""
        label = self._labels.get(point.start)
        if label is None:
            start = point.start.astimezone(self.tz)
            label = f"{_MONTHS[start.month - 1]} {start.day}, {start:%H:%M}"
            if self.series.range.bucket != uptime.HOUR:
                end = (point.start + self.series.range.bucket).astimezone(self.tz)
                label += f"–{end:%H:%M}"
            self._labels[point.start] = label
        return label

    def description(self) -> str:
        if not self.measured:
            return "No data: no response time was measured in this period."
        p50s = sorted(p.p50_ms or 0.0 for p in self.measured)
        worst = max(self.measured, key=lambda p: p.p95_ms or 0.0)
        buckets = "hours" if self.series.range.bucket == uptime.HOUR else "periods"
        text = (
            f"p50 from {milliseconds(p50s[0])} to {milliseconds(p50s[-1])}, "
            f"typically {milliseconds(p50s[len(p50s) // 2])}. "
        )
        if worst.p95_ms is not None:
            text += f"Highest p95 {milliseconds(worst.p95_ms)}, {self._when(worst)}. "
        return text + (
            f"{len(self.measured)} of {len(self.series.points)} {buckets} have data."
        )

    def table(self) -> str:
        if not self.measured:
            return ""
        rows = "".join(
            f'<tr><th scope="row">{self._when(p)}</th>'
            f"<td>{_cell(p.p50_ms)}</td><td>{_cell(p.p95_ms)}</td><td>{p.checks}</td></tr>"
            for p in self.series.points
        )
        return (
            '<details class="chart__figures"><summary>Figures</summary>'
            '<table><thead><tr><th scope="col">Time</th><th scope="col">p50</th>'
            '<th scope="col">p95</th><th scope="col">Checks</th></tr></thead>'
            f"<tbody>{rows}</tbody></table></details>"
        )


def _tick_ms(value: float, step: float) -> str:
    return f"{value:,.0f} ms" if step >= 1 else f"{value:g} ms"


def _cell(value: float | None) -> str:
    return "—" if value is None else milliseconds(value)


def _figures(point: uptime.LatencyPoint) -> str:
    if point.p50_ms is None:
        return "no data"
    p95 = "" if point.p95_ms is None else f", p95 {milliseconds(point.p95_ms)}"
    return f"p50 {milliseconds(point.p50_ms)}{p95} ({point.checks} checks)"


def _local_midnights(
    start: dt.datetime, end: dt.datetime, tz: zoneinfo.ZoneInfo
) -> list[dt.datetime]:
    day = start.astimezone(tz).date()
    midnights: list[dt.datetime] = []
    while True:
        midnight = dt.datetime.combine(day, dt.time(), tzinfo=tz)
        if midnight >= end:
            return midnights
        if midnight > start:
            midnights.append(midnight)
        day += dt.timedelta(days=1)
