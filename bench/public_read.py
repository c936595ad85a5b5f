"""The public read path on this machine: snapshot rebuilds and serving. Prints figures;
never judges.

1. Builds a page of 500 components in 20 groups, 100 incidents (a few open, the rest
   resolved, each with its updates) and 20 maintenances (past, one in progress,
   upcoming) through the services in ``incidents/services``. The services stamp
   ``updated_at`` with the time of the call; resolved incidents and completed
   maintenances are then back-dated in one bulk UPDATE to the time of their last
   update, as on a page that has lived, so a change re-renders what it would there.
2. Times ``snapshot_publish()`` after one component status change (median and p95
   over ``--changes``), a full render, and ``publish --to`` (the static export).
3. With wrk: requests/s, p50/p99 latency and errors of ``/`` and
   ``/api/v2/summary.json`` at each ``--connections``, on gunicorn (sync and gthread
   workers) and granian (WSGI), each next to files of the same bytes served by the
   same server: by WhiteNoise through the app, and by granian's own static route
   (Rust); the goal ratios take the faster of a server's two. And nginx serving the
   export with the server block README.md shows, read from README.md and checked
   against the app's answers first. All servers run at once and take turns, round
   after round (``--rounds``, medians), so the machine's other work falls on each
   alike; the CPU the server, wrk and the rest used in each run is shown.

Quick run: ``.venv/bin/python bench/public_read.py --duration 5``; steadier figures on
a busy machine: ``--rounds 3``. It uses its own database (heliograph_bench_public),
Redis database 10 and var/bench/public, all wiped.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gzip
import logging
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common import (
    BENCH_DIR,
    CPUS,
    ROOT,
    base_env,
    bench_database,
    children,
    cpu_seconds,
    cpu_snapshot_of,
    database_prepare,
    free_port,
    open_files_raise,
    percentile,
    print_machine,
    print_table,
    redis_flush,
    running,
    wrk,
)

DATABASE_NAME = "heliograph_bench_public"
DEFAULT_DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{DATABASE_NAME}"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/10"
VAR_DIR = BENCH_DIR / "public"
LOG = BENCH_DIR / "public-server.log"
PATHS = {"/": "page.html", "/api/v2/summary.json": "summary.json"}
GOAL = (
    "goals (issue 5): >= 50% of the static file's req/s, p99 <= 2x its p99, "
    "< 0.1% errors"
)
SERVERS = "gunicorn-sync:4,gunicorn-gthread:2x4,granian:2x2,nginx"
NGINX_SECTION = "## Serving the static export with nginx"
# The headers the export's server must send as the app does.
CHECKED = (
    "Content-Type Content-Encoding Vary Cache-Control Access-Control-Allow-Origin "
    "X-Frame-Options Content-Security-Policy Cross-Origin-Resource-Policy "
    "X-Content-Type-Options Referrer-Policy Cross-Origin-Opener-Policy"
).split()


# --- setup ------------------------------------------------------------------------


def bench_env() -> dict[str, str]:
    """The environment shared by this process and the servers it starts."""
    redis_url = os.environ.get("BENCH_PUBLIC_REDIS_URL") or DEFAULT_REDIS_URL
    return {
        **base_env(bench_database(DEFAULT_DATABASE_URL, DATABASE_NAME)),
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "HELIOGRAPH_VAR_DIR": str(VAR_DIR),
        "SECURE_COOKIES": "false",
        # A stale notice would change the measured bytes while the runs go on.
        "SNAPSHOT_STALE_AFTER_SECONDS": "86400",
    }


def tables_empty() -> None:
    from django.db import connection

    tables = [
        t
        for t in connection.introspection.table_names()
        if t.startswith(("incidents_", "notifications_", "probes_"))
    ]
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")


# --- 1. the dataset ---------------------------------------------------------------


def dataset_build(groups: int, per_group: int) -> tuple[list, dict[str, float]]:
    """The page through the services; returns the leaf components and timings."""
    from django.db.models import F

    from incidents.models import Component, Incident
    from incidents.services.components import component_create
    from incidents.services.page import page_update

    page_update(name="Bench", url="https://status.example.com")
    timings, started = {}, time.perf_counter()
    leaves = []
    for g in range(groups):
        group = component_create(name=f"Region {g + 1:02}", is_group=True)
        for c in range(per_group):
            name = f"Service {g + 1:02}.{c + 1:02}"
            leaves.append(component_create(name=name, group=group))
    timings["components and groups"] = time.perf_counter() - started
    for step, make in (
        ("incidents", incidents_create),
        ("maintenances", maintenances_create),
    ):
        started = time.perf_counter()
        make(leaves, 100 if step == "incidents" else 20)
        timings[f"{step} and their updates"] = time.perf_counter() - started
    # The services stamp updated_at now; a page that has lived has old ones (the
    # snapshot renders again what changed lately).
    finished = Incident.objects.filter(resolved_at__isnull=False)
    finished.update(updated_at=F("resolved_at"))
    lived = dt.datetime.now(dt.UTC) - dt.timedelta(days=90)
    Component.objects.update(updated_at=lived)
    return leaves, timings


def incidents_create(leaves: list, count: int) -> None:
    """All but four resolved over the last 90 days, the four still open."""
    from incidents.models import ComponentStatus as Status
    from incidents.models import IncidentStatus
    from incidents.services.incidents import incident_create, incident_post_update

    now = dt.datetime.now(dt.UTC)
    steps = [IncidentStatus.IDENTIFIED, IncidentStatus.MONITORING]
    for i in range(count):
        hit = [leaves[(i * 7 + k) % len(leaves)] for k in range(1 + i % 3)]
        is_open = i >= count - 4
        began = now - dt.timedelta(days=90 * (count - i) / count, hours=2)
        if is_open:
            began = now - dt.timedelta(minutes=30 * (i % 5 + 1))
        bad = Status.MAJOR_OUTAGE if i % 2 else Status.DEGRADED_PERFORMANCE
        incident = incident_create(
            name=f"Elevated errors on {hit[0].name}",
            body="We are investigating elevated error rates.",
            component_statuses={c: bad for c in hit},
            display_at=began,
            deliver_notifications=False,
        )
        moves: list[tuple[IncidentStatus, dict[Any, Status] | None]]
        moves = [(s, None) for s in steps[: 1 if is_open else 2]]
        if not is_open:
            moves.append(
                (IncidentStatus.RESOLVED, {c: Status.OPERATIONAL for c in hit})
            )
        for n, (status, statuses) in enumerate(moves, start=1):
            incident_post_update(
                incident=incident,
                status=status,
                body=f"{status.label}: the details of this step.",
                component_statuses=statuses,
                display_at=began + dt.timedelta(minutes=10 * n),
                deliver_notifications=False,
            )


def maintenances_create(leaves: list, count: int) -> None:
    """Maintenances: a quarter upcoming, one in progress, the rest completed."""
    from incidents.models import MaintenanceStatus as Status
    from incidents.services.incidents import incident_post_update
    from incidents.services.maintenance import maintenance_schedule

    now, upcoming = dt.datetime.now(dt.UTC), count // 4
    for i in range(count):
        start = now - dt.timedelta(days=3 * (i - upcoming), minutes=20)
        if i < upcoming:
            start = now + dt.timedelta(days=i + 1)
        maintenance = maintenance_schedule(
            name=f"Database upgrade {i + 1}",
            scheduled_for=start,
            scheduled_until=start + dt.timedelta(hours=2),
            components=leaves[300 + i * 5 : 302 + i * 5 + i % 4],
            body="We will upgrade the database cluster.",
            deliver_notifications=False,
        )
        moves = [Status.IN_PROGRESS, Status.COMPLETED][: 0 if i < upcoming else 2]
        for n, move in enumerate(moves[: 1 if i == upcoming else 2]):
            incident_post_update(
                incident=maintenance,
                status=move,
                body=f"Maintenance {move.label.lower()}.",
                display_at=start + dt.timedelta(hours=n),
                deliver_notifications=False,
            )


# --- 2. the snapshot --------------------------------------------------------------


class PublishLog(logging.Handler):
    """Keeps the (rendered, kept) counts snapshot_publish logs."""

    counts: tuple[Any, ...] = (0, 0)

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg.startswith("Published snapshot") and isinstance(
            record.args, tuple
        ):
            self.counts = record.args[1:3]


def rebuild_measure(leaves: list, changes: int, fulls: int) -> list[list[str]]:
    """Publish times: full renders, then one after each status change; the export."""
    from incidents.models import ComponentStatus, StatusSource
    from incidents.services.components import component_set_status
    from visitor.snapshot.publish import snapshot_publish

    log, logger = PublishLog(), logging.getLogger("visitor.snapshot.publish")
    logger.addHandler(log)
    level, logger.propagate = logger.level, False
    logger.setLevel(logging.INFO)
    bad, good = ComponentStatus.PARTIAL_OUTAGE, ComponentStatus.OPERATIONAL
    rows = []
    for label, count, full in (
        ("full render", fulls, True),
        ("one change", changes, False),
    ):
        seconds = []
        for n in range(count):
            if not full:
                component = leaves[(n // 2 * 37) % len(leaves)]
                status = bad if n % 2 == 0 else good
                component_set_status(
                    component=component, status=status, source=StatusSource.STAFF
                )
            started = time.perf_counter()
            snapshot_publish(full=full)
            seconds.append(time.perf_counter() - started)
        rendered, kept = log.counts
        rows.append(timing_row(label, seconds, f"{rendered} rendered, {kept} kept"))
    logger.removeHandler(log)
    logger.setLevel(level)
    logger.propagate = True
    started = time.perf_counter()
    files = export_to(VAR_DIR / "export")
    seconds = [time.perf_counter() - started]
    return [*rows, timing_row("publish --to", seconds, f"{len(files)} files")]


def export_to(folder: Path) -> list[str]:
    """``publish --to``: the pages and the public static files the manifest names."""
    from visitor.snapshot.export import snapshot_export

    return snapshot_export(to=folder)


def timing_row(label: str, seconds: list[float], what: str) -> list[str]:
    ordered = [s * 1000 for s in sorted(seconds)]
    median, p95 = statistics.median(ordered), percentile(ordered, 0.95)
    return [label, str(len(ordered)), f"{median:.0f}", f"{p95:.0f}", what]


def static_twins() -> dict[str, str]:
    """Each measured path's bytes as a file under STATIC_ROOT; their URLs."""
    from django.conf import settings

    from visitor.snapshot.store import current_reader

    manifest = current_reader().manifest()
    assert manifest is not None
    folder = Path(settings.STATIC_ROOT) / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    for path, name in PATHS.items():
        body = current_reader().body(manifest.artifacts[path]) or b""
        (folder / name).write_bytes(body)
        # WhiteNoise sends a .gz beside a file to clients that accept gzip.
        (folder / f"{name}.gz").write_bytes(gzip.compress(body, 6, mtime=0))
    return {path: f"/static/bench/{name}" for path, name in PATHS.items()}


