"""The management API, /metrics and the Alertmanager webhook on a large install's
data. Prints figures; never judges.

1. Seeds a page: components in groups of 20, each with an http probe (made by
   ``probe_create``) with a result a minute for ``--history`` minutes in 3 regions;
   resolved incidents of 3 updates; subscribers (a tenth webhooks, a tenth scoped to
   two components); alert probes; a read token and an Alertmanager integration
   (made by their services). The rest is bulk-created; the snapshot published once.
2. Serves it with granian as ``bin/run`` does. One client on one keep-alive
   connection takes turns between ``/api/v2/summary.json`` (the baseline: bytes from
   the snapshot), ``/metrics`` and four API lists: p50/p95, requests/s (1 / mean
   latency) and the queries of one request, counted in this process through
   ``django.test.Client`` (the same code without the server).
3. Alertmanager: per round, one version-4 body of ``--alerts`` firing alerts, each
   matching its own alert probe on its own component, then the same resolved; the
   time of each POST (it answers once the verdicts are recorded) and what it did.
   Round 0 runs in this process, to count its queries. Between rounds the automatic
   incident is resolved, as beat does once a recovery has held. Then ``--concurrent``
   POSTs of one alert each, to as many probes, all at once.

The tasks the writes queue wait in Redis db 13: no worker runs, so deliveries to the
subscribers are not in these figures. Quick: ``bench/api_integrations.py --quick``.
It uses its own database (heliograph_bench_api), Redis dbs 12 and 13 and
var/bench/api, all wiped.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import shutil
import statistics
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.client import HTTPConnection as Connection
from pathlib import Path
from typing import Any

from common import (
    BENCH_DIR,
    base_env,
    bench_database,
    database_prepare,
    free_port,
    percentile,
    print_machine,
    print_table,
    redis_flush,
    running,
)

DATABASE_NAME = "heliograph_bench_api"
DEFAULT_DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{DATABASE_NAME}"
CACHE_URL, BROKER_URL = "redis://127.0.0.1:6379/12", "redis://127.0.0.1:6379/13"
VAR_DIR, LOG = BENCH_DIR / "api", BENCH_DIR / "api-server.log"
REGIONS = ["eu-west", "us-east", "ap-south"]
QUICK = {"components": 300, "incidents": 300, "subscribers": 1000, "history": 20}
QUICK |= {"requests": 15, "rounds": 1, "audit_writes": 10_000}
LISTS = [("incidents", 100), ("components", 1000), ("subscribers", 100)]
LISTS += [("probes", 100)]
# What a POST did: component status changes, automatic incidents, updates, deadlocks.
TALLY = """SELECT (SELECT count(*) FROM incidents_componentstatuschange),
    (SELECT count(*) FROM incidents_incident WHERE origin = 'automatic'),
    (SELECT count(*) FROM incidents_incidentupdate),
    (SELECT deadlocks FROM pg_stat_database WHERE datname = current_database())"""
Call = tuple[int, bytes, float]  # status, body, seconds


def bench_env() -> dict[str, str]:
    return {
        **base_env(bench_database(DEFAULT_DATABASE_URL, DATABASE_NAME)),
        "REDIS_URL": CACHE_URL,
        "CELERY_BROKER_URL": BROKER_URL,
        "HELIOGRAPH_VAR_DIR": str(VAR_DIR),
        "STATIC_MANIFEST": "false",  # no collectstatic: the pages name plain files
        "PROBE_REGIONS": ",".join(REGIONS),
        # One client asks hundreds of times a minute; the throttle still counts.
        "API_RATE_LIMIT_PER_MINUTE": "1000000",
        "SNAPSHOT_STALE_AFTER_SECONDS": "86400",
    }


# --- 1. the dataset -------------------------------------------------------------


@dataclass
class Seeded:
    page_id: str
    token: str
    hook: str  # the Alertmanager integration's path
    secret: str
    writer: str  # a write token
    targets: tuple[str, str]  # components the writes move, one per server


def tables_empty() -> None:
    from django.contrib.auth.models import User
    from django.db import connection

    # TRUNCATE, not DELETE: the audit log's trigger refuses deletes.
    prefixes: tuple[str, ...] = ("incidents_", "notifications_", "probes_")
    prefixes += ("integrations_", "tokens_", "audit_")
    tables = [
        t for t in connection.introspection.table_names() if t.startswith(prefixes)
    ]
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
    User.objects.filter(username="bench").delete()  # with its roles and tokens


def components_make(count: int) -> list[Any]:
    from incidents.models import Component
    from incidents.services.page import page_update

    page_update(name="Bench", url="https://status.example.com")
    groups = Component.objects.bulk_create(
        Component(name=f"Region {g + 1:03}", is_group=True, position=g)
        for g in range((count + 19) // 20)
    )
    return Component.objects.bulk_create(
        Component(name=f"Service {n + 1:04}", group=groups[n // 20], position=n % 20)
        for n in range(count)
    )


def probes_make(leaves: list[Any], minutes: int, rng: random.Random) -> int:
    """An http probe per component, ``minutes`` of results in every region."""
    from probes.models import ProbeResult, RegionState
    from probes.services import probe_create

    now, made = dt.datetime.now(dt.UTC), 0
    for n, component in enumerate(leaves):
        config = {"url": f"https://service-{n + 1}.example.com/health"}
        name = f"Service {n + 1:04} health"
        probe, _ = probe_create(
            name=name, kind="http", component=component, config=config, regions=REGIONS
        )
        same = {"probe": probe, "component": component, "status_code": 200}
        times = [now - dt.timedelta(minutes=m) for m in range(minutes, 0, -1)]
        results = [
            ProbeResult(region=region, slot=at, started_at=at, **same)
            for region in REGIONS
            for at in times
        ]
        for result in results:  # one in 200 down, as a real target now and then
            result.outcome = "down" if rng.random() < 0.005 else "up"
            result.latency_ms = rng.uniform(20, 400)
        ProbeResult.objects.bulk_create(results)
        RegionState.objects.bulk_create(
            RegionState(probe=probe, region=region, component=component, successes=3)
            for region in REGIONS
        )
        made += len(results)
    return made


def incidents_make(count: int, leaves: list[Any]) -> None:
    """Resolved incidents, one every 8 hours back, three updates each."""
    from incidents.models import Incident, IncidentUpdate

    now, through = dt.datetime.now(dt.UTC), Incident.components.through
    began = [now - dt.timedelta(hours=8 * (count - i) + 2) for i in range(count)]
    incidents = [
        Incident(name=f"Elevated errors {i}", status="resolved", started_at=at)
        for i, at in enumerate(began)
    ]
    for i, incident in enumerate(incidents):
        incident.impact = ("minor", "major", "critical")[i % 3]
        incident.monitoring_at = began[i] + dt.timedelta(minutes=40)
        incident.resolved_at = began[i] + dt.timedelta(hours=1)
    Incident.objects.bulk_create(incidents)
    links, updates = [], []
    steps = (("investigating", "major_outage"), ("monitoring", ""))
    for i, incident in enumerate(incidents):
        hit = [leaves[(i * 7 + k) % len(leaves)] for k in range(1 + i % 3)]
        links += [through(incident_id=incident.pk, component_id=c.pk) for c in hit]
        for n, (status, new) in enumerate((*steps, ("resolved", "operational"))):
            old = "major_outage" if new == "operational" else "operational"
            moves = [{"code": c.public_id, "name": c.name} for c in hit]
            moves = [{**m, "old_status": old, "new_status": new} for m in moves]
            at = began[i] + dt.timedelta(minutes=20 * n)
            updates.append(
                IncidentUpdate(incident=incident, status=status, display_at=at)
            )
            updates[-1].body = f"{status.title()}: the details of this step."
            updates[-1].affected_components = moves if new else None
    through.objects.bulk_create(links, batch_size=5_000)
    IncidentUpdate.objects.bulk_create(updates, batch_size=5_000)


def subscribers_make(count: int, leaves: list[Any]) -> None:
    from notifications.models import Subscriber, new_signing_secret

    now, through = dt.datetime.now(dt.UTC), Subscriber.components.through
    subscribers = []
    for n in range(count):
        scope = "components" if n % 10 == 3 else "page"
        row = Subscriber(channel="email", email=f"reader{n}@example.com", scope=scope)
        if n % 10 == 0:
            row = Subscriber(channel="webhook", url=f"https://hooks.example.com/{n}")
            row.signing_secret = new_signing_secret()
        row.state, row.confirmed_at = "active", now
        subscribers.append(row)
    Subscriber.objects.bulk_create(subscribers)
    through.objects.bulk_create(
        through(subscriber_id=s.pk, component_id=leaves[(n * 13 + k) % len(leaves)].pk)
        for n, s in enumerate(subscribers)
        if s.scope == "components"
        for k in range(2)
    )


def alert_probes_make(components: list[Any]) -> None:
    from probes.services import probe_create

    for n, component in enumerate(components):
        matchers = {"alertname": "BenchDown", "service": f"svc-{n}"}
        name, config = f"Alerts of svc-{n}", {"matchers": matchers}
        probe_create(name=name, kind="alert", component=component, config=config)


def dataset_build(args: argparse.Namespace) -> tuple[Seeded, list[list[str]]]:
    from django.contrib.auth.models import Group, User

    from incidents.models import Page
    from integrations.services import integration_create
    from tokens.services import token_create
    from visitor.snapshot.publish import snapshot_publish

    rng, rows, leaves = random.Random(7), [], []
    steps = [
        ("components", lambda: leaves.extend(components_make(args.components))),
        ("http probes and results", lambda: probes_make(leaves, args.history, rng)),
        ("incidents and updates", lambda: incidents_make(args.incidents, leaves)),
        ("subscribers", lambda: subscribers_make(args.subscribers, leaves)),
        ("alert probes", lambda: alert_probes_make(leaves[: args.alert_probes])),
        ("snapshot_publish(full=True)", lambda: snapshot_publish(full=True)),
    ]
    for label, step in steps:
        started = time.perf_counter()
        made = step()
        what = f"{made:,} results" if isinstance(made, int) else ""
        rows.append([label, f"{time.perf_counter() - started:.1f}", what])
    # An admin's tokens: the permission checks run in full and pass.
    user = User.objects.create_user("bench", is_staff=True)
    user.groups.add(Group.objects.get(name="admin"))
    _, token = token_create(user=user, name="bench", scope="read")
    _, writer = token_create(user=user, name="bench writes", scope="write")
    integration, secret = integration_create(name="Bench", kind="alertmanager")
    hook = f"/api/v1/integrations/alertmanager/{integration.public_id}"
    targets = (leaves[-1].public_id, leaves[-2].public_id)  # no alert probe's
    return Seeded(Page.get().public_id, token, hook, secret, writer, targets), rows


# --- 2. reads -------------------------------------------------------------------


def call(
    connection: Connection, path: str, token: str, body: bytes = b"", method: str = ""
) -> Call:
    """GET ``path``, or POST ``body`` to it (or ``method``); with ``token`` as a
    Bearer token."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if body:
        headers["Content-Type"] = "application/json"
    started = time.perf_counter()
    method = method or ("POST" if body else "GET")
    connection.request(method, path, body or None, headers)
    answer = connection.getresponse()
    data = answer.read()
    return answer.status, data, time.perf_counter() - started


