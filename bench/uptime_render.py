"""How long the public page takes to draw its uptime history. Prints figures; never
judges.

1. Builds 1,000 showcased components (in 50 groups of 20) with 90 days of
   ``ComponentDay`` rows each (mostly operational days; some degraded, partial,
   major and maintenance days, a few with incidents; one component in ten only 60
   days old, so its first days are "no data") and 30 days of ``ComponentLatencyHour``
   rows each, all bulk-created: the rollups are read here, not computed.
2. Times, over ``--renders`` renders each (p50 / p95 / max):
   - the history parts of the index: reading every showcased component's 90 days
     (one query) and drawing its bars (``visitor.views._component_rows``), and the
     two halves apart;
   - the whole index page (``visitor.views.index``), next to the same render with
     0 showcased components, the baseline;
   - one component page (its bars and three response-time charts);
   and once, the 1,000 component pages a publish renders, as ``snapshot_publish``
   renders every listed path on each change.
3. The bytes of the index with and without the bars, raw and gzipped.

Views are called directly (a ``RequestFactory`` request, as the snapshot renders
them), so no server, middleware or snapshot is in the way.

Quick run: ``.venv/bin/python bench/uptime_render.py --renders 20``. It uses its own
database (heliograph_bench_render), wiped at start; Redis is only asked its version.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import gzip
import os
import random
import time
from collections.abc import Callable
from typing import Any

from common import (
    CPUS,
    base_env,
    bench_database,
    django_start,
    percentile,
    print_machine,
    print_table,
)

DATABASE_NAME = "heliograph_bench_render"
DEFAULT_DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{DATABASE_NAME}"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
GOAL = "goal (issue 6): the public page renders its history in < 200 ms (p95)"
GROUPS = 50
DAY = 86_400


def bench_env() -> dict[str, str]:
    return {
        **base_env(bench_database(DEFAULT_DATABASE_URL)),
        # The pages link to public.css by its plain name: no collectstatic needed.
        "STATIC_MANIFEST": "false",
    }


# --- data -----------------------------------------------------------------------------


def wipe() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE incidents_component, incidents_incident CASCADE")


def analyze() -> None:
    """Fresh planner statistics, as autovacuum would soon have after such inserts."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE uptime_componentday, uptime_componentlatencyhour")


def make_components(count: int) -> list[Any]:
    from incidents.models import Component, Page

    Page.get()
    groups = Component.objects.bulk_create(
        Component(name=f"Group {g}", is_group=True, position=g) for g in range(GROUPS)
    )
    per_group = max(1, count // GROUPS)
    return Component.objects.bulk_create(
        Component(
            name=f"Service {n}",
            group=groups[n // per_group % GROUPS],
            position=n % per_group,
            showcase=True,
        )
        for n in range(count)
    )


def day_figures(rng: random.Random, young: bool, back: int) -> dict[str, Any]:
    """One day of a plausible record: mostly whole operational days."""
    if young and back >= 60:
        return {"no_data_seconds": DAY}
    roll = rng.random()
    bad = rng.randrange(60, 7_200)
    if roll < 0.90:
        return {"operational_seconds": DAY}
    if roll < 0.94:
        return {"operational_seconds": DAY - bad, "degraded_seconds": bad}
    if roll < 0.96:
        return {"operational_seconds": DAY - bad, "partial_seconds": bad}
    if roll < 0.97:
        return {"operational_seconds": DAY - bad, "major_seconds": bad}
    if roll < 0.98:
        return {"operational_seconds": DAY - bad, "maintenance_seconds": bad}
    return {"operational_seconds": DAY - bad, "no_data_seconds": bad}


def make_days(components: list[Any], today: dt.date, rng: random.Random) -> int:
    from kit.ids import new_public_id
    from uptime.models import ComponentDay

    rows = []
    for component in components:
        young = rng.random() < 0.1
        for back in range(90):
            figures = day_figures(rng, young, back)
            if "partial_seconds" in figures or "major_seconds" in figures:
                figures["incidents"] = [
                    {
                        "id": new_public_id(),
                        "name": "Elevated errors",
                        "impact": "major",
                    }
                ]
            rows.append(
                ComponentDay(
                    component=component, day=today - dt.timedelta(days=back), **figures
                )
            )
    ComponentDay.objects.bulk_create(rows, batch_size=5_000)
    return len(rows)


def make_hours(components: list[Any], now: dt.datetime, rng: random.Random) -> int:
    from uptime.models import ComponentLatencyHour

    top = now.replace(minute=0, second=0, microsecond=0)
    hours = [top - dt.timedelta(hours=n) for n in range(30 * 24)]
    created = 0
    for start in range(0, len(components), 100):
        rows = []
        for component in components[start : start + 100]:
            base = rng.uniform(30, 300)
            for hour in hours:
                p50 = base * rng.uniform(0.8, 1.3)
                rows.append(
                    ComponentLatencyHour(
                        component=component,
                        hour=hour,
                        checks=60,
                        p50_ms=p50,
                        p95_ms=p50 * rng.uniform(1.5, 4),
                        p99_ms=p50 * rng.uniform(4, 8),
                    )
                )
        ComponentLatencyHour.objects.bulk_create(rows, batch_size=10_000)
        created += len(rows)
    return created


# --- timing ---------------------------------------------------------------------------


def timed(run: Callable[[], Any], times: int) -> tuple[list[float], list[float]]:
    """Wall and CPU milliseconds (this process's) of ``times`` runs, each sorted,
    after one warm-up run. CPU leaves out PostgreSQL's time and waits for a core."""
    run()
    wall, cpu = [], []
    for _ in range(times):
        started, used = time.perf_counter(), time.process_time()
        run()
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - used) * 1000)
    return sorted(wall), sorted(cpu)