# --- 3. servers and wrk -----------------------------------------------------------


def app_server(spec: str, port: int) -> tuple[str, list[str], dict[str, str]]:
    """``gunicorn-sync:4``, ``gunicorn-gthread:2x4``, ``granian:2x1`` (workers x
    threads): its name, its command line and the URLs of any static twins it serves
    itself (granian has a static file server of its own, in Rust)."""
    kind, _, shape = spec.partition(":")
    workers, _, threads = (shape or str(2 * CPUS)).partition("x")
    name = f"{kind} {workers}w x{threads or 'default '}t"
    bin_dir = Path(sys.executable).parent
    if kind == "granian":
        command = [str(bin_dir / "granian"), "--interface", "wsgi"]
        command += ["--host", "127.0.0.1", "--port", str(port), "--workers", workers]
        command += ["--blocking-threads", threads] if threads else []
        command += ["--static-path-route", "/native"]
        command += ["--static-path-mount", str(VAR_DIR / "static" / "bench")]
        command += ["--log-level", "warning", "statuspage.wsgi:application"]
        native = {path: f"/native/{file}" for path, file in PATHS.items()}
        return name, command, native
    command = [str(bin_dir / "gunicorn"), "statuspage.wsgi", "--workers", workers]
    command += ["--bind", f"127.0.0.1:{port}", "--log-level", "warning"]
    if kind == "gunicorn-gthread":
        return name, [*command, "--threads", threads or "1"], {}
    return f"{kind} {workers}w", command, {}


