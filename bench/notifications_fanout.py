"""Notification fan-out and delivery on this machine. Prints figures; never judges.

For each worker shape and batch size: publish an incident to N email subscribers
(delivered to a local aiosmtpd sink) and to M webhook subscribers (a local aiohttp
receiver on which every tenth URL never answers), with real Celery workers on the
"notifications" queue; then the time of the publish call, until every delivery is
planned, until every first attempt has started and ended, and until the last one is
delivered, with the CPU seconds spent and the phases inside the tasks.

Quick run: ``.venv/bin/python bench/notifications_fanout.py --emails 2000
--webhooks 1000 --timeout 5 --workers solo``. It uses its own database
(heliograph_bench) and Redis database (11), both wiped.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import subprocess
import time
from dataclasses import dataclass, field

from common import (
    CPUS,
    base_env,
    bench_database,
    cpu_snapshot_of,
    cpu_spent,
    django_start,
    local_server,
    print_machine,
    print_table,
    redis_flush,
    service_pids,
)
from workers import Workers, bench_script, workers_start, workers_stop

DATABASE_NAME = "heliograph_bench"
DEFAULT_DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{DATABASE_NAME}"
DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/11"
QUEUE = "notifications"
POLL_SECONDS = 0.25
GOALS = {
    "publish": 0.5,
    "webhook": 60.0,  # every first attempt made (hanging ones: timed out)
    "email": 300.0,  # every message delivered
}


# --- setup ------------------------------------------------------------------------


def bench_env() -> dict[str, str]:
    """The environment shared by this process and the workers it starts."""
    broker = os.environ.get("BENCH_NOTIFICATIONS_BROKER_URL") or DEFAULT_BROKER_URL
    return {
        **base_env(bench_database(DEFAULT_DATABASE_URL, DATABASE_NAME)),
        "CELERY_BROKER_URL": broker,
    }


def server_summary(process: subprocess.Popen[str]) -> str:
    """What a stopped server said it received (its last line)."""
    assert process.stdout is not None
    lines = process.stdout.read().split()
    return " ".join(lines) or "nothing"


# --- subscribers ------------------------------------------------------------------


def subscribers_create(emails: int, webhooks: int, receiver: str, hang: int) -> int:
    """Active page subscribers of each channel, all parked (pending) until their
    scenario; every ``hang``-th webhook URL hangs. Returns the number that hang."""
    from django.db import connection

    from notifications.models import (
        Channel,
        Scope,
        Subscriber,
        SubscriberState,
        new_signing_secret,
    )

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE notifications_attempt, notifications_delivery, "
            "notifications_event, notifications_subscriber CASCADE"
        )
    parked = {"state": SubscriberState.PENDING, "scope": Scope.PAGE}
    Subscriber.objects.bulk_create(
        (
            Subscriber(channel=Channel.EMAIL, email=f"s{n}@bench.example", **parked)
            for n in range(emails)
        ),
        batch_size=5000,
    )
    hanging = 0
    rows = []
    for n in range(webhooks):
        kind = "hang" if hang and n % hang == 0 else "ok"
        hanging += kind == "hang"
        rows.append(
            Subscriber(
                channel=Channel.WEBHOOK,
                url=f"{receiver}/{kind}/{n}",
                email="ops@bench.example",
                signing_secret=new_signing_secret(),
                **parked,
            )
        )
    Subscriber.objects.bulk_create(rows, batch_size=5000)
    return hanging


def scenario_reset(channel: str) -> int:
    """No deliveries or events; only ``channel``'s subscribers active."""
    from django.db import connection

    from notifications.models import Subscriber, SubscriberState

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE notifications_attempt, notifications_delivery, "
            "notifications_event CASCADE"
        )
    Subscriber.objects.exclude(channel=channel).update(state=SubscriberState.PENDING)
    active = Subscriber.objects.filter(channel=channel).update(
        state=SubscriberState.ACTIVE
    )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE notifications_subscriber")
    return active