def in_process(path: str, token: str, body: bytes = b"") -> tuple[Call, Counter[str]]:
    """``call`` through django.test.Client in this process, with the statements it
    ran by first word (a GET after one to warm up). CaptureQueriesContext would stop
    counting at 9,000."""
    from django.db import connection
    from django.test import Client

    bearer = {"Authorization": f"Bearer {token}"} if token else {}
    client, seen = Client(HTTP_HOST="127.0.0.1", headers=bearer), Counter[str]()

    def count(execute: Any, sql: str, *args: Any) -> Any:
        seen[sql.split(None, 1)[0].upper()] += 1
        return execute(sql, *args)

    def ask() -> Any:
        if body:
            return client.post(path, body, content_type="application/json")
        return client.get(path)

    if not body:
        ask()
    started = time.perf_counter()
    with connection.execute_wrapper(count):
        answer = ask()
    took = time.perf_counter() - started
    return (answer.status_code, answer.content, took), seen


def reads_measure(port: int, seeded: Seeded, requests: int) -> list[list[str]]:
    """Endpoint after endpoint, round after round, so noise falls on all alike."""
    api, token = f"/api/v1/pages/{seeded.page_id}", seeded.token
    paths = [("/api/v2/summary.json (baseline)", "/api/v2/summary.json", "")]
    paths += [("/metrics", "/metrics", token)]
    paths += [(f"{n}?per_page={s}", f"{api}/{n}?per_page={s}", token) for n, s in LISTS]
    connection = Connection("127.0.0.1", port, timeout=120)
    for _ in range(4):  # every worker and thread has imported and connected
        for _, path, token in paths:
            call(connection, path, token)
    seconds: dict[str, list[float]] = {label: [] for label, _, _ in paths}
    sizes, errors = dict.fromkeys(seconds, 0), dict.fromkeys(seconds, 0)
    for _ in range(requests):
        for label, path, token in paths:
            status, body, took = call(connection, path, token)
            seconds[label].append(took * 1000)
            sizes[label], errors[label] = len(body), errors[label] + (status != 200)
    base, rows = statistics.median(seconds[paths[0][0]]), []
    for label, path, token in paths:
        ordered = sorted(seconds[label])
        p50, p95 = statistics.median(ordered), percentile(ordered, 0.95)
        rps, queries = 1000 / statistics.fmean(ordered), in_process(path, token)[1]
        row = [label, f"{p50:.1f}", f"{p95:.1f}", f"{rps:.1f}", f"{p50 / base:.0f}x"]
        rows.append(
            [*row, str(queries.total()), f"{sizes[label]:,}", str(errors[label])]
        )
    return rows