def nginx_config(folder: Path, port: int, temp: Path) -> str:
    """README's nginx block, on this port and folder, inside a minimal nginx.conf."""
    text = (ROOT / "README.md").read_text()
    section = text.split(NGINX_SECTION, 1)[-1].split("\n## ", 1)[0]
    block = re.search(r"```nginx\n(.*?)```", section, re.S)
    if block is None:
        sys.exit(f"README.md has no ```nginx block under {NGINX_SECTION!r}")
    server = re.sub(r"listen \d+;", f"listen 127.0.0.1:{port};", block.group(1))
    server = re.sub(r"root [^;]+;", f"root {folder};", server)
    temps = "".join(
        f"    {kind}_temp_path {temp}/{kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"daemon off;\nworker_processes {CPUS};\nworker_rlimit_nofile 16384;\n"
        f"pid {temp}/nginx.pid;\nerror_log {temp}/error.log warn;\n"
        "events { worker_connections 8192; }\n"
        f"http {{\n    access_log off;\n    sendfile on;\n{temps}{server}}}\n"
    )


@dataclass
class Figures:
    server: str
    connections: int
    label: str
    rps: float = 0.0
    p50: float = float("nan")  # ms
    p99: float = float("nan")
    requests: int = 0
    errors: int = 0
    cpu: tuple[float, float, float] = (0.0, 0.0, 0.0)  # server, wrk, other: cores

    @property
    def error_share(self) -> float:
        return self.errors / max(1, self.requests + self.errors)


