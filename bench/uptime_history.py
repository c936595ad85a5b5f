"""Uptime history on this machine: rollup time per day of data, and database size per
monitor per year. Prints figures; never judges.

1. N monitors (a probe at a 60 s interval, each with its own component, one region)
   and one day of their raw results (N x 1,440 rows, loaded with COPY; a few
   failures, a short gap, some status changes). Then the time to roll that day up
   (``uptime.rollup.rollup_range``: the component days, the probe hours, the
   response-time hours), once more (a rebuild, idempotent), the periodic rollup at
   the end of that day (what beat runs every 5 minutes), and the time to prune the
   day once it is final.
2. Size: one year of rollup rows for M monitors (365 days, 8,760 probe hours and
   8,760 response-time hours each), generated directly, measured on disk with
   ``pg_total_relation_size`` (heap, indexes, TOAST) and divided by M; plus the raw
   results a monitor keeps for the retention window, from the measured size of the
   day loaded in step 1.

Quick run: ``.venv/bin/python bench/uptime_history.py --monitors 200``. It uses its
own database (heliograph_bench_uptime), wiped at the start.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import resource
import time
from collections.abc import Iterator
from typing import Any

from common import (
    BENCH_DIR,
    base_env,
    bench_database,
    django_start,
    print_machine,
    print_table,
)

DATABASE_NAME = "heliograph_bench_uptime"
DEFAULT_DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{DATABASE_NAME}"
# Read for the machine header only (its version); nothing is written there.
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
INTERVAL = 60
GOAL_MB_PER_MONITOR_YEAR = 5.0
MB = 1024 * 1024


# --- setup ------------------------------------------------------------------------


def bench_env() -> dict[str, str]:
    return {
        **base_env(bench_database(DEFAULT_DATABASE_URL, DATABASE_NAME)),
        # A rollup asks for a snapshot publish: keep the ask in this process.
        "CELERY_BROKER_URL": "memory://localhost/",
        "SNAPSHOT_DIR": str(BENCH_DIR / "uptime-snapshot"),
    }


def tables_empty() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE incidents_component, probes_probe CASCADE")


def monitors_create(count: int, since: dt.datetime) -> list[tuple[int, int]]:
    """``count`` components, each fed by one HTTP probe at 60 s; (probe, component)."""
    from incidents.models import Component
    from probes.models import Probe

    components = Component.objects.bulk_create(
        Component(name=f"Service {n}", position=n, created_at=since)
        for n in range(count)
    )
    probes = Probe.objects.bulk_create(
        Probe(
            name=f"Service {n} check",
            kind="http",
            config={"url": f"https://service-{n}.bench.example/health"},
            component=component,
            interval_seconds=INTERVAL,
            regions=["local"],
            created_at=since,
        )
        for n, component in enumerate(components)
    )
    return [(probe.pk, probe.component_id) for probe in probes]


def copy_rows(table: str, columns: str, lines: Iterator[str]) -> None:
    """Load text-format rows with COPY, in blocks of about a megabyte."""
    from django.db import connection

    connection.ensure_connection()
    with connection.connection.cursor() as cursor:
        with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            block: list[str] = []
            for line in lines:
                block.append(line)
                if len(block) >= 10_000:
                    copy.write("".join(block))
                    block.clear()
            copy.write("".join(block))


def results_lines(monitors: list[tuple[int, int]], day: dt.datetime) -> Iterator[str]:
    """A day of results for every monitor: mostly up, 0.5 % down, one monitor in ten
    silent for ten minutes (a gap: no data)."""
    rng = random.Random(6)
    stamps = [
        (day + dt.timedelta(seconds=INTERVAL * n)).isoformat()
        for n in range(86_400 // INTERVAL)
    ]
    for number, (probe_id, component_id) in enumerate(monitors):
        gap = range(600, 610) if number % 10 == 0 else range(0)
        for minute, stamp in enumerate(stamps):
            if minute in gap:
                continue
            down = rng.random() < 0.005
            latency = rng.lognormvariate(4.5, 0.4)  # about 90 ms, a long tail
            outcome, code = ("down", 503) if down else ("up", 200)
            yield (
                f"{probe_id}\tlocal\tmain\t{component_id}\t{outcome}\t{latency:.1f}\t"
                f"{code}\t\t{stamp}\t{stamp}\t{stamp}\n"
            )


def status_changes_create(monitors: list[tuple[int, int]], day: dt.datetime) -> None:
    """One component in twenty had a 30-minute partial outage that day."""
    from incidents.models import ComponentStatusChange

    changes = []
    for number, (_, component_id) in enumerate(monitors[::20]):
        start = day + dt.timedelta(hours=number % 24)
        for at, old, new in (
            (start, "operational", "partial_outage"),
            (start + dt.timedelta(minutes=30), "partial_outage", "operational"),
        ):
            changes.append(
                ComponentStatusChange(
                    component_id=component_id,
                    old_status=old,
                    new_status=new,
                    source="probe",
                    created_at=at,
                )
            )
    ComponentStatusChange.objects.bulk_create(changes)


def table_bytes(*tables: str) -> dict[str, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        sizes = {}
        for table in tables:
            cursor.execute("SELECT pg_total_relation_size(%s)", [table])
            sizes[table] = cursor.fetchone()[0]
    return sizes


def vacuum(*tables: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"VACUUM ANALYZE {table}")


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- 1. rollup time ---------------------------------------------------------------


def rollup_figures(monitors: int) -> tuple[dict[str, Any], int]:
    """Load a day, roll it up; the figures, and the size of the day's raw results."""
    from django.db import connection

    from probes.models import ProbeHour, ProbeResult
    from uptime import rollup
    from uptime.models import ComponentDay, ComponentLatencyHour

    today = dt.datetime.now(dt.UTC).date()
    day = dt.datetime.combine(today - dt.timedelta(days=2), dt.time(), tzinfo=dt.UTC)
    tables_empty()
    pairs = monitors_create(monitors, day - dt.timedelta(days=1))
    status_changes_create(pairs, day)
    started = time.monotonic()
    columns = (
        "probe_id, region, step, component_id, outcome, latency_ms, status_code, "
        "error, slot, started_at, created_at"
    )
    copy_rows("probes_proberesult", columns, results_lines(pairs, day))
    loaded = time.monotonic() - started
    vacuum("probes_proberesult")
    results = ProbeResult.objects.count()
    raw_bytes = table_bytes("probes_proberesult")["probes_proberesult"]

    figures: dict[str, Any] = {"results": results, "load": loaded}
    end_of_day = day + dt.timedelta(days=1)
    for label, now in (
        ("rollup", end_of_day + dt.timedelta(hours=1)),
        ("rebuild", end_of_day + dt.timedelta(hours=1)),
    ):
        rss = max_rss_mb()
        started = time.monotonic()
        rollup.rollup_range(first=day.date(), last=day.date(), now=now)
        figures[label] = time.monotonic() - started
        figures[f"{label} rss"] = max_rss_mb() - rss
    # What beat runs every 5 minutes, at 23:55 of that day: the whole day so far.
    started = time.monotonic()
    rollup.rollup_range(
        first=day.date(),
        last=day.date(),
        now=end_of_day - dt.timedelta(minutes=5),
    )
    figures["periodic"] = time.monotonic() - started
    final = end_of_day + dt.timedelta(hours=1)
    rollup.rollup_range(first=day.date(), last=day.date(), now=final)
    figures["rows"] = (
        ComponentDay.objects.count(),
        ProbeHour.objects.count(),
        ComponentLatencyHour.objects.count(),
    )
    sample = ComponentDay.objects.filter(component_id=pairs[0][1]).first()
    figures["sample"] = sample
    with connection.cursor() as cursor:
        cursor.execute(
            "EXPLAIN SELECT 1 FROM probes_proberesult WHERE started_at >= %s "
            "AND started_at < %s ORDER BY started_at",
            [day, end_of_day],
        )
        figures["plan"] = cursor.fetchone()[0]
    started = time.monotonic()
    pruned = rollup.results_prune(now=final + dt.timedelta(days=2), retention_days=1)
    figures["prune"] = time.monotonic() - started
    figures["pruned"] = pruned.deleted
    return figures, raw_bytes