# --- workers ----------------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    """``solo:N``: N worker processes with --pool solo; ``prefork:N``: one worker
    with N child processes; ``threads:N``: one worker with N threads."""

    pool: str
    size: int

    @classmethod
    def parse(cls, text: str) -> Shape:
        pool, _, size = text.partition(":")
        if pool not in ("solo", "prefork", "threads"):
            raise ValueError(f"unknown worker shape {text!r}")
        return cls(pool, int(size or 2))

    def __str__(self) -> str:
        if self.pool == "solo":
            return f"{self.size} solo worker processes"
        return f"1 {self.pool} worker, --concurrency {self.size}"

    @property
    def label(self) -> str:
        return f"{self.pool}:{self.size}"

    def pools(self) -> list[list[str]]:
        """Each worker process's --pool and --concurrency options."""
        if self.pool == "solo":
            return [["--pool", "solo", "--concurrency", "1"]] * self.size
        return [["--pool", self.pool, "--concurrency", str(self.size)]]


SEND_LINE = re.compile(r"bench-send deliveries=(?P<count>\d+) (?P<figures>.*)")
FAN_OUT_LINE = re.compile(r"bench-fan-out deliveries=(?P<count>\d+) (?P<figures>.*)")


def _figures(text: str) -> dict[str, float]:
    return {key: float(value) for key, value in (p.split("=") for p in text.split())}


@dataclass
class Phases:
    batches: int = 0
    deliveries: int = 0
    send: dict[str, float] = field(default_factory=dict)
    fan_out: dict[str, float] = field(default_factory=dict)
    batch_seconds: list[float] = field(default_factory=list)


def logs_read(workers: Workers) -> Phases:
    phases = Phases()
    for text in workers.log_texts():
        for match in SEND_LINE.finditer(text):
            figures = _figures(match["figures"])
            phases.batches += 1
            phases.deliveries += int(match["count"])
            phases.batch_seconds.append(figures["total"])
            for key, value in figures.items():
                phases.send[key] = phases.send.get(key, 0.0) + value
        for match in FAN_OUT_LINE.finditer(text):
            phases.fan_out = _figures(match["figures"])
    return phases


# --- one scenario -----------------------------------------------------------------


@dataclass(frozen=True)
class Config:
    channel: str
    shape: Shape
    batch: int  # the channel's: NOTIFICATIONS_BATCH_SIZE or _URL_BATCH_SIZE
    timeout: int

    def worker_env(self, sink_port: int) -> dict[str, str]:
        return {
            "NOTIFICATIONS_BATCH_SIZE": str(self.batch),
            "NOTIFICATIONS_URL_BATCH_SIZE": str(self.batch),
            "NOTIFICATIONS_WEBHOOK_TIMEOUT_SECONDS": str(self.timeout),
            # The receiver is on 127.0.0.1, which real subscribers may not use.
            "NOTIFICATIONS_ALLOW_PRIVATE_TARGETS": "true",
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(sink_port),
            "EMAIL_USE_TLS": "false",
            "EMAIL_USE_SSL": "false",
        }

    def __str__(self) -> str:
        timeout = (
            f", webhook timeout {self.timeout} s" if self.channel == "webhook" else ""
        )
        return f"{self.shape}, batch {self.batch}{timeout}"


@dataclass
class Progress:
    planned: int = 0  # delivery rows
    started: int = 0  # claimed at least once
    ended: int = 0  # first attempt finished (answered, timed out or interrupted)
    settled: int = 0  # in a final state: delivered, failed or cancelled
    delivered: int = 0


@dataclass
class Figures:
    config: Config
    subscribers: int
    hanging: int
    publish: float = float("nan")
    # Seconds from the publish call's start; None: not reached by the deadline.
    planned: float | None = None
    started: float | None = None
    ended: float | None = None
    delivered: float | None = None
    states: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)
    window: float = 0.0
    last: Progress | None = None
    phases: Phases = field(default_factory=Phases)