def measure(figures: Figures, url: str, pid: int, args: argparse.Namespace) -> None:
    """Warm up, then one measured wrk run; the CPU of the server, wrk and the rest."""
    wrk(url, figures.connections, args.warmup, args.timeout, args.headers)
    tree = [pid, *children(pid)]
    before = (
        sum(cpu_seconds(p) for p in tree),
        sum(resource.getrusage(resource.RUSAGE_CHILDREN)[:2]),
        cpu_snapshot_of({})["machine busy"][0],
    )
    started = time.monotonic()
    found = wrk(url, figures.connections, args.duration, args.timeout, args.headers)
    elapsed = time.monotonic() - started
    server = sum(cpu_seconds(p) for p in tree) - before[0]
    load = sum(resource.getrusage(resource.RUSAGE_CHILDREN)[:2]) - before[1]
    machine = cpu_snapshot_of({})["machine busy"][0] - before[2]
    other = max(0.0, machine - server - load)
    figures.cpu = (server / elapsed, load / elapsed, other / elapsed)
    for name, value in found.items():
        setattr(figures, name, value)
    print(
        f"  measured {figures.server} c={figures.connections} {figures.label}: "
        f"{figures.rps:,.0f} req/s",
        flush=True,
    )


@dataclass(frozen=True)
class Target:
    server: str
    pid: int
    urls: list[tuple[str, str]]  # (label, URL)


def servers_start(
    stack: contextlib.ExitStack, args: argparse.Namespace, twins: dict[str, str]
) -> list[Target]:
    """Every server at once, so their runs can take turns; nginx on the export."""
    started = []
    for spec in args.servers:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        if spec == "nginx":
            temp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            export_to(VAR_DIR / "export")  # the app's newest bytes, to compare
            config = temp / "nginx.conf"
            config.write_text(nginx_config(VAR_DIR / "export", port, temp))
            command = ["nginx", "-p", str(temp), "-c", str(config)]
            pid = stack.enter_context(running(command, base, LOG))
            nginx_check(base)
            urls = [(path, base + path) for path in PATHS]
            started.append(Target("nginx (export)", pid, urls))
            continue
        name, command, native = app_server(spec, port)
        pid = stack.enter_context(running(command, f"{base}/api/v2/status.json", LOG))
        urls = []
        for path, twin in twins.items():
            urls += [(path, base + path), (f"static {PATHS[path]}", base + twin)]
            if path in native:
                urls.append((f"static {PATHS[path]} native", base + native[path]))
        started.append(Target(name, pid, urls))
    return started


