"""A private page's read path next to a public one's, on granian, in one run. Prints
figures; never judges.

1. Builds two pages that hold the same content through the services in
   ``incidents/services``: the default page ("Bench public") and a page on its own
   host name ("Bench secret" on ``secret.bench.test``), sharing 300 components in 12
   groups, 60 incidents (four open, the rest resolved, each with its updates) and 12
   maintenances (past, one in progress, upcoming). The second page is then made
   private by password (``audience.services.access_update``) and the snapshot is
   published once, in full.
2. Starts granian (WSGI) as ``bin/run`` does, and nginx serving the public export
   with the server block README.md shows (public_read.py's, checked against the
   app's answers); without nginx, that part is left out with a note.
3. Checks before timing that the private page's ``/`` and ``/api/v2/summary.json``
   answer 200 from the snapshot, with its content and ``Cache-Control: private``, to
   a request with a viewer pass (``audience.rules.pass_make``, the cookie the
   password's sign-in sets) on its host name, and 401 without one; stops otherwise.
4. With wrk: requests/s, p50/p99 latency and errors of both paths at each
   ``--connections``, for (a) the public page, (b) the private one, asked with
   ``-H "Host: ..."`` and ``-H "Cookie: hg_view_<id>=<pass>"`` on the same granian,
   and (c) nginx on the export of (a). They take turns, round after round
   (``--rounds``, medians), so the machine's other work falls on each alike; the CPU
   the server, wrk and the rest used in each run is shown. Then the ratios the
   private pages' goal names: private req/s as a share of public, private p99 over
   public p99, and each against nginx.

Quick run: ``.venv/bin/python bench/private_read.py --duration 5 --rounds 2``. It
uses its own database (heliograph_bench_private), Redis database 9 and
var/bench/private, all wiped.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

from common import (
    BENCH_DIR,
    CPUS,
    base_env,
    bench_database,
    free_port,
    print_machine,
    print_table,
    redis_flush,
    running,
)
from public_read import (
    Figures,
    bench_prepare,
    export_to,
    incidents_create,
    measure,
    median_of,
    nginx_check,
    nginx_config,
    print_serving,
    tables_empty,
)

DATABASE_NAME = "heliograph_bench_private"
DEFAULT_DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{DATABASE_NAME}"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/9"
VAR_DIR = BENCH_DIR / "private"
LOG = BENCH_DIR / "private-server.log"
PATHS = ("/", "/api/v2/summary.json")
HOST = "secret.bench.test"
# The two pages' names are as long as each other, so their bodies are of a size.
PUBLIC_NAME, SECRET = "Bench public", "Bench secret"
PASSWORD = "a long bench password nobody guesses"
SNAPSHOT = "X-Heliograph-Snapshot-Version"
GOAL = (
    "goals (private pages): private >= 80% of the public page's req/s, "
    "p99 <= 1.5x its p99"
)


# --- setup ------------------------------------------------------------------------


def bench_env() -> dict[str, str]:
    """The environment shared by this process and the servers it starts."""
    redis_url = os.environ.get("BENCH_PRIVATE_REDIS_URL") or DEFAULT_REDIS_URL
    return {
        **base_env(bench_database(DEFAULT_DATABASE_URL, DATABASE_NAME)),
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "HELIOGRAPH_VAR_DIR": str(VAR_DIR),
        "SECURE_COOKIES": "false",
        "ALLOWED_HOSTS": f"127.0.0.1,localhost,{HOST}",
        # A stale notice would change the measured bytes while the runs go on.
        "SNAPSHOT_STALE_AFTER_SECONDS": "86400",
    }


def pages_build(groups: int, per_group: int) -> tuple[str, str]:
    """The two pages of the same content, the second private; the snapshot of
    them. Returns the private page's viewer pass cookie, as ``name=value``, and
    its public id."""
    from audience.rules import cookie_name, pass_make
    from audience.selectors import rules_for
    from audience.services import access_update
    from incidents.services.components import component_create
    from incidents.services.page import page_create, page_update
    from visitor.snapshot.publish import snapshot_publish

    public = page_update(name=PUBLIC_NAME, url="https://public.example.com")
    private = page_create(
        name=SECRET, slug="secret", hosts=[HOST], url="https://secret.example.com"
    )
    leaves = []
    for g in range(groups):
        group = component_create(
            name=f"Region {g + 1:02}", is_group=True, pages=[public, private]
        )
        for c in range(per_group):
            name = f"Service {g + 1:02}.{c + 1:02}"
            leaves.append(component_create(name=name, group=group))  # its pages
    incidents_create(leaves, 60)  # on the pages of their components: both
    maintenances_create(leaves, 12, [public, private])
    access_update(page=private, password=PASSWORD)
    _, rules = rules_for(private)
    if rules is None:
        sys.exit("the private page has no rules after access_update: not private?")
    snapshot_publish(full=True)
    value = pass_make(rules, method="password", who="")
    return f"{cookie_name(private.public_id)}={value}", private.public_id


def maintenances_create(leaves: list, count: int, pages: list) -> None:
    """Maintenances on both pages: a quarter upcoming, one in progress, the rest
    completed (as public_read's, on fewer components)."""
    from incidents.models import MaintenanceStatus as Status
    from incidents.services.incidents import incident_post_update
    from incidents.services.maintenance import maintenance_schedule

    now, upcoming = dt.datetime.now(dt.UTC), count // 4
    for i in range(count):
        start = now - dt.timedelta(days=3 * (i - upcoming), minutes=20)
        if i < upcoming:
            start = now + dt.timedelta(days=i + 1)
        first = (i * 11) % (len(leaves) - 4)
        maintenance = maintenance_schedule(
            name=f"Database upgrade {i + 1}",
            scheduled_for=start,
            scheduled_until=start + dt.timedelta(hours=2),
            components=leaves[first : first + 2 + i % 3],
            body="We will upgrade the database cluster.",
            deliver_notifications=False,
            pages=pages,
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


# --- servers ----------------------------------------------------------------------


def granian_command(shape: str, port: int) -> list[str]:
    """granian as bin/run starts it (WSGI, ``workers x blocking threads``)."""
    workers, _, threads = shape.partition("x")
    command = [str(Path(sys.executable).parent / "granian"), "--interface", "wsgi"]
    command += ["statuspage.wsgi:application", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--workers", workers]
    command += ["--blocking-threads", threads or "2", "--workers-kill-timeout", "5"]
    return [*command, "--respawn-failed-workers", "--log-level", "warning"]


@dataclass(frozen=True)
class Side:
    """One of the compared ways to the content: a server, its base URL and the
    headers wrk sends."""

    server: str
    pid: int
    base: str
    headers: tuple[str, ...] = ()


def fetch(url: str, headers: dict[str, str]) -> tuple[int, Message, bytes]:
    """Status, headers (any case: granian sends them in lower case) and body."""
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.headers, answer.read()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.headers, refused.read()


def private_check(base: str, cookie: str) -> None:
    """Before timing: the private answers are the snapshot's 200s with the private
    page's content and ``Cache-Control: private``; without the pass, 401; the public
    page's answers hold nothing of the private one. Stops the run otherwise."""
    rows, wrong = [], []
    for path in PATHS:
        asks = [
            ("public", {}, 200),
            ("private, pass", {"Host": HOST, "Cookie": cookie}, 200),
            ("private, no pass", {"Host": HOST}, 401),
        ]
        for label, headers, expected in asks:
            status, answer, body = fetch(base + path, headers)
            cache = answer.get("Cache-Control", "")
            secret = SECRET.encode() in body
            shown = cache.split(",")[0]
            rows.append([path, label, str(status), f"{len(body):,}", shown])
            rows[-1] += [
                "yes" if secret else "no",
                "yes" if SNAPSHOT in answer else "no",
            ]
            if status != expected:
                wrong.append(f"{label} {path}: {status}, not {expected}")
            if label == "private, pass":
                if not secret:
                    wrong.append(f"{label} {path}: the private page's name is missing")
                if not cache.startswith("private"):
                    wrong.append(f"{label} {path}: Cache-Control {cache!r}")
                if "Cookie" not in answer.get("Vary", ""):
                    wrong.append(f"{label} {path}: Vary {answer.get('Vary')!r}")
                if SNAPSHOT not in answer:
                    wrong.append(f"{label} {path}: not the snapshot's answer")
            elif secret:
                wrong.append(f"{label} {path}: the private page's content leaked")
    print("the answers wrk will ask for, checked first (the 401 is what wrk would")
    print(f"get without the pass; 'secret' is the private page's name, {SECRET!r})")
    header = ["path", "asked as", "status", "bytes", "cache-control", "secret"]
    print_table([*header, "snapshot"], rows)
    if wrong:
        sys.exit(
            "not measured, the private page is not served as it must be:\n  - "
            + "\n  - ".join(wrong)
        )


def sides_start(
    stack: contextlib.ExitStack, args: argparse.Namespace, cookie: str
) -> list[Side]:
    """granian for both pages; nginx on the export of the public one, if any."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = granian_command(args.granian, port)
    pid = stack.enter_context(running(command, f"{base}/api/v2/status.json", LOG))
    name = f"granian {args.granian}"
    private_check(base, cookie)
    sides = [
        Side(f"{name} public", pid, base),
        Side(f"{name} private", pid, base, (f"Host: {HOST}", f"Cookie: {cookie}")),
    ]
    if args.no_nginx:
        print("nginx left out (--no-nginx)\n")
        return sides
    if shutil.which("nginx") is None:
        print("nginx is not installed: its figures are left out (as root, make")
        print("bench-private installs Debian's nginx-light; or apt-get install it)\n")
        return sides
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    temp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
    export_to(VAR_DIR / "export")
    config = temp / "nginx.conf"
    config.write_text(nginx_config(VAR_DIR / "export", port, temp))
    command = ["nginx", "-p", str(temp), "-c", str(config)]
    pid = stack.enter_context(running(command, base, LOG))
    nginx_check(base)
    return [*sides, Side("nginx (export)", pid, base)]


def serving_measure(sides: list[Side], args: argparse.Namespace) -> list[Figures]:
    """Round after round, each connection count, path and side in turn; medians."""
    runs: dict[tuple, list[Figures]] = {}
    for _ in range(args.rounds):
        for connections in args.connections:
            for path in PATHS:
                for side in sides:
                    figures = Figures(side.server, connections, path)
                    asked = argparse.Namespace(
                        **{**vars(args), "headers": (*args.headers, *side.headers)}
                    )
                    measure(figures, side.base + path, side.pid, asked)
                    key = (side.server, connections, path)
                    runs.setdefault(key, []).append(figures)
    return [median_of(rounds) for rounds in runs.values()]


# --- report -----------------------------------------------------------------------


def print_goals(results: list[Figures]) -> None:
    """Private against public on the same server, and each against nginx."""
    print(GOAL)
    by = {(f.server.rsplit(" ", 1)[-1], f.connections, f.label): f for f in results}
    rows = []
    for f in results:
        if not f.server.endswith(" public"):
            continue
        key = (f.connections, f.label)
        private = by.get(("private", *key))
        edge = by.get(("(export)", *key))
        if private is None:
            continue
        row = [str(f.connections), f.label, f"{f.rps:,.0f}", f"{private.rps:,.0f}"]
        row += [f"{private.rps / f.rps:.0%}" if f.rps else "-"]
        row += [f"{private.p99 / f.p99:.2f}x"]
        for side in (f, private):
            row += [f"{side.rps / edge.rps:.0%}" if edge and edge.rps else "-"]
        for side in (f, private):
            row += [f"{side.p99 / edge.p99:.2f}x" if edge else "-"]
        rows.append(row)
    header = ["conns", "path", "public req/s", "private req/s", "private/public"]
    header += ["p99 private/public", "public vs nginx", "private vs nginx"]
    header += ["public p99/nginx", "private p99/nginx"]
    if rows:
        print_table(header, rows)


def load_average() -> str:
    return " ".join(f"{n:.2f}" for n in os.getloadavg())


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=8, help="s per wrk run")
    parser.add_argument("--warmup", type=float, default=2, help="s before each run")
    parser.add_argument("--timeout", type=float, default=5, help="wrk's timeout, s")
    parser.add_argument("--connections", default="64,1000")
    parser.add_argument(
        "--granian", default="2x2", help="workers x blocking threads (bin/run's 2x2)"
    )
    parser.add_argument("--no-nginx", action="store_true", help="leave nginx out")
    parser.add_argument("--rounds", type=int, default=1, help="medians of rounds")
    parser.add_argument(
        "--gzip", action="store_true", help="ask for gzip, as browsers do"
    )
    args = parser.parse_args()
    args.connections = [int(c) for c in args.connections.split(",")]
    args.headers = ("Accept-Encoding: gzip",) if args.gzip else ()
    return args


def main() -> None:
    args = parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (as root, make bench-private installs it)")
    env = bench_env()
    bench_prepare(env, VAR_DIR)
    print_machine(
        env["REDIS_URL"],
        ("Django", "granian", "psycopg"),
        f"  wrk ({CPUS} threads) and nginx from Debian; wrk shares the cpus with the "
        "server it measures,\n  and 'other' is the rest of the machine's work.\n"
        f"  load average at the start: {load_average()}",
    )
    try:
        tables_empty()
        cookie, page_id = pages_build(12, 25)
        print("two pages of 300 components in 12 groups, 60 incidents and 12")
        print(f"maintenances each; the private one ({page_id}) on {HOST}, its pass")
        print(f"made by audience.rules.pass_make ({len(cookie)} bytes of cookie)")
        print("wrk asks for gzip\n" if args.gzip else "wrk does not ask for gzip\n")
        with contextlib.ExitStack() as stack:
            results = serving_measure(sides_start(stack, args, cookie), args)
        print(f"\nload average at the end: {load_average()}\n")
        print_serving(results)
        print_goals(results)
    finally:
        redis_flush(env["REDIS_URL"])


if __name__ == "__main__":
    main()