# --- 2b. what the access and audit checks cost ---------------------------------


def access_measure(ports: dict[str, int], seeded: Seeded, requests: int) -> list:
    """The same requests, in turns, to the server as it is and to one without the
    permission checks and the audit log (bench/unchecked_settings.py): the four
    lists with the read token, and a PATCH of a component's status with the write
    token (a status change: an audit row, sealed after the commit)."""
    api = f"/api/v1/pages/{seeded.page_id}"
    asks = [(f"GET {n}?per_page={s}", f"{api}/{n}?per_page={s}") for n, s in LISTS]
    connections = {
        side: Connection("127.0.0.1", port, timeout=120) for side, port in ports.items()
    }
    targets = dict(zip(ports, seeded.targets, strict=True))
    seconds: dict[tuple[str, str], list[float]] = {}
    errors: Counter[str] = Counter()

    def ask(label: str, side: str, *request: Any) -> None:
        status, _, took = call(connections[side], *request)
        seconds.setdefault((label, side), []).append(took * 1000)
        errors[label] += status >= 400

    statuses = ("degraded_performance", "operational")
    for n in range(requests + 4):  # the first rounds warm every worker up
        for side in ports:
            for label, path in asks:
                ask(label, side, path, seeded.token)
            body = json.dumps({"component": {"status": statuses[n % 2]}}).encode()
            path = f"{api}/components/{targets[side]}"
            ask("PATCH component status", side, path, seeded.writer, body, "PATCH")
    checked, unchecked = ports
    return [
        access_row(
            label, seconds[label, checked][4:], seconds[label, unchecked][4:], errors
        )
        for label in dict.fromkeys(label for label, _ in seconds)
    ]