def progress_read(event_id: int) -> Progress:
    from django.db import connection

    with connection.cursor() as cursor:
        # Not ``attempts > 0``: ``_claim`` counts the attempt when it claims, before
        # anything is sent. An attempt has ended once ``_record`` (or the sweep)
        # wrote its ``finished_at``.
        cursor.execute(
            "SELECT count(*), count(d.claimed_at),"
            " count(*) FILTER (WHERE EXISTS (SELECT 1 FROM notifications_attempt a"
            "  WHERE a.delivery_id = d.id AND a.number = 1"
            "  AND a.finished_at IS NOT NULL)),"
            " count(*) FILTER (WHERE d.state IN ('delivered', 'failed', 'cancelled')),"
            " count(*) FILTER (WHERE d.state = 'delivered')"
            " FROM notifications_delivery d WHERE d.event_id = %s",
            [event_id],
        )
        return Progress(*cursor.fetchone())


def publish(label: str) -> tuple[float, dt.datetime, int]:
    """Open an incident as staff do; the call's seconds, its start and the event."""
    from django.utils import timezone

    from incidents.services import incident_create
    from notifications.models import Event

    started_at = timezone.now()
    started = time.perf_counter()
    incident_create(name=f"Bench {label}", body="Deliveries are being measured.")
    seconds = time.perf_counter() - started
    event = Event.objects.order_by("-pk").values_list("pk", flat=True)[0]
    return seconds, started_at, event


def wait_delivered(event_id: int, figures: Figures, deadline: float) -> None:
    """Poll the deliveries until every first attempt has ended and every delivery
    but the hanging receivers' is in a final state, or the deadline; note when each
    count reached the number of subscribers. (A hanging receiver's delivery waits
    for its retry, which is not waited for.)"""
    expected = figures.subscribers
    expected_settled = expected - figures.hanging
    started = time.perf_counter() - figures.publish
    while time.perf_counter() - started < deadline:
        now = time.perf_counter() - started
        seen = figures.last = progress_read(event_id)
        if figures.planned is None and seen.planned >= expected:
            figures.planned = now
        if figures.started is None and seen.started >= expected:
            figures.started = now
        if figures.ended is None and seen.ended >= expected:
            figures.ended = now
        if figures.delivered is None and seen.settled >= expected_settled:
            figures.delivered = now
        if figures.ended is not None and figures.delivered is not None:
            return
        time.sleep(POLL_SECONDS)


def exact_times(event_id: int, started_at: dt.datetime, figures: Figures) -> None:
    """Replace polled times by the rows' own timestamps where the rows have them,
    and count the outcomes."""
    from django.db.models import Count, Max

    from notifications.models import Attempt, Delivery, Event

    def since(moment: dt.datetime | None) -> float | None:
        return None if moment is None else (moment - started_at).total_seconds()

    deliveries = Delivery.objects.filter(event_id=event_id)
    latest = deliveries.aggregate(Max("claimed_at"), Max("delivered_at"))
    first_ended = Attempt.objects.filter(delivery__event_id=event_id, number=1)
    ended = first_ended.aggregate(Max("finished_at"))["finished_at__max"]
    fanned_out = Event.objects.get(pk=event_id).fanned_out_at
    if figures.planned is not None:
        figures.planned = since(fanned_out)
    if figures.started is not None:
        figures.started = since(latest["claimed_at__max"])
    if figures.ended is not None:
        figures.ended = since(ended)
    if figures.delivered is not None:
        figures.delivered = since(latest["delivered_at__max"])
    figures.states = dict(
        deliveries.values_list("state")
        .annotate(n=Count("pk"))
        .values_list("state", "n")
    )
    errors = deliveries.exclude(last_error="").values_list("last_error")
    figures.errors = dict(errors.annotate(n=Count("pk")).values_list("last_error", "n"))


def scenario_run(
    config: Config,
    env: dict[str, str],
    servers: dict[str, int],
    hanging: int,
    deadline: float,
) -> Figures:
    from django.db import close_old_connections

    subscribers = scenario_reset(config.channel)
    redis_flush(env["CELERY_BROKER_URL"])
    figures = Figures(
        config, subscribers, hanging if config.channel == "webhook" else 0
    )
    workers = workers_start(
        bench_script("notifications_worker.py"),
        queue=QUEUE,
        pools=config.shape.pools(),
        env={**env, **config.worker_env(servers["sink"])},
        name=f"notifications-worker-{config.shape.pool}",
    )
    try:
        groups = {
            "workers": workers.pids(),
            "smtp sink": [servers["sink pid"]],
            "webhook receiver": [servers["receiver pid"]],
            **service_pids(),
            "bench (this process)": [os.getpid()],
        }
        before = cpu_snapshot_of(groups)
        window = time.perf_counter()
        figures.publish, started_at, event_id = publish(str(config))
        wait_delivered(event_id, figures, deadline)
        figures.window = time.perf_counter() - window
        figures.cpu = cpu_spent(before, cpu_snapshot_of(groups))
    finally:
        workers_stop(workers)
    close_old_connections()
    exact_times(event_id, started_at, figures)
    figures.phases = logs_read(workers)
    return figures