def serving_measure(targets: list[Target], args: argparse.Namespace) -> list[Figures]:
    """Round after round, each connection count, path and server in turn, so that
    the rest of the machine's work falls on all of them alike; medians of rounds."""
    runs: dict[tuple, list[Figures]] = {}
    for _ in range(args.rounds):
        for connections in args.connections:
            for path, name in PATHS.items():
                for target in targets:
                    for label, url in target.urls:
                        if label == path or name in label:
                            figures = Figures(target.server, connections, label)
                            measure(figures, url, target.pid, args)
                            key = (target.server, connections, label)
                            runs.setdefault(key, []).append(figures)
    return [median_of(rounds) for rounds in runs.values()]


def median_of(rounds: list[Figures]) -> Figures:
    def median(attr: str) -> float:
        return statistics.median(getattr(f, attr) for f in rounds)

    def cpu_median(i: int) -> float:
        return statistics.median(f.cpu[i] for f in rounds)

    first = rounds[0]
    return Figures(
        first.server,
        first.connections,
        first.label,
        rps=median("rps"),
        p50=median("p50"),
        p99=median("p99"),
        requests=sum(f.requests for f in rounds),
        errors=sum(f.errors for f in rounds),
        cpu=(cpu_median(0), cpu_median(1), cpu_median(2)),
    )


def nginx_check(base: str) -> None:
    """README's nginx block against the app's own answers, path by path; the last
    two asking for gzip, compared once decompressed."""
    from django.test import Client

    from incidents.models import Component, Incident

    incident = Incident.objects.order_by("-pk").first()
    component = Component.objects.filter(is_group=False).first()
    assert incident is not None and component is not None  # the page was built
    paths = ["/", "/history/", "/feed.atom", "/feed.rss", "/badge.svg", "/embed.js"]
    paths += ["/api/v2/summary.json", "/compact/", f"/incidents/{incident.public_id}"]
    paths += [f"/components/{component.public_id}/"]
    asks: list[tuple[str, dict[str, str]]] = [(path, {}) for path in paths]
    asks += [(path, {"Accept-Encoding": "gzip"}) for path in PATHS]
    client, rows = Client(HTTP_HOST="127.0.0.1"), []
    for path, ask in asks:
        request = urllib.request.Request(base + path, headers=ask)
        with urllib.request.urlopen(request, timeout=5) as answer:
            body, headers = answer.read(), answer.headers
        app = client.get(path, headers=ask)
        bodies = [body, app.content]
        if headers.get("Content-Encoding") == "gzip":
            bodies[0] = gzip.decompress(body)
        if app.headers.get("Content-Encoding") == "gzip":
            bodies[1] = gzip.decompress(app.content)
        differ = [h for h in CHECKED if headers.get(h) != app.headers.get(h)]
        same = "same" if bodies[0] == bodies[1] else "DIFFERENT"
        label = f"{path} (gzip)" if ask else path
        rows.append([label, str(answer.status), headers["Content-Type"], same])
        rows[-1].append(", ".join(differ) or "same")
    print("\nnginx with README.md's server block, against the app")
    print_table(["path", "status", "content type", "bytes", "headers"], rows)


# --- report -----------------------------------------------------------------------


def print_serving(results: list[Figures]) -> None:
    print("serving (wrk; latency in ms; cpu: cores busy during the run; medians of")
    print("the rounds, errors summed)")
    rows = [
        [f.server, str(f.connections), f.label, f"{f.rps:,.0f}", f"{f.p50:.1f}"]
        + [f"{f.p99:.1f}", f"{f.errors} ({f.error_share:.2%})"]
        + [f"{c:.2f}" for c in f.cpu]
        for f in results
    ]
    header = ["server", "conns", "path", "req/s", "p50", "p99", "errors"]
    print_table([*header, "cpu server", "wrk", "other"], rows)