def access_row(
    label: str, checked: list[float], unchecked: list[float], errors: Counter[str]
) -> list[str]:
    with_p = sorted(checked), sorted(unchecked)
    p50s = [statistics.median(ordered) for ordered in with_p]
    p95s = [percentile(ordered, 0.95) for ordered in with_p]
    cost = [f"{(a - b) / b:+.1%}" for a, b in (p50s, p95s)]
    return [
        label,
        *(f"{value:.1f}" for value in (p50s[0], p95s[0], p50s[1], p95s[1])),
        *cost,
        str(errors[label]),
    ]


def audit_size_measure(writes: int) -> list[list[str]]:
    """``writes`` audit rows of a typical change (a component's status, by a
    token, with an address and a user agent), written as the services write them
    (a thousand a transaction, each sealed after its commit); the table's size on
    disk with its indexes, as left by the writes (sealing leaves each row's first
    version for autovacuum to reuse) and packed (VACUUM FULL), per 100,000."""
    from django.db import connection, transaction

    from audit import chain
    from audit.context import Actor, ActorKind
    from audit.recording import record

    who = Actor(
        kind=ActorKind.TOKEN,
        name="deploy-bot",
        user_id=1,
        token_id=1,
        token_prefix="hg_AbCdE",
        detail="deploys",
        address="203.0.113.9",
        user_agent="deploy-script/2 (python-requests/2.32)",
    )
    started = time.perf_counter()
    for start in range(0, writes, 1000):
        with transaction.atomic():
            for n in range(start, min(start + 1000, writes)):
                change = {"status": ["operational", "major_outage"][:: 1 - 2 * (n % 2)]}
                record(
                    "changed",
                    object_type="incidents.component",
                    object_id=str(n % 1000),
                    object_repr=f"Component {n % 1000:04}",
                    changes=change,
                    actor=who,
                )
    written = time.perf_counter() - started

    def size() -> tuple[int, int, float]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_total_relation_size('audit_auditentry'), count(*), "
                "avg(pg_column_size(a.*)) FROM audit_auditentry a"
            )
            return cursor.fetchone()

    left, rows, row_bytes = size()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM FULL audit_auditentry")
    packed, _, _ = size()
    started = time.perf_counter()
    report = chain.verify()
    verifying = time.perf_counter() - started

    def per_100k(total: int) -> str:
        return f"{total / rows * 100_000 / 2**20:.1f}"

    return [
        [
            f"{writes:,} ({rows:,} in all)",
            f"{writes / written:,.0f}",
            f"{row_bytes:.0f}",
            per_100k(left),
            per_100k(packed),
            f"{report.checked / verifying:,.0f}",
            "intact" if report.ok else f"BROKEN: {report.problems[:1]}",
        ]
    ]