class FullCollections:
    """Counts the full (generation 2) garbage collections while it is open, and
    their time: they, not the rendering, make the slowest renders of a large heap."""

    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0
        self._started = 0.0

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.count += 1
            self.seconds += time.perf_counter() - self._started

    def __enter__(self) -> FullCollections:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._callback)


def row(label: str, spent: tuple[list[float], list[float]]) -> list[str]:
    wall, cpu = spent
    return [
        label,
        str(len(wall)),
        f"{percentile(wall, 0.5):.1f}",
        f"{percentile(wall, 0.95):.1f}",
        f"{wall[-1]:.1f}",
        f"{percentile(cpu, 0.5):.1f}",
    ]


def request() -> Any:
    from django.test import RequestFactory

    return RequestFactory().get("/", HTTP_HOST="localhost")


def index_html() -> bytes:
    from visitor import views

    response = views.index(request())
    assert response.status_code == 200
    return response.content


def history_parts() -> Any:
    from incidents.selectors import PublicState
    from visitor import views

    state = PublicState.load()
    tree = views.visible_tree(state.components)
    # Read once, as the index reads it for its rows: the probes' evidence is not
    # part of the history (the bench's components have no probes, so it is empty).
    evidence = state.evidence
    return lambda: views._component_rows(tree, state.page, evidence)


def read_and_draw() -> tuple[Callable[[], Any], Callable[[], Any]]:
    """The two halves of the history parts: the query, and the drawing."""
    from django.utils import timezone

    from incidents.models import Component
    from uptime import selectors as uptime
    from visitor import views
    from visitor.charts import UptimeBars

    ids = list(
        Component.objects.live()
        .filter(showcase=True, is_group=False)
        .values_list("pk", flat=True)
    )
    today = timezone.localdate()
    windows = uptime.windows(ids, today=today)

    def draw() -> None:
        bars = UptimeBars(uptime.window_dates(today), views._incident_urls())
        for pk, window in windows.items():
            bars.render(name=f"Component {pk}", window=window)

    return (lambda: uptime.windows(ids, today=today)), draw


def component_pages() -> tuple[Callable[[], Any], list[str]]:
    from incidents.models import Component
    from visitor import views

    ids = list(
        Component.objects.live()
        .filter(is_group=False)
        .values_list("public_id", flat=True)
    )
    sample = random.Random(7).sample(ids, min(len(ids), 50))
    cycle = iter(sample * 1_000)

    def one() -> None:
        response = views.component_detail(request(), next(cycle))
        assert response.status_code == 200

    return one, ids


def all_component_pages(ids: list[str]) -> float:
    from visitor import views

    started = time.perf_counter()
    for public_id in ids:
        views.component_detail(request(), public_id)
    return time.perf_counter() - started


def sizes(html: bytes) -> str:
    gzipped = len(gzip.compress(html)) / 1024
    return f"{len(html) / 1024:,.0f} KiB ({gzipped:,.0f} KiB gzipped)"


# --- main -----------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--components", type=int, default=1_000)
    parser.add_argument("--renders", type=int, default=20)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    django_start(bench_env())
    from django.utils import timezone

    from incidents.models import Component

    print_machine(
        os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL,
        ("Django", "psycopg"),
        "  one process renders; PostgreSQL runs on the same machine.",
    )
    rng = random.Random(2025)
    started = time.perf_counter()
    wipe()
    components = make_components(args.components)
    now = timezone.now()
    days = make_days(components, timezone.localdate(now), rng)
    hours = make_hours(components, now, rng)
    analyze()
    print(
        f"data: {len(components):,} showcased components in {GROUPS} groups, "
        f"{days:,} ComponentDay rows, {hours:,} ComponentLatencyHour rows, "
        f"built in {time.perf_counter() - started:.0f} s"
    )
    print()

    n = args.renders
    before = os.getloadavg()[0]
    read, draw = read_and_draw()
    page, ids = component_pages()
    with FullCollections() as collections:
        history = timed(history_parts(), n)
    rows = [
        row("history parts (read + draw)", history),
        row("  read 90 days (1 query)", timed(read, n)),
        row("  draw the bars", timed(draw, n)),
        row("index page, full render", timed(index_html, n)),
        row("one component page", timed(page, n)),
    ]
    with_bars = index_html()
    Component.objects.update(showcase=False)
    rows.append(row("index page, 0 showcased (baseline)", timed(index_html, n)))
    without_bars = index_html()
    Component.objects.update(showcase=True)

    after = os.getloadavg()[0]
    print(
        f"load average {before:.1f} before the renders, {after:.1f} after, on {CPUS} "
        "cpus: above that, other work shared them and wall times grow"
    )
    print()
    print(f"1. render times, ms, {len(components):,} showcased components")
    print(f"   ({GOAL}; wall time, and this process's CPU time)")
    print_table(["", "renders", "p50", "p95", "max", "cpu p50"], rows)
    print(
        f"   during the {n + 1} history renders, Python ran {collections.count} full "
        f"garbage collections: {collections.seconds * 1000:.0f} ms in all"
    )
    every = all_component_pages(ids)
    print(
        f"2. all {len(ids):,} component pages once (what a rollup's publish "
        "renders, 50 at a time): "
        f"{every:.1f} s, {every / len(ids) * 1000:.1f} ms a page"
    )
    print(f"3. index size: {sizes(with_bars)} with the bars;")
    print(f"   {sizes(without_bars)} without them (0 showcased)")
    per_component = (len(with_bars) - len(without_bars)) / len(components)
    print(f"   the bars of one component: {per_component:,.0f} bytes")


if __name__ == "__main__":
    main()
