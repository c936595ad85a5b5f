"""Chaos on the production shape: issue 13's chaos run, again, with figures.

granian, beat, a central worker (default, notifications), a dispatch worker and one
worker per region (eu, us, ap), each a process of its own on PostgreSQL and Redis; the
probe target, an SMTP sink and a webhook receiver run in this process. Scenarios:
1. setup; 2. the target down, every region up; 3. two region workers SIGKILLed, the
target down, then healthy; 4. those workers back with batches queued; 5. the central
worker SIGKILLed mid fan-out; 6. bad bodies. It never fails on a figure, only when
the stack cannot start.

    make chaos
    .venv/bin/python bench/chaos.py [--json] [--scenarios 2,3,4,5,6]
        [--down-seconds 90] [--healthy-seconds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import common
from common import BENCH_DIR, ROOT, print_table

DATABASE_NAME = "hg_chaos"
DEFAULT_DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{DATABASE_NAME}"
CACHE_URL = "redis://127.0.0.1:6379/9"
BROKER_URL = "redis://127.0.0.1:6379/8"
VAR_DIR = BENCH_DIR / "chaos"
BIN = Path(sys.executable).parent
REGIONS = ("eu", "us", "ap")
KILLED = ("us", "ap")
STAFF = "staff@chaos.example"
EMAILS, WEBHOOKS = 200, 5
OPERATIONAL = "All Systems Operational"
# Results read before a restart too: the streaks' last counted one may be older.
KEEP = dt.timedelta(minutes=10)
HEADLINE = re.compile(r'<h1 id="overall-status">.*?</span>\s*(.*?)\s*</h1>', re.S)
MESSAGE_ID = re.compile(rb"^Message-ID:\s*(\S+)", re.I | re.M)
Figures = dict[str, Any]


# --- what the stack talks to, in this process ----------------------------------------


class Local(ThreadingHTTPServer):
    """The probe target (GET: 200 while healthy, 503 while down) or the webhook
    receiver (POST: 200, counting each ``webhook-id``)."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Answer)
        self.healthy = True
        self.webhook_ids: Counter[str] = Counter()
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def total(self) -> int:
        return sum(self.webhook_ids.values())


class Answer(BaseHTTPRequestHandler):
    server: Local

    def do_GET(self) -> None:
        self.reply(200 if self.server.healthy else 503)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.webhook_ids[self.headers.get("webhook-id", "none")] += 1
        self.reply(200)

    def reply(self, status: int) -> None:
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: Any) -> None:
        pass


class Sink:
    """aiosmtpd handler: counts each Message-ID and each recipient, after ``delay``
    seconds a message (so that a fan-out lasts long enough to be interrupted)."""

    def __init__(self) -> None:
        self.message_ids: Counter[str] = Counter()
        self.recipients: Counter[str] = Counter()
        self.delay = 0.0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        found = MESSAGE_ID.search(envelope.original_content or b"")
        self.message_ids[found.group(1).decode() if found else "none"] += 1
        self.recipients.update(envelope.rcpt_tos)
        return "250 Message accepted for delivery"

    def total(self) -> int:
        return sum(self.message_ids.values())


# --- the stack ------------------------------------------------------------------------


def chaos_env(page_port: int, smtp_port: int) -> dict[str, str]:
    return {
        **common.base_env(common.bench_database(DEFAULT_DATABASE_URL, DATABASE_NAME)),
        "REDIS_URL": CACHE_URL,
        "CELERY_BROKER_URL": BROKER_URL,
        "HELIOGRAPH_VAR_DIR": str(VAR_DIR),
        "STATIC_MANIFEST": "false",  # no collectstatic: the pages name plain files
        "SECURE_COOKIES": "false",
        "PROBE_REGIONS": ",".join(REGIONS),
        "PROBE_SILENT_MIN_SECONDS": "10",
        "MONITORING_SWEEP_SECONDS": "2",
        "AUTO_RESOLVE_AFTER_SECONDS": "10",
        "AUTO_RESOLVE_CHECK_SECONDS": "2",
        "STAFF_ALERT_EMAILS": STAFF,
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_port),
        # Four mail batches, so that a worker killed mid-fan-out leaves some of each.
        "NOTIFICATIONS_BATCH_SIZE": "50",
        "NOTIFICATIONS_ALLOW_PRIVATE_TARGETS": "true",  # the receiver is on 127.0.0.1
        "METRICS_ALLOWED_IPS": "127.0.0.1",
        "API_RATE_LIMIT_PER_MINUTE": "100000",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PAGE_PORT": str(page_port),
    }