# --- 3. Alertmanager ------------------------------------------------------------


def alert_body(services: range, status: str) -> bytes:
    """Alertmanager's webhook body, version 4, one alert per service."""
    alerts = []
    for n in services:
        labels = {"alertname": "BenchDown", "service": f"svc-{n}"}
        alerts.append({"status": status, "labels": {**labels, "severity": "critical"}})
        alerts[-1]["annotations"] = {"summary": f"svc-{n} answers 5xx"}
        alerts[-1] |= {"startsAt": "2025-01-01T00:00:00Z", "fingerprint": f"{n:016x}"}
    common = {"alertname": "BenchDown"}
    body: dict[str, object] = {"version": "4", "status": status}
    body["receiver"] = "heliograph"
    body |= {"groupKey": '{}:{alertname="BenchDown"}', "groupLabels": common}
    body |= {"commonLabels": common, "externalURL": "http://alertmanager:9093"}
    return json.dumps({**body, "alerts": alerts, "truncatedAlerts": 0}).encode()


def tally() -> tuple[int, ...]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(TALLY)
        return tuple(cursor.fetchone())


def automatic_resolve() -> None:
    """What beat does once a recovery has held AUTO_RESOLVE_AFTER_SECONDS."""
    from django.conf import settings

    from probes.automation import automatic_incidents_resolve

    held = dt.timedelta(seconds=settings.AUTO_RESOLVE_AFTER_SECONDS + 1)
    automatic_incidents_resolve(now=dt.datetime.now(dt.UTC) + held)