# --- printing ---------------------------------------------------------------------


def _seconds(value: float | None, goal: float | None = None) -> list[str]:
    shown = "not reached" if value is None else f"{value:.2f}"
    if goal is None:
        return [shown, ""]
    return [shown, f"goal < {goal:g}"]


def print_scenario(f: Figures) -> None:
    c = f.config
    what = (
        f"{f.subscribers:,} email subscribers -> aiosmtpd sink"
        if c.channel == "email"
        else f"{f.subscribers:,} webhook subscribers -> aiohttp receiver, "
        f"{f.hanging:,} of them hang"
    )
    print(f"{what}; {c}")
    goal = GOALS[c.channel]
    rows = [
        ["publish call (incident_create)", *_seconds(f.publish, GOALS["publish"])],
        ["every delivery planned (fanned_out_at)", *_seconds(f.planned)],
        ["every first attempt started (claimed_at)", *_seconds(f.started)],
        [
            "every first attempt ended (finished_at)",
            *_seconds(f.ended, goal if c.channel == "webhook" else None),
        ],
        [
            "last delivered (delivered_at)",
            *_seconds(f.delivered, goal if c.channel == "email" else None),
        ],
    ]
    print_table(["seconds from the publish call's start", "s", ""], rows)
    if (f.ended is None or f.delivered is None) and f.last is not None:
        seen = f.last
        print(
            f"  at the {f.window:.0f} s deadline: {seen.planned:,} planned, "
            f"{seen.started:,} started, {seen.ended:,} ended, "
            f"{seen.settled:,} settled, {seen.delivered:,} delivered"
        )
    states = ", ".join(f"{state} {n:,}" for state, n in sorted(f.states.items()))
    errors = "; ".join(f"{error!r} x{n:,}" for error, n in f.errors.items())
    print(f"  deliveries: {states}" + (f"; errors: {errors}" if errors else ""))
    p = f.phases
    if p.batches:
        total = p.send.get("total") or 1.0
        parts = ", ".join(
            f"{key} {p.send.get(key, 0.0):.1f} s ({p.send.get(key, 0.0) / total:.0%})"
            for key in ("claim", "render", "send", "record")
        )
        ordered = sorted(p.batch_seconds)
        print(
            f"  sending: {p.batches} batches, {p.deliveries:,} deliveries in "
            f"{total:.1f} s of tasks ({p.deliveries / total:,.0f} per task second); "
            f"batch median {ordered[len(ordered) // 2]:.2f} s, max {ordered[-1]:.2f} s"
        )
        print(f"    summed phases: {parts}")
    if p.fan_out:
        print(
            f"  fan-out task: {p.fan_out['total']:.2f} s, of which planning rows "
            f"{p.fan_out['plan']:.2f} s, queuing batches {p.fan_out['enqueue']:.2f} s"
        )
    cpu = ", ".join(f"{name} {seconds:.1f}" for name, seconds in f.cpu.items())
    of = f.window * CPUS
    print(f"  cpu seconds in the {f.window:.0f} s window (of {of:.0f}): {cpu}")
    print()