def print_goals(results: list[Figures]) -> None:
    """Each path against the faster static twin on its server, and against nginx."""
    print(GOAL)
    twins: dict[tuple, Figures] = {}
    for f in results:
        if f.label.startswith("static"):
            key = (f.server, f.connections, f.label.split()[1])
            if key not in twins or f.rps > twins[key].rps:
                twins[key] = f
    nginx = {(f.connections, f.label): f for f in results if "nginx" in f.server}
    rows = []
    for f in results:
        twin = twins.get((f.server, f.connections, PATHS.get(f.label)))
        if twin is None:
            continue
        edge = nginx.get((f.connections, f.label))
        by = "granian" if twin.label.endswith("native") else "whitenoise"
        rows.append(
            [f.server, str(f.connections), f.label, by, f"{f.rps / twin.rps:.0%}"]
            + [f"{f.p99 / twin.p99:.2f}x", f"{f.error_share:.2%}"]
            + [f"{f.rps / edge.rps:.0%}" if edge else "-"]
        )
    header = ["server", "conns", "path", "static by", "req/s vs static"]
    if rows:
        print_table([*header, "p99 vs static", "errors", "req/s vs nginx"], rows)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=8, help="s per wrk run")
    parser.add_argument("--warmup", type=float, default=2, help="s before each run")
    parser.add_argument("--timeout", type=float, default=5, help="wrk's timeout, s")
    parser.add_argument("--connections", default="64,1000")
    parser.add_argument(
        "--servers",
        default=SERVERS,
        help="kind[:workers[xthreads]],...; kinds: gunicorn-sync, gunicorn-gthread, "
        "granian, nginx",
    )
    parser.add_argument("--rounds", type=int, default=1, help="medians of rounds")
    parser.add_argument(
        "--gzip", action="store_true", help="ask for gzip, as browsers do"
    )
    parser.add_argument("--changes", type=int, default=20, help="rebuilds timed")
    parser.add_argument("--full-renders", type=int, default=3)
    args = parser.parse_args()
    args.connections = [int(c) for c in args.connections.split(",")]
    args.servers = [s for s in args.servers.split(",") if s]
    args.headers = ("Accept-Encoding: gzip",) if args.gzip else ()
    return args


def bench_prepare(env: dict[str, str], var_dir: Path) -> None:
    """A clean bench: this process on the bench's settings, its folder, database and
    Redis database emptied, the static files collected, Django set up."""
    os.environ.update(env)
    open_files_raise()
    shutil.rmtree(var_dir, ignore_errors=True)
    var_dir.mkdir(parents=True)
    database_prepare(env["DATABASE_URL"])
    redis_flush(env["REDIS_URL"])
    manage = [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"]
    subprocess.run(manage, cwd=ROOT, check=True)

    import django

    django.setup()


def main() -> None:
    args = parse_args()
    env = bench_env()
    bench_prepare(env, VAR_DIR)
    print_machine(
        env["REDIS_URL"],
        ("Django", "gunicorn", "granian", "whitenoise", "psycopg"),
        f"  wrk ({CPUS} threads) and nginx from Debian; wrk shares the cpus with the "
        "server it measures,\n  and 'other' is the rest of the machine's work.",
    )
    try:
        tables_empty()
        leaves, timings = dataset_build(20, 25)
        print("dataset, through the services (no subscriber, nothing notified)")
        print_table(["step", "s"], [[k, f"{v:.1f}"] for k, v in timings.items()])
        print("snapshot rebuild: snapshot_publish() here, no queue, no debounce (ms)")
        rows = rebuild_measure(leaves, args.changes, args.full_renders)
        print_table(["publish", "runs", "median", "p95", "artifacts"], rows)
        twins = static_twins()
        sizes = [
            f"{p} {(VAR_DIR / 'static' / t[8:]).stat().st_size:,} bytes"
            f" ({(VAR_DIR / 'static' / f'{t[8:]}.gz').stat().st_size:,} gzipped)"
            for p, t in twins.items()
        ]
        print(f"measured bodies: {', '.join(sizes)}; the static twins are a copy")
        print("wrk asks for gzip\n" if args.gzip else "wrk does not ask for gzip\n")
        with contextlib.ExitStack() as stack:
            results = serving_measure(servers_start(stack, args, twins), args)
        print()
        print_serving(results)
        print_goals(results)
    finally:
        redis_flush(env["REDIS_URL"])


if __name__ == "__main__":
    main()