def post_at(gate: threading.Barrier, port: int, seeded: Seeded, body: bytes) -> Call:
    """Connect, wait for the others, POST; a refused or reset POST is status 0."""
    connection = Connection("127.0.0.1", port, timeout=300)
    connection.connect()
    gate.wait()
    try:
        return call(connection, seeded.hook, seeded.secret, body)
    except OSError as error:
        return 0, str(error).encode(), 0.0


def posts(port: int, seeded: Seeded, bodies: list[bytes]) -> tuple[float, list[Call]]:
    """Every body at once, a thread and a connection each; the time until all end."""
    gate = threading.Barrier(len(bodies) + 1)
    with ThreadPoolExecutor(len(bodies)) as pool:
        futures = [pool.submit(post_at, gate, port, seeded, body) for body in bodies]
        gate.wait()
        started = time.perf_counter()
        calls = [future.result() for future in futures]
    return time.perf_counter() - started, calls


def write_row(label: str, took: float, calls: list[Call], before: tuple) -> list:
    """A POST's figures, and what it did: the counters of TALLY, after - before."""
    codes = Counter(code for code, _, _ in calls)
    matched = sum(json.loads(body)["matched"] for code, body, _ in calls if code == 200)
    did = [after - then for after, then in zip(tally(), before, strict=True)]
    slowest = max(seconds for _, _, seconds in calls)
    answers = " ".join(f"{n}x{code}" for code, n in sorted(codes.items()))
    return [
        label,
        str(len(calls)),
        f"{took:.2f}",
        f"{slowest:.2f}",
        answers,
        matched,
        *did,
    ]


def writes_measure(
    port: int, seeded: Seeded, args: argparse.Namespace
) -> tuple[list[list[str]], list[str]]:
    """The storm in this process (its statements counted), then over HTTP per
    round, then the one-alert bodies at once; each firing, then resolved. Returns
    the rows and the in-process storm's statements by kind."""
    size, first = args.alerts, (args.rounds + 1) * args.alerts
    storms = [[range(n * size, (n + 1) * size)] for n in range(args.rounds + 1)]
    smalls = [range(first + n, first + n + 1) for n in range(args.concurrent)]
    rows, kinds = [], []
    for n, groups in enumerate([*storms, smalls]):
        for status in ("firing", "resolved"):
            bodies, before = [alert_body(group, status) for group in groups], tally()
            label = f"{status}: {len(groups[0])} alerts"
            if len(groups) > 1:
                label = f"{status}: {len(groups)} x 1 alert, at once"
            if n == 0:
                answer, seen = in_process(seeded.hook, seeded.secret, bodies[0])
                row = write_row(f"{label}, in process", answer[2], [answer], before)
                rows.append([*row, seen.total()])
                counted = ", ".join(f"{k} {v}" for k, v in seen.most_common())
                kinds.append(f"{status}: {counted}")
                continue
            took, calls = posts(port, seeded, bodies)
            rows.append([*write_row(label, took, calls, before), "-"])
        automatic_resolve()
    return [[str(cell) for cell in row] for row in rows], kinds


# --- report ---------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--components", type=int, default=1000)
    parser.add_argument("--incidents", type=int, default=2000)
    parser.add_argument("--subscribers", type=int, default=5000)
    parser.add_argument("--history", type=int, default=120, help="minutes of results")
    parser.add_argument("--requests", type=int, default=50, help="per endpoint")
    parser.add_argument("--alerts", type=int, default=100, help="alerts per storm")
    parser.add_argument("--rounds", type=int, default=3, help="storms over HTTP")
    parser.add_argument("--concurrent", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2, help="granian workers")
    parser.add_argument("--threads", type=int, default=2, help="per granian worker")
    parser.add_argument(
        "--audit-writes", type=int, default=100_000, help="rows for the log's size"
    )
    parser.add_argument("--quick", action="store_true", help="about a minute")
    args = parser.parse_args()
    if args.quick:
        vars(args).update(QUICK)
    args.alert_probes = (args.rounds + 1) * args.alerts + args.concurrent
    if args.alert_probes > args.components:
        parser.error(f"the alert probes need {args.alert_probes} components")
    return args