def print_summary(all_figures: list[Figures]) -> None:
    print("summary (seconds from the publish call's start)")
    rows = []
    for f in all_figures:
        c = f.config
        rows.append(
            [
                c.channel,
                f"{f.subscribers:,}",
                c.shape.label,
                str(c.batch),
                f"{c.timeout}" if c.channel == "webhook" else "-",
                f"{f.publish:.2f}",
                *(
                    "-" if v is None else f"{v:.1f}"
                    for v in (f.planned, f.started, f.ended, f.delivered)
                ),
                f"{f.cpu.get('workers', 0.0):.0f}",
            ]
        )
    header = "channel,N,workers,batch,timeout,publish,planned,started,ended,delivered"
    print_table([*header.split(","), "worker cpu s"], rows)
    print(
        f"  goals: publish < {GOALS['publish']:g} s; webhooks' first attempts ended"
        f" < {GOALS['webhook']:g} s; emails delivered < {GOALS['email']:g} s"
    )


# --- main -------------------------------------------------------------------------


def _ints(text: str) -> list[int]:
    return [int(value) for value in text.split(",") if value]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--emails", type=int, default=100_000, help="0: skip")
    parser.add_argument("--webhooks", type=int, default=10_000, help="0: skip")
    parser.add_argument(
        "--workers",
        default="solo:2,prefork:8",
        help="comma-separated shapes: solo[:N] (N solo processes, default 2), "
        "prefork:N (one worker, N children) or threads:N (one worker, N threads)",
    )
    parser.add_argument(
        "--batch", default="200", help="NOTIFICATIONS_BATCH_SIZE(s) (email)"
    )
    parser.add_argument(
        "--url-batch", default="1000", help="NOTIFICATIONS_URL_BATCH_SIZE(s) (webhooks)"
    )
    parser.add_argument(
        "--timeout", default="15", help="NOTIFICATIONS_WEBHOOK_TIMEOUT_SECONDS(s)"
    )
    parser.add_argument("--hang-every", type=int, default=10, help="0: none hang")
    parser.add_argument(
        "--deadline", type=int, default=420, help="max seconds to wait per scenario"
    )
    args = parser.parse_args()
    try:
        args.workers = [Shape.parse(s) for s in args.workers.split(",") if s]
        args.batch, args.timeout = _ints(args.batch), _ints(args.timeout)
        args.url_batch = _ints(args.url_batch)
    except ValueError as error:
        parser.error(str(error))
    if not (0 <= args.emails <= 200_000 and 0 <= args.webhooks <= 50_000):
        parser.error("--emails must be 0-200,000 and --webhooks 0-50,000")
    if not 10 <= args.deadline <= 600:
        parser.error("--deadline must be 10-600 s")
    return args


def configs(args: argparse.Namespace) -> list[Config]:
    found = []
    for shape in args.workers:
        if args.emails:
            found += [Config("email", shape, b, args.timeout[0]) for b in args.batch]
        if args.webhooks:
            found += [
                Config("webhook", shape, batch, timeout)
                for batch in args.url_batch
                for timeout in args.timeout
            ]
    return found


def main() -> None:
    args = parse_args()
    env = bench_env()
    django_start(env)
    redis_flush(env["CELERY_BROKER_URL"])
    import statuspage.celery  # noqa: F401  (configures the app the tasks send with)

    print_machine(
        env["CELERY_BROKER_URL"],
        ("celery", "kombu", "Django", "psycopg", "aiohttp", "aiosmtpd"),
        "  one aiosmtpd sink and one aiohttp receiver (each one process, one thread)"
        "\n  share the cpus with the workers, PostgreSQL and Redis.",
    )
    all_figures = []
    try:
        with (
            local_server("smtp_sink.py") as (sink_port, sink),
            local_server("webhook_receiver.py") as (receiver_port, receiver),
        ):
            hanging = subscribers_create(
                args.emails,
                args.webhooks,
                f"http://127.0.0.1:{receiver_port}",
                args.hang_every,
            )
            servers = {
                "sink": sink_port,
                "sink pid": sink.pid,
                "receiver pid": receiver.pid,
            }
            for config in configs(args):
                figures = scenario_run(config, env, servers, hanging, args.deadline)
                print_scenario(figures)
                all_figures.append(figures)
        print(f"  the sink accepted: {server_summary(sink)}")
        print(f"  the receiver got: {server_summary(receiver)}")
        print()
        print_summary(all_figures)
    finally:
        redis_flush(env["CELERY_BROKER_URL"])


if __name__ == "__main__":
    main()