def print_rollup(figures: dict[str, Any], monitors: int) -> None:
    results = figures["results"]
    days, probe_hours, latency_hours = figures["rows"]

    def per_second(key: str) -> str:
        return f"{results / figures[key]:,.0f}"

    print(f"1. one day of raw results: {monitors:,} monitors at {INTERVAL} s")
    print_table(
        ["step", "seconds", "results/s", "extra max RSS MB"],
        [
            ["load (COPY)", f"{figures['load']:.1f}", per_second("load"), "-"],
            *(
                [
                    label,
                    f"{figures[key]:.1f}",
                    per_second(key),
                    f"{figures[key + ' rss']:.0f}" if key + " rss" in figures else "-",
                ]
                for label, key in (
                    ("roll the day up", "rollup"),
                    ("rebuild it (same rows)", "rebuild"),
                    ("periodic run at 23:55", "periodic"),
                    ("prune the day", "prune"),
                )
            ),
        ],
    )
    sample = figures["sample"]
    print(
        f"  {results:,} results -> {days:,} component days, {probe_hours:,} probe "
        f"hours, {latency_hours:,} response-time hours; pruned {figures['pruned']:,}"
    )
    print(
        f"  a sample day (a monitor with a 10-minute gap): operational "
        f"{sample.operational_seconds} s, partial {sample.partial_seconds} s, no data "
        f"{sample.no_data_seconds} s, checks {sample.checks_up}/{sample.checks} up"
    )
    print(f"  the day's results are read by: {figures['plan']}")
    print()


# --- 2. size ----------------------------------------------------------------------