def access_report(port: int, seeded: Seeded, args: argparse.Namespace) -> None:
    """A second server on the same data without the checks, side by side."""
    other = free_port()
    unchecked = ["env", "DJANGO_SETTINGS_MODULE=unchecked_settings"]
    unchecked += [f"PYTHONPATH={Path(__file__).parent}", *server_command(other, args)]
    probe = f"http://127.0.0.1:{other}/api/v2/status.json"
    with running(unchecked, probe, LOG):
        ports = {"with": port, "without": other}
        rows = access_measure(ports, seeded, args.requests)
    print(
        f"access and audit checks: the same requests with and without them, "
        f"{args.requests} each, in turns (ms)"
    )
    header = ["request", "p50 with", "p95 with", "p50 without", "p95 without"]
    print_table([*header, "cost p50", "cost p95", "errors"], rows)


def server_command(port: int, args: argparse.Namespace) -> list[str]:
    command = [str(Path(sys.executable).parent / "granian"), "--interface", "wsgi"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--workers"]
    command += [str(args.workers), "--blocking-threads", str(args.threads)]
    return [*command, "--log-level", "warning", "statuspage.wsgi:application"]


def main() -> None:
    args = parse_args()
    env = bench_env()
    os.environ.update(env)
    shutil.rmtree(VAR_DIR, ignore_errors=True)
    (VAR_DIR / "static").mkdir(parents=True)  # WhiteNoise warns when it is missing
    LOG.write_bytes(b"")
    database_prepare(env["DATABASE_URL"])
    for url in (CACHE_URL, BROKER_URL):
        redis_flush(url)

    import django

    django.setup()
    note = f"  granian {args.workers} workers x {args.threads} threads, as bin/run"
    print_machine(CACHE_URL, ("Django", "djangorestframework", "granian"), note)
    try:
        tables_empty()
        seeded, rows = dataset_build(args)
        print("dataset")
        print_table(["step", "s", "rows"], rows)
        port = free_port()
        probe = f"http://127.0.0.1:{port}/api/v2/status.json"
        with running(server_command(port, args), probe, LOG):
            print(f"reads: one client, {args.requests} requests each, in turns (ms)")
            header = ["GET", "p50", "p95", "req/s", "p50 vs base", "queries", "bytes"]
            print_table([*header, "errors"], reads_measure(port, seeded, args.requests))
            access_report(port, seeded, args)
            print("Alertmanager: POST bodies of alerts, each to its own probe (s)")
            header = ["bodies", "POSTs", "s", "slowest", "answers", "matched"]
            header += ["status changes", "incidents opened"]
            rows, kinds = writes_measure(port, seeded, args)
            print_table([*header, "updates", "deadlocks", "queries"], rows)
            print("  the storm's statements in process, by kind:", *kinds, sep="\n    ")
        print(f"audit log: {args.audit_writes:,} rows of a component's change")
        header = ["rows", "written and sealed/s", "bytes a row", "MiB/100k as left"]
        header += ["MiB/100k packed", "verified/s", "chain"]
        print_table(header, audit_size_measure(args.audit_writes))
        logged = LOG.read_text(errors="replace")
        tracebacks, deadlocks = logged.count("Traceback"), logged.count("deadlock")
        print(f"server log ({LOG}): {tracebacks} tracebacks, {deadlocks} deadlocks")
    finally:
        for url in (CACHE_URL, BROKER_URL):
            redis_flush(url)


if __name__ == "__main__":
    main()
