"""Probe throughput and scheduling lag on this machine. Prints figures; never judges.

1. HTTP clients: the same GETs against a fast local target with aiohttp (bare, and the
   session probes really use) and httpx, at a few concurrencies.
2. The real pipeline: N http probes at a 60 s interval, real Celery workers on Redis,
   this process acting as beat (``probes_dispatch()`` once a second) for a bounded
   time; then throughput and lag (started_at - slot) from the ProbeResult rows.

Quick run: ``.venv/bin/python bench/probes_throughput.py --sizes 1000 --duration 30``.
It uses its own database (heliograph_bench) and Redis database (12), both wiped.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from common import (
    CPUS,
    Snapshot,
    base_env,
    bench_database,
    cpu_snapshot_of,
    cpu_spent,
    django_start,
    local_server,
    percentile,
    print_table,
    redis_flush,
    service_pids,
)
from common import print_machine as print_machine_of
from workers import CELERY_WORKER, Workers, bench_script, workers_start, workers_stop

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/heliograph_bench"
DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/12"
QUEUE = "probes.local"
INTERVAL = 60
GOAL = "goal: 10,000 probes at 60 s with p99 lag < 5 s"
# Two worker processes either way: two solo workers, or one prefork worker with two.
POOLS = {
    "solo": [["--pool", "solo", "--concurrency", "1"]] * 2,
    "prefork": [["--concurrency", "2"]],
}


# --- setup ------------------------------------------------------------------------


def bench_env() -> dict[str, str]:
    """The environment shared by this process and the workers it starts."""
    broker = os.environ.get("BENCH_BROKER_URL") or DEFAULT_BROKER_URL
    return {
        **base_env(bench_database(DEFAULT_DATABASE_URL)),
        "CELERY_BROKER_URL": broker,
        "PROBE_REGIONS": "local",
    }


# --- machine ----------------------------------------------------------------------


def print_machine(env: dict[str, str]) -> None:
    print_machine_of(
        env["CELERY_BROKER_URL"],
        ("aiohttp", "httpx", "celery", "kombu", "Django", "psycopg"),
        "  one target process (aiohttp.web, one thread) serves every request below;"
        "\n  it shares the cpus with the clients, workers, PostgreSQL and Redis.",
    )


# --- figures ----------------------------------------------------------------------


# --- 1. HTTP clients --------------------------------------------------------------


@dataclass
class ClientFigures:
    client: str
    concurrency: int
    requests: int
    seconds: float
    latencies: list[float]
    errors: int


async def _hammer(
    get: Callable[[], Awaitable[int]], requests: int, concurrency: int
) -> tuple[list[float], int]:
    """``requests`` calls of ``get`` from ``concurrency`` loops; latencies in ms."""
    latencies: list[float] = []
    errors = 0
    remaining = iter(range(requests))

    async def loop() -> None:
        nonlocal errors
        for _ in remaining:
            started = time.perf_counter()
            try:
                status = await get()
            except Exception:
                status = 0
            latencies.append((time.perf_counter() - started) * 1000)
            errors += status != 200

    await asyncio.gather(*(loop() for _ in range(concurrency)))
    return latencies, errors


async def _with_aiohttp(url: str, concurrency: int, requests: int) -> ClientFigures:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def get() -> int:
            async with session.get(url) as response:
                await response.read()
                return response.status

        return await _measure("aiohttp.ClientSession", get, concurrency, requests)


async def _with_probe_session(
    url: str, concurrency: int, requests: int
) -> ClientFigures:
    from probes.kinds.network import client_session

    # The session the runner uses: guarded resolver and a trace hook per request.
    async with client_session(limit=concurrency) as session:

        async def get() -> int:
            async with session.get(url) as response:
                await response.read()
                return response.status

        return await _measure("aiohttp (probes session)", get, concurrency, requests)


async def _with_httpx(url: str, concurrency: int, requests: int) -> ClientFigures:
    import httpx

    limits = httpx.Limits(
        max_connections=concurrency, max_keepalive_connections=concurrency
    )
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def get() -> int:
            return (await client.get(url)).status_code

        return await _measure("httpx.AsyncClient", get, concurrency, requests)


async def _measure(
    name: str, get: Callable[[], Awaitable[int]], concurrency: int, requests: int
) -> ClientFigures:
    await _hammer(get, concurrency * 2, concurrency)  # open the connections first
    started = time.perf_counter()
    latencies, errors = await _hammer(get, requests, concurrency)
    seconds = time.perf_counter() - started
    return ClientFigures(name, concurrency, requests, seconds, latencies, errors)


def clients_bench(base_url: str, requests: int, concurrencies: list[int]) -> None:
    url = f"{base_url}/ok"
    print(f"1. HTTP clients: {requests:,} GET {url} per row, after a warm-up")
    rows = []
    for concurrency in concurrencies:
        for run in (_with_aiohttp, _with_probe_session, _with_httpx):
            figures = asyncio.run(
                asyncio.wait_for(run(url, concurrency, requests), timeout=180)
            )
            ordered = sorted(figures.latencies)
            rows.append(
                [
                    figures.client,
                    str(concurrency),
                    f"{requests / figures.seconds:,.0f}",
                    f"{percentile(ordered, 0.50):.1f}",
                    f"{percentile(ordered, 0.99):.1f}",
                    str(figures.errors),
                ]
            )
    print_table(
        ["client", "concurrency", "requests/s", "p50 ms", "p99 ms", "errors"], rows
    )


# --- 2. the pipeline --------------------------------------------------------------


def fixture_create(size: int, url: str) -> dt.datetime:
    """``size`` http probes whose first slots spread evenly over one interval from
    the returned start, each with the region state a long-running probe has."""
    from django.db import connection
    from django.db.models import F
    from django.utils import timezone

    from incidents.models import Component
    from incidents.services import component_create
    from probes.kinds.http import Http
    from probes.models import ComponentVerdict, Probe, ProbeResult, RegionState

    tables = [m._meta.db_table for m in (ProbeResult, RegionState, ComponentVerdict)]
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)}, probes_probe CASCADE")
    component = Component.objects.filter(name="Bench target").first()
    component = component or component_create(name="Bench target")
    config = Http.validate({"url": url})
    # Far in the future while rows go in, so none is due before the window opens.
    parked = timezone.now() + dt.timedelta(days=1)
    step = dt.timedelta(seconds=INTERVAL) / size
    probes = Probe.objects.bulk_create(
        (
            Probe(
                name=f"bench {number}",
                kind="http",
                config=config,
                component=component,
                interval_seconds=INTERVAL,
                timeout_seconds=10,
                regions=["local"],
                next_due_at=parked + step * number,
            )
            for number in range(size)
        ),
        batch_size=2000,
    )
    RegionState.objects.bulk_create(
        (
            RegionState(probe=probe, region="local", component=component, successes=9)
            for probe in probes
        ),
        batch_size=2000,
    )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE probes_probe, probes_regionstate")
    start = timezone.now() + dt.timedelta(seconds=1)
    Probe.objects.update(next_due_at=F("next_due_at") - (parked - start))
    return start


@dataclass
class Beat:
    """What the beat ticks did: probes claimed, and the time spent per phase."""

    ticks: int = 0
    claimed: int = 0
    claim_seconds: list[float] = field(default_factory=list)
    tick_seconds: list[float] = field(default_factory=list)
    late_ticks: int = 0


def beat_run(seconds: int, beat: Beat) -> dt.datetime:
    """Tick ``probes_dispatch()`` once a second for ``seconds`` seconds, a tick at
    each end; return the time the last tick claimed up to (the window's end)."""
    from django.utils import timezone

    from probes import scheduler

    claim = scheduler.probes_claim_due

    def timed_claim(**kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return claim(**kwargs)
        finally:
            beat.claim_seconds.append(time.perf_counter() - started)

    scheduler.probes_claim_due = timed_claim
    first = time.monotonic()
    try:
        for number in range(seconds + 1):
            pause = first + number - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            elif number:
                beat.late_ticks += 1
            started = time.perf_counter()
            now = timezone.now()
            beat.claimed += scheduler.probes_dispatch(now=now)
            beat.tick_seconds.append(time.perf_counter() - started)
            beat.ticks += 1
    finally:
        scheduler.probes_claim_due = claim
    return now


def drain(env: dict[str, str], timeout: float) -> None:
    """Let the batches already sent finish: until the queue is empty and the results
    stop growing, for at most ``timeout`` seconds."""
    import redis

    from probes.models import ProbeResult

    queue = redis.Redis.from_url(env["CELERY_BROKER_URL"])
    deadline, last = time.monotonic() + timeout, -1
    while time.monotonic() < deadline:
        count = ProbeResult.objects.count()
        if queue.llen(QUEUE) == 0 and count == last:
            return
        last = count
        time.sleep(1)


def cpu_snapshot(workers: Workers, target_pid: int) -> Snapshot:
    """CPU seconds per process, by group, and the machine's busy and stolen time."""
    return cpu_snapshot_of(
        {
            "workers": workers.pids(),
            **service_pids(),
            "target": [target_pid],
            "beat (this process)": [os.getpid()],
        }
    )


@dataclass
class PipelineFigures:
    size: int
    window: float
    due: int
    started_in_window: int
    lags: list[float]  # seconds, sorted, for every due slot that ran
    per_process: dict[str, tuple[int, int, float]]
    phases: dict[str, float]
    cpu: dict[str, float]
    beat: Beat

    @property
    def run(self) -> int:
        return len(self.lags)

    @property
    def busy(self) -> float:
        return sum(busy for _, _, busy in self.per_process.values())


def due_slots(size: int, start: dt.datetime, end: dt.datetime) -> int:
    """Slots that fell due in [start, end]: what a keeping-up pipeline would run."""
    step = INTERVAL / size
    window = (end - start).total_seconds()
    return sum(
        int((window - number * step) // INTERVAL) + 1
        for number in range(size)
        if number * step <= window
    )


def results_read(start: dt.datetime, end: dt.datetime) -> tuple[int, list[float]]:
    """Lags of the due slots that ran, and how many of them started in the window."""
    from probes.models import ProbeResult

    rows = ProbeResult.objects.filter(slot__gte=start, slot__lte=end).values_list(
        "slot", "started_at"
    )
    lags, in_window = [], 0
    for slot, started_at in rows:
        lags.append((started_at - slot).total_seconds())
        in_window += started_at <= end
    return in_window, sorted(lags)


TASK_LINE = re.compile(
    r"/(?P<process>[\w-]+)\] Task probes\.tasks\.probes_run_batch\[[^]]+\] "
    r"succeeded in (?P<seconds>[\d.]+)s: (?P<count>\d+)"
)
PHASES = ("load", "run", "record", "streak", "decide")
PHASE_LINE = re.compile(r"bench-phases probes=\d+ (?P<figures>.*)")


def logs_read(
    workers: Workers,
) -> tuple[dict[str, tuple[int, int, float]], dict[str, float]]:
    """Per worker process: batches, probes and busy seconds; and phase totals."""
    per_process: dict[str, tuple[int, int, float]] = {}
    phases: dict[str, float] = {}
    for number, text in enumerate(workers.log_texts()):
        for match in TASK_LINE.finditer(text):
            name = f"{number}/{match['process']}"
            batches, probes, busy = per_process.get(name, (0, 0, 0.0))
            per_process[name] = (
                batches + 1,
                probes + int(match["count"]),
                busy + float(match["seconds"]),
            )
        for match in PHASE_LINE.finditer(text):
            for pair in match["figures"].split():
                key, value = pair.split("=")
                phases[key] = phases.get(key, 0.0) + float(value)
    return per_process, phases


def pipeline_run(
    size: int, args: argparse.Namespace, env: dict[str, str], url: str, pid: int
) -> PipelineFigures:
    """One size: fresh probes, fresh queue, fresh workers; beat for the duration."""
    from django.utils import timezone

    redis_flush(env["CELERY_BROKER_URL"])
    workers = workers_start(
        bench_script("worker.py") if args.phases else CELERY_WORKER,
        queue=QUEUE,
        pools=POOLS[args.workers],
        env=env,
        name=f"worker-{args.workers}",
    )
    try:
        start = fixture_create(size, url)
        beat = Beat()
        # The window opens when the first slot is due and closes with the last tick.
        time.sleep(max(0.0, (start - timezone.now()).total_seconds()))
        before = cpu_snapshot(workers, pid)
        end = beat_run(args.duration, beat)
        after = cpu_snapshot(workers, pid)
        drain(env, timeout=args.drain)
    finally:
        workers_stop(workers)
    in_window, lags = results_read(start, end)
    per_process, phases = logs_read(workers)
    return PipelineFigures(
        size=size,
        window=(end - start).total_seconds(),
        due=due_slots(size, start, end),
        started_in_window=in_window,
        lags=lags,
        per_process=per_process,
        phases=phases,
        cpu=cpu_spent(before, after),
        beat=beat,
    )


def print_pipeline(figures: list[PipelineFigures], processes: int) -> None:
    print(GOAL)
    header = (
        "N,window s,due,run,not run,probes/s,per process,busy,lag p50 s,p99 s,max s"
    )
    rows = []
    for f in figures:
        rate = f.started_in_window / f.window
        lag_max = f.lags[-1] if f.lags else float("nan")
        rows.append(
            [
                f"{f.size:,}",
                f"{f.window:.0f}",
                f"{f.due:,}",
                f"{f.run:,}",
                f"{f.due - f.run:,}",
                f"{rate:,.1f}",
                f"{rate / processes:,.1f}",
                f"{f.busy / (processes * f.window):.0%}",
                f"{percentile(f.lags, 0.50):.2f}",
                f"{percentile(f.lags, 0.99):.2f}",
                f"{lag_max:.2f}",
            ]
        )
    print_table(header.split(","), rows)
    print(
        "  due: slots that fell due in the window; run: those that got a result\n"
        "  (batches sent in the window may finish after it, for up to --drain s);\n"
        "  probes/s: results started in the window per second; busy: the share of\n"
        "  the window the worker processes spent in tasks. Lag = started_at - slot,\n"
        "  over the slots that ran; it includes up to 1 s of beat granularity.\n"
    )
    for f in figures:
        _print_where_time_goes(f)


def _print_where_time_goes(f: PipelineFigures) -> None:
    ticks = [t * 1000 for t in f.beat.tick_seconds]
    claims = sorted(t * 1000 for t in f.beat.claim_seconds)
    print(
        f"  N={f.size:,}: beat {f.beat.ticks} ticks ({f.beat.late_ticks} late), "
        f"{f.beat.claimed:,} claimed; tick p50 {percentile(sorted(ticks), 0.5):.0f} "
        f"ms, max {max(ticks, default=0):.0f} ms; claim p50 "
        f"{percentile(claims, 0.5):.0f} ms, max {max(claims, default=0):.0f} ms"
    )
    for name, (batches, probes, busy) in sorted(f.per_process.items()):
        print(
            f"    worker {name}: {batches} batches, {probes:,} probes in {busy:.1f} s "
            f"of tasks: {busy / max(batches, 1) * 1000:.0f} ms per batch, "
            f"{probes / max(busy, 1e-9):.0f} probes per busy second"
        )
    if f.phases:
        total = f.phases.get("total") or 1.0
        spent = {key: f.phases.get(key, 0.0) for key in PHASES}
        parts = ", ".join(
            f"{key} {seconds:.1f} s ({seconds / total:.0%})"
            for key, seconds in spent.items()
        )
        print(f"    batch phases, summed: {parts}")
    cpu = ", ".join(f"{name} {seconds:.1f}" for name, seconds in f.cpu.items())
    print(f"    cpu seconds in the window (of {f.window * CPUS:.0f}): {cpu}")
    print()


# --- main -------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,5000,10000")
    parser.add_argument("--duration", type=int, default=60, help="seconds per size")
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", default="20,100")
    parser.add_argument(
        "--workers",
        choices=("solo", "prefork"),
        default="solo",
        help="two solo worker processes, or one prefork worker with concurrency 2",
    )
    parser.add_argument(
        "--phases",
        action="store_true",
        help="time each batch's phases inside the workers (bench/worker.py)",
    )
    parser.add_argument("--drain", type=int, default=30, help="max seconds")
    parser.add_argument("--no-clients", action="store_true")
    parser.add_argument("--no-pipeline", action="store_true")
    args = parser.parse_args()
    args.sizes = [int(size) for size in args.sizes.split(",") if size]
    args.concurrency = [int(c) for c in args.concurrency.split(",") if c]
    if not 1 <= args.duration <= 600 or any(not 1 <= s <= 100_000 for s in args.sizes):
        parser.error("duration must be 1-600 s and sizes 1-100,000")
    return args


def main() -> None:
    args = parse_args()
    env = bench_env()
    django_start(env)
    redis_flush(env["CELERY_BROKER_URL"])
    import statuspage.celery  # noqa: F401  (configures the app the tasks send with)

    print_machine(env)
    try:
        with local_server("target.py") as (port, target):
            url, target_pid = f"http://127.0.0.1:{port}", target.pid
            if not args.no_clients:
                clients_bench(url, args.requests, args.concurrency)
            if not args.no_pipeline:
                figures = [
                    pipeline_run(size, args, env, f"{url}/ok", target_pid)
                    for size in args.sizes
                ]
                mode = (
                    "2 solo worker processes (--pool solo --concurrency 1 each)"
                    if args.workers == "solo"
                    else "1 prefork worker, --concurrency 2 (2 child processes)"
                )
                print(
                    f"2. pipeline: {mode}, queue {QUEUE}, Redis broker, beat in this"
                    f" process; batch size {_setting('PROBE_BATCH_SIZE')}, "
                    f"{_setting('PROBE_CONCURRENCY')} connections per batch"
                )
                print_pipeline(figures, processes=2)
    finally:
        redis_flush(env["CELERY_BROKER_URL"])


def _setting(name: str) -> Any:
    from django.conf import settings

    return getattr(settings, name)


if __name__ == "__main__":
    main()