def year_lines(
    monitors: list[tuple[int, int]], first: dt.date
) -> dict[str, Iterator[str]]:
    """A year of rollup rows, as the rollups write them (values of typical width)."""
    rng = random.Random(7)
    hours = [
        dt.datetime.combine(first, dt.time(), tzinfo=dt.UTC) + dt.timedelta(hours=n)
        for n in range(365 * 24)
    ]
    stamps = [hour.isoformat() for hour in hours]
    computed = (hours[-1] + dt.timedelta(days=1)).isoformat()

    def days() -> Iterator[str]:
        for _, component_id in monitors:
            for n in range(365):
                day = first + dt.timedelta(days=n)
                incidents = (
                    '[{"id": "a1b2c3d4e5f6", "name": "Elevated error rates", '
                    '"impact": "minor"}]'
                    if rng.random() < 0.03
                    else "[]"
                )
                partial = rng.choice((0, 0, 0, 0, 120, 1800))
                yield (
                    f"{component_id}\t{day}\t{86_400 - partial - 60}\t0\t{partial}\t0\t"
                    f"0\t60\t1440\t{1440 - partial // 60}\t{incidents}\t{computed}\n"
                )

    def probe_hours() -> Iterator[str]:
        for probe_id, _ in monitors:
            for stamp in stamps:
                p50 = rng.uniform(60, 120)
                yield (
                    f"{probe_id}\tlocal\t{stamp}\t60\t60\t{p50:.3f}\t{p50 * 2:.3f}\t"
                    f"{p50 * 3:.3f}\n"
                )

    def latency_hours() -> Iterator[str]:
        for _, component_id in monitors:
            for stamp in stamps:
                p50 = rng.uniform(60, 120)
                yield (
                    f"{component_id}\t{stamp}\t60\t{p50:.3f}\t{p50 * 2:.3f}\t"
                    f"{p50 * 3:.3f}\n"
                )

    return {
        "uptime_componentday": days(),
        "probes_probehour": probe_hours(),
        "uptime_componentlatencyhour": latency_hours(),
    }


COLUMNS = {
    "uptime_componentday": (
        "component_id, day, operational_seconds, degraded_seconds, partial_seconds, "
        "major_seconds, maintenance_seconds, no_data_seconds, checks, checks_up, "
        "incidents, computed_at"
    ),
    "probes_probehour": "probe_id, region, hour, checks, checks_up, p50_ms, p95_ms, "
    "p99_ms",
    "uptime_componentlatencyhour": "component_id, hour, checks, p50_ms, p95_ms, p99_ms",
}


def size_figures(monitors: int) -> dict[str, int]:
    """One year of rollups for ``monitors`` monitors; bytes per table."""
    tables_empty()
    today = dt.datetime.now(dt.UTC).date()
    first = today - dt.timedelta(days=365)
    pairs = monitors_create(
        monitors, dt.datetime.combine(first, dt.time(), tzinfo=dt.UTC)
    )
    for table, lines in year_lines(pairs, first).items():
        copy_rows(table, COLUMNS[table], lines)
    vacuum(*COLUMNS)
    return table_bytes(*COLUMNS)


def print_sizes(
    sizes: dict[str, int], monitors: int, raw_day_bytes: int, raw_monitors: int
) -> None:
    from django.conf import settings

    retention = settings.PROBE_RESULT_RETENTION_DAYS
    print(f"2. database size: one year of rollups for {monitors:,} monitors")
    rows = [
        [table, f"{size / MB:,.1f}", f"{size / monitors / MB:.3f}"]
        for table, size in sizes.items()
    ]
    history = sum(sizes.values()) / monitors / MB
    rows.append(["one year of history", "", f"{history:.3f}"])
    # The window holds the retention days, today, and the day waiting for its rollup.
    kept_days = retention + 1
    raw = raw_day_bytes / raw_monitors * kept_days / MB
    rows.append([f"raw results, {kept_days} days", "", f"{raw:.3f}"])
    rows.append(["total in the first year", "", f"{history + raw:.3f}"])
    print_table(["table", "MB", "MB per monitor"], rows)
    print(
        f"  raw results: {raw_day_bytes / raw_monitors / 1024:,.0f} KiB per monitor "
        f"per day ({86_400 // INTERVAL} results), kept {retention} days "
        "(PROBE_RESULT_RETENTION_DAYS): a constant, not growing with the years"
    )
    print(
        f"  goal: one year of history < {GOAL_MB_PER_MONITOR_YEAR:g} MB per monitor; "
        f"measured {history:.2f} MB of rollups per year, {history + raw:.2f} MB with "
        "the raw window"
    )


# --- main -------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--monitors", type=int, default=1000, help="for the rollup")
    parser.add_argument(
        "--size-monitors", type=int, default=100, help="for the year of rollups"
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    django_start(bench_env())
    print_machine(
        os.environ.get("BENCH_REDIS_URL") or DEFAULT_REDIS_URL,
        ("Django", "psycopg"),
        "  the rollup runs in this process (one core); PostgreSQL takes the other.",
    )
    figures, raw_bytes = rollup_figures(args.monitors)
    print_rollup(figures, args.monitors)
    sizes = size_figures(args.size_monitors)
    print_sizes(sizes, args.size_monitors, raw_bytes, args.monitors)
    tables_empty()


if __name__ == "__main__":
    main()