def commands(page_port: int) -> dict[str, list[str]]:
    celery = [str(BIN / "celery"), "-A", "statuspage"]
    worker = [*celery, "worker", "--loglevel", "WARNING", "--without-mingle"]
    found = {
        "web": [str(BIN / "granian"), "--interface", "wsgi", "--host", "127.0.0.1"]
        + ["--port", str(page_port), "--workers", "1", "--blocking-threads", "2"]
        + ["--log-level", "warning", "statuspage.wsgi:application"],
        "beat": [*celery, "beat", "--loglevel", "WARNING", "--schedule"]
        + [str(VAR_DIR / "celerybeat-schedule")],
        "central": [*worker, "-Q", "default,notifications", "--pool", "threads"]
        + ["--concurrency", "8", "--hostname", "central@%h"],
        "dispatch": [*worker, "-Q", "dispatch", "--concurrency", "1"]
        + ["--hostname", "dispatch@%h"],
    }
    for region in REGIONS:
        found[region] = [*worker, "-Q", f"probes.{region}", "--concurrency", "1"]
        found[region] += ["--hostname", f"{region}@%h"]
    return found


class Stack:
    """Each process in a session of its own, so a SIGKILL takes its children too."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env, self.page = env, f"http://127.0.0.1:{env['PAGE_PORT']}"
        self.commands = commands(int(env["PAGE_PORT"]))
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str) -> None:
        with open(VAR_DIR / f"{name}.log", "ab") as log:
            self.processes[name] = subprocess.Popen(
                self.commands[name], cwd=ROOT, env=self.env, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip

    def kill(self, name: str) -> None:
        process = self.processes.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)

    def stop(self) -> None:
        for process in self.processes.values():
            common.stop_process(process)
        self.processes.clear()

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(self.page + path, timeout=10) as answer:
                return answer.status, answer.read().decode(errors="replace")
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace")
        except OSError as error:
            return 0, str(error)


def database_reset(database_url: str) -> None:
    """A fresh database each run: drop ours (only hg_chaos), create and migrate."""
    import psycopg

    admin_url = urlsplit(database_url)._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{DATABASE_NAME}" WITH (FORCE)')
    common.database_prepare(database_url)


def seed(target: str, receiver: str) -> Figures:
    """The component, its http probe, the subscribers, a write token, the two
    inbound integrations and an alert probe they feed (on a component of its own)."""
    from django.contrib.auth.models import User

    from incidents.services import component_create
    from integrations.services import integration_create
    from notifications.models import Channel, Subscriber, SubscriberState
    from notifications.models import new_signing_secret as secret
    from probes.services import probe_create
    from tokens.services import token_create

    login = component_create(name="Login/logout path")
    probe, _ = probe_create(
        name="Sign-in page", kind="http", component=login, config={"url": target},
        regions=list(REGIONS), interval_seconds=2, timeout_seconds=1,
        failures_to_down=3,
    )  # fmt: skip
    alerts = component_create(name="Alerted service")
    probe_create(
        name="Chaos alert", kind="alert", component=alerts, regions=["eu"],
        config={"matchers": {"alertname": "ChaosDown"}},
    )  # fmt: skip
    active = {"state": SubscriberState.ACTIVE, "confirmed_at": dt.datetime.now(dt.UTC)}
    Subscriber.objects.bulk_create(
        [Subscriber(channel=Channel.EMAIL, email=f"s{n}@chaos.example", **active)
         for n in range(EMAILS)]
        + [Subscriber(channel=Channel.WEBHOOK, url=f"{receiver}/ok/{n}",
                      email="ops@chaos.example", signing_secret=secret(), **active)
           for n in range(WEBHOOKS)]
    )  # fmt: skip
    admin = User.objects.create_superuser("chaos", "chaos@chaos.example", None)
    _, token = token_create(user=admin, name="chaos", scope="write")
    alertmanager, am_secret = integration_create(name="am", kind="alertmanager")
    generic, generic_secret = integration_create(name="generic", kind="generic")
    return {
        "component_id": login.pk, "probe_id": probe.pk, "token": token,
        "alertmanager": (alertmanager.public_id, am_secret),
        "webhook": (generic.public_id, generic_secret),
    }  # fmt: skip


# --- reading the database ---------------------------------------------------------


now = time.monotonic


def wait_for(check: Callable[[], Any], timeout: float, every: float = 0.5) -> Any:
    """Call ``check`` until it returns something true, or None after ``timeout``."""
    deadline = now() + timeout
    while now() < deadline:
        found = check()
        if found:
            return found
        time.sleep(every)
    return None


def component_status(pk: int) -> str:
    from incidents.models import Component

    return str(Component.objects.get(pk=pk).status)


def degraded_since(pk: int) -> dt.datetime | None:
    from probes.models import ComponentVerdict

    verdict = ComponentVerdict.objects.filter(component_id=pk).first()
    return verdict.monitoring_degraded_since if verdict else None


def automatic_incidents() -> Any:
    from incidents.models import Incident, Origin

    return Incident.objects.incidents().filter(origin=Origin.AUTOMATIC)


def dropped() -> dict[str, int]:
    from probes.models import DroppedSlots

    return dict(DroppedSlots.objects.values_list("region", "count"))


def metrics_dropped(stack: Stack) -> dict[str, int]:
    _, text = stack.get("/metrics")
    found = re.findall(r'slots_dropped_total\{region="(\w+)"\} ([\d.e+]+)', text)
    return {region: int(float(value)) for region, value in found}


def results_by_region(probe_id: int, since: dt.datetime) -> dict[str, list[float]]:
    from probes.models import ProbeResult

    rows = ProbeResult.objects.filter(probe_id=probe_id, started_at__gte=since)
    found: dict[str, list[float]] = {region: [] for region in REGIONS}
    for region, started in rows.values_list("region", "started_at"):
        found[region].append(started.timestamp())
    return {region: sorted(times) for region, times in found.items()}


def elapsed(began: float, at: float | None) -> float | None:
    return None if at is None else round(at - began, 1)


def page_says(stack: Stack) -> tuple[str, str, bool]:
    """The page's headline, status.json's description, and whether a component
    row says its monitoring is delayed."""
    code, html = stack.get("/")
    found = HEADLINE.search(html)
    headline = found.group(1) if found else f"HTTP {code}"
    code, body = stack.get("/api/v2/status.json")
    try:
        description = str(json.loads(body)["status"]["description"])
    except (ValueError, KeyError, TypeError):
        description = f"HTTP {code}"
    return headline, description, "Automated monitoring delayed" in html


def sighted(seen: dict[str, list[float]], value: str, at: float) -> None:
    """Count a value seen, keeping when it was first seen (s into the scenario)."""
    seen.setdefault(value, [0, round(at, 1)])[0] += 1


def sightings(seen: dict[str, list[float]]) -> str:
    return "; ".join(f"{k}: {n:g}x from {t:g} s" for k, (n, t) in seen.items())


def counted_gaps(times: list[float], since: float, spacing: float) -> list[float]:
    """Gaps between consecutive results from ``since`` that the streaks counted,
    by probes.verdict's rule: a result taken less than ``spacing`` after the last
    counted one counts for nothing. (Taken as started_at, in that order.)"""
    counted, last = [], None
    for at in times:
        if last is None or at >= last + spacing:
            last = at
            if at >= since:
                counted.append(at)
    return [b - a for a, b in zip(counted, counted[1:], strict=False)]


# --- scenarios --------------------------------------------------------------------


def setup(stack: Stack, seeded: Figures) -> Figures:
    began = now()
    for name in stack.commands:
        stack.start(name)
    page = wait_for(lambda: stack.get("/")[0] == 200, 90)
    epoch = dt.datetime.now(dt.UTC)
    speaking = wait_for(
        lambda: all(results_by_region(seeded["probe_id"], epoch).values()), 90
    )
    if not (page and speaking):
        raise RuntimeError(f"the stack did not come up: see {VAR_DIR}/*.log")
    return {
        "processes": ", ".join(stack.commands),
        "subscribers": f"{EMAILS} email (SMTP sink), {WEBHOOKS} webhook (receiver)",
        "seconds until the page answers and every region has a result": round(
            now() - began, 1
        ),
    }


def target_down(stack: Stack, target: Local, seeded: Figures) -> Figures:
    began = now()
    target.healthy = False
    pk = seeded["component_id"]
    down = wait_for(lambda: component_status(pk) == "major_outage" and now(), 60)
    opened = wait_for(lambda: automatic_incidents().unresolved().exists() and now(), 60)
    page = wait_for(lambda: page_says(stack)[0] != OPERATIONAL and now(), 60, 0.2)
    api = wait_for(lambda: page_says(stack)[1] != OPERATIONAL and now(), 60, 0.2)
    return {
        "seconds until major_outage": elapsed(began, down),
        "seconds until an automatic incident is open": elapsed(began, opened),
        "seconds until the page's headline is not operational": elapsed(began, page),
        "seconds until status.json is not operational": elapsed(began, api),
    }


def regions_killed(
    stack: Stack, target: Local, sink: Sink, seeded: Figures, args: argparse.Namespace
) -> Figures:
    """Kill two of three region workers with the target down; mend the target after
    ``--down-seconds`` and watch ``--healthy-seconds`` more."""
    pk, staff_before = seeded["component_id"], sink.recipients[STAFF]
    began, began_at = now(), dt.datetime.now(dt.UTC)
    target.healthy = False
    for region in KILLED:
        stack.kill(region)
    degraded_at, mended = None, None
    seen: dict[str, dict[str, list[float]]] = {}
    while now() < began + args.down_seconds + args.healthy_seconds:
        if mended is None and now() >= began + args.down_seconds:
            target.healthy, mended = True, now()
        if degraded_at is None and degraded_since(pk):
            degraded_at = now()
        headline, description, delayed_row = page_says(stack)
        incident = automatic_incidents().order_by("-pk").first()
        for name, value in (
            ("page headline", headline),
            ("status.json description", description),
            ("a component row says monitoring delayed", str(delayed_row)),
            ("component status", component_status(pk)),
            ("automatic incident status", incident.status if incident else "none"),
        ):
            sighted(seen.setdefault(name, {}), value, now() - began)
        time.sleep(1)
    figures: Figures = {
        "seconds until monitoring_degraded_since is set": elapsed(began, degraded_at),
        "target mended at (s)": elapsed(began, mended),
        **{f"{name} (seen)": sightings(values) for name, values in seen.items()},
        "automatic incidents resolved in the window": automatic_incidents()
        .filter(resolved_at__gte=began_at)
        .count(),
        "automatic incidents still open": automatic_incidents().unresolved().count(),
        "staff alerts mailed": sink.recipients[STAFF] - staff_before,
    }
    return figures


def regions_back(
    stack: Stack, sink: Sink, seeded: Figures, killed_at: float
) -> Figures:
    import redis
    from django.conf import settings

    pk, staff_before = seeded["component_id"], sink.recipients[STAFF]
    broker = redis.Redis.from_url(BROKER_URL)
    queued = {region: broker.llen(f"probes.{region}") for region in KILLED}
    dropped_before, metrics_before = dropped(), metrics_dropped(stack)
    began, restart_at = now(), dt.datetime.now(dt.UTC)
    for region in KILLED:
        stack.start(region)
    recovered = wait_for(lambda: degraded_since(pk) is None and now(), 120)
    resolved = wait_for(
        lambda: not automatic_incidents().unresolved().exists() and now(), 60
    )
    time.sleep(5)
    dropped_after, metrics_after = dropped(), metrics_dropped(stack)
    results = results_by_region(seeded["probe_id"], restart_at - KEEP)
    spacing = 2 * settings.PROBE_STREAK_MIN_SPACING_PERCENT / 100
    figures: Figures = {
        "region workers down (s)": round(began - killed_at, 1),
        "seconds until monitoring recovered": elapsed(began, recovered),
        "seconds until the automatic incident resolved": elapsed(began, resolved),
        "staff alerts mailed": sink.recipients[STAFF] - staff_before,
    }
    for region in REGIONS:
        times = [t for t in results[region] if t >= restart_at.timestamp()]
        gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
        counted = counted_gaps(results[region], restart_at.timestamp(), spacing)
        figures[region] = {
            "batches queued at restart": queued.get(region, 0),
            "slots dropped (table)": dropped_after.get(region, 0)
            - dropped_before.get(region, 0),
            "slots dropped (/metrics)": metrics_after.get(region, 0)
            - metrics_before.get(region, 0),
            "results after restart": len(times),
            "min gap between results (s)": round(min(gaps), 3) if gaps else None,
            "gaps under 1 s": sum(gap < 1 for gap in gaps),
            "min gap between counted results (s)": (
                round(min(counted), 3) if counted else None
            ),
        }
    return figures


def fan_out_killed(stack: Stack, sink: Sink, receiver: Local) -> Figures:
    """Post an incident to every subscriber, SIGKILL the central worker once the sink
    has taken 20 of its mails, restart it 2 s later and wait for every delivery."""
    from django.db.models import Max

    from incidents.services import incident_create
    from notifications.models import Attempt, Delivery, DeliveryState, Event

    busy = Delivery.objects.filter(state__in=("pending", "sending"))
    wait_for(lambda: not busy.exists(), 60)
    sink.delay = 0.1  # 50 mails a batch: each batch takes about 5 s
    mails, ids, hooks = sink.total(), len(sink.message_ids), receiver.total()
    incident = incident_create(name="Chaos fan-out", body="Sign-in fails for some.")
    event = wait_for(lambda: Event.objects.filter(incident=incident).first(), 10)
    deliveries = Delivery.objects.filter(event=event)
    delivered = deliveries.filter(state=DeliveryState.DELIVERED)
    wait_for(lambda: sink.total() - mails >= 20, 60, every=0.05)
    at_kill = f"{deliveries.count()} / {delivered.count()} / {sink.total() - mails}"
    stack.kill("central")
    time.sleep(2)
    began, restart_at = now(), dt.datetime.now(dt.UTC)
    at_restart = f"{deliveries.count()} / {delivered.count()}"
    stack.start("central")

    def all_delivered() -> bool:
        event.refresh_from_db()
        return bool(event.fanned_out_at) and delivered.count() == deliveries.count()

    done = wait_for(lambda: all_delivered() and now(), 180)
    sink.delay = 0.0
    interrupted = Attempt.objects.filter(delivery__event=event, interrupted=True)
    redone = deliveries.filter(attempt_log__interrupted=True).aggregate(
        Max("delivered_at")
    )
    last = redone["delivered_at__max"]
    return {
        "deliveries": deliveries.count(),
        "planned / delivered / mails taken by the sink at the kill": at_kill,
        "planned / delivered at restart": at_restart,
        "seconds from restart until the interrupted ones are delivered": (
            round((last - restart_at).total_seconds(), 1) if last else None
        ),
        "seconds from restart until every delivery is delivered": elapsed(began, done),
        "not delivered at the end": deliveries.count() - delivered.count(),
        "attempts marked interrupted": interrupted.count(),
        "mails received / distinct Message-IDs / repeats": (
            f"{sink.total() - mails} / {len(sink.message_ids) - ids} / "
            f"{sink.total() - mails - (len(sink.message_ids) - ids)}"
        ),
        "webhooks received / repeats by webhook-id": (
            f"{receiver.total() - hooks} / "
            f"{sum(n - 1 for n in receiver.webhook_ids.values() if n > 1)}"
        ),
    }


def post(
    port: int, path: str, body: bytes, headers: dict[str, str], chunked: bool
) -> int:
    """POST over a plain socket; the status code, 0 if none came. It stops sending
    once an answer is there: a server may refuse a body before reading it all."""
    head = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    head += ["Content-Type: application/json"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    pieces = [body[i : i + 65536] for i in range(0, len(body), 65536)]
    if chunked:
        head.append("Transfer-Encoding: chunked")
        pieces = [b"%x\r\n%s\r\n" % (len(p), p) for p in pieces] + [b"0\r\n\r\n"]
    else:
        head.append(f"Content-Length: {len(body)}")
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        with contextlib.suppress(OSError):
            sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
            for piece in pieces:
                if select.select([sock], [], [], 0)[0]:
                    break
                sock.sendall(piece)
        try:
            status = sock.recv(64).split(b" ")
        except OSError:
            return 0
    return int(status[1]) if len(status) > 1 and status[1].isdigit() else 0


def written() -> tuple[int, ...]:
    from audit.models import AuditEntry
    from incidents.models import Component, Incident
    from probes.models import ProbeResult

    return (
        Component.objects.count(),
        Incident.objects.count(),
        ProbeResult.objects.filter(probe__kind="alert").count(),
        AuditEntry.objects.count(),
    )


def bad_bodies(stack: Stack, seeded: Figures) -> list[Figures]:
    from incidents.models import Page

    token = {"Authorization": f"Bearer {seeded['token']}"}
    components = f"/api/v1/pages/{Page.get().public_id}/components"
    alert = {"status": "firing", "labels": {"alertname": "ChaosDown"}}
    nul = {"status": "firing", "labels": {"alertname": "ChaosDown", "pod": "a\0b"}}
    batch = {"version": "4", "status": "firing", "alerts": [alert, nul]}
    deep = b'{"component": {"name": "deep", "description": ' + b"[" * 50000
    big = json.dumps({"component": {"name": "big", "description": "x" * 3_000_000}})
    cases = [
        ("alertmanager", "NUL in a label", json.dumps(batch).encode()),
        ("webhook", "NUL in a label", json.dumps({"alerts": [alert, nul]}).encode()),
        ("api", "JSON nested 50,000 deep", deep + b"]" * 50000 + b"}}"),
        ("api", "chunked, 3 MB", big.encode()),
        ("api", "chunked, small and valid", b'{"name": "Chunked one"}'),
        ("api", "oversize, 3 MB (Content-Length)", big.encode()),
        ("api", "NUL in a name", json.dumps({"name": "a\0b"}).encode()),
    ]
    rows = []
    for where, what, body in cases:
        if where == "api":
            path, headers = components, token
        else:
            public_id, secret = seeded[where]
            path = f"/api/v1/integrations/{where}/{public_id}"
            headers = {"Authorization": f"Bearer {secret}"}
        before = written()
        port, chunked = int(stack.env["PAGE_PORT"]), what.startswith("chunked")
        status = post(port, path, body, headers, chunked)
        after = written()
        rows.append({"endpoint": where, "body": what, "status": status})
        rows[-1]["written"] = after != before
    return rows


# --- the run --------------------------------------------------------------------------


def print_figures(title: str, figures: Figures) -> None:
    print(title)
    rows = []
    for name, value in figures.items():
        if name.startswith("_"):
            continue
        if isinstance(value, dict) and name in REGIONS:
            rows += [[f"{name}: {k}", str(v)] for k, v in value.items()]
        else:
            rows.append([name, str(value)])
    print_table(["figure", "value"], rows)


def run(args: argparse.Namespace) -> Figures:
    from aiosmtpd.controller import Controller

    target, receiver, sink = Local(), Local(), Sink()
    smtp = Controller(sink, hostname="127.0.0.1", port=common.free_port())
    smtp.start()
    env = chaos_env(common.free_port(), smtp.port)
    os.environ.update(env)
    shutil.rmtree(VAR_DIR, ignore_errors=True)
    (VAR_DIR / "static").mkdir(parents=True)  # WhiteNoise warns when it is missing
    database_reset(env["DATABASE_URL"])
    for url in (CACHE_URL, BROKER_URL):
        common.redis_flush(url)
    import django

    django.setup()
    seeded = seed(target.url + "/login", receiver.url)
    stack = Stack(env)
    figures: Figures = {}
    scenarios: list[tuple[int, str, Callable[[], Any]]] = [
        (2, "target down", lambda: target_down(stack, target, seeded)),
        (
            3,
            "regions killed",
            lambda: regions_killed(stack, target, sink, seeded, args),
        ),
        (4, "regions back", lambda: regions_back(stack, sink, seeded, killed_at)),
        (5, "fan-out killed", lambda: fan_out_killed(stack, sink, receiver)),
        (6, "bad bodies", lambda: bad_bodies(stack, seeded)),
    ]
    killed_at = 0.0
    try:
        figures["setup"] = setup(stack, seeded)
        for number, name, scenario in scenarios:
            if number not in args.scenarios or (number == 4 and not killed_at):
                continue
            killed_at = now() if number == 3 else killed_at
            try:
                figures[name] = scenario()
            except Exception as error:  # one scenario's figures lost, not the run's
                figures[name] = {"error": f"{type(error).__name__}: {error}"}
    finally:
        stack.stop()
        smtp.stop()
        for server in (target, receiver):
            server.shutdown()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--down-seconds", type=float, default=90)
    parser.add_argument("--healthy-seconds", type=float, default=30)
    parser.add_argument(
        "--scenarios",
        type=lambda text: {int(n) for n in text.split(",")},
        default={2, 3, 4, 5, 6},
        help="which of 2-6 to run (setup always runs; 4 only after 3)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    try:
        figures = run(args)
    except RuntimeError as error:
        sys.exit(f"chaos: {error}")
    if args.json:
        print(json.dumps(figures, default=str))
        return
    titles = {
        "setup": "1. setup",
        "target down": "2. target down, every region up",
        "regions killed": f"3. {' and '.join(KILLED)} SIGKILLed, target down "
        f"{args.down_seconds:g} s then healthy {args.healthy_seconds:g} s",
        "regions back": "4. the two region workers restarted",
        "fan-out killed": "5. central worker SIGKILLed mid fan-out, then restarted",
    }
    for key, title in titles.items():
        if key in figures:
            print_figures(title, figures[key])
    if isinstance(figures.get("bad bodies"), dict):
        print_figures("6. bad bodies", figures["bad bodies"])
    elif "bad bodies" in figures:
        print("6. bad bodies (status; anything written?)")
        header = ["endpoint", "body", "status", "written"]
        rows = [[str(row[key]) for key in header] for row in figures["bad bodies"]]
        print_table(header, rows)


if __name__ == "__main__":
    main()
