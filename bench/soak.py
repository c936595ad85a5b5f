"""Soak the embedded default: the stack `make run` starts, for --minutes, with every
probe due each second, the demo product's paths broken and mended in turn, and the
public page asked for once a second throughout.

It starts the real stack (bin/run: supervisord, granian, a Celery worker, beat and
the demo product, on SQLite and the SQLite broker) in a fresh var folder on free
ports, and prints figures at the end; it never fails on a figure (tests/statuspage/
test_soak.py runs it for 3 minutes and asserts on them).

    make soak                                     # 30 minutes
    .venv/bin/python bench/soak.py --minutes 3 [--json] [--keep]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from contextlib import closing
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
# A server install's variables (and the test run's): the soak is the embedded default.
SERVER_VARIABLES = {
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "SECRET_KEY",
    "SECRET_KEY_FILE",
    "DEBUG",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
    "DJANGO_SETTINGS_MODULE",
}
PROGRAMS = ("beat", "dispatch", "probes", "target", "web", "worker")
# supervisord's line for a process that exited on its own (not one it stopped).
UNEXPECTED_EXIT = re.compile(r"exited: (\w+) \((.*); not expected\)")
CRASH = re.compile(r"CRITICAL|Unrecoverable error|JSONDecodeError")
FAST_PROBES = """
import datetime as dt
from django.utils import timezone
from probes.models import Probe, ProbeKindName
from probes.services import probe_update
probes = Probe.objects.filter(enabled=True).exclude(kind=ProbeKindName.ALERT)
for probe in probes:
    probe_update(probe=probe, interval_seconds=1, timeout_seconds=5)
# After the updates, which may take a while: a first slot already past when it is
# committed would be claimed late, and the slots missed meanwhile skipped.
first = timezone.now().replace(microsecond=0) + dt.timedelta(seconds=2)
probes.update(next_due_at=first)
print("probes:", first.isoformat(), *probes.values_list("id", flat=True))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Stack:
    """bin/run in a var folder of its own, on free ports."""

    def __init__(self, var_dir: Path) -> None:
        self.var_dir = var_dir
        self.page_url = f"http://127.0.0.1:{free_port()}"
        self.target_port = free_port()
        self.env = {k: v for k, v in os.environ.items() if k not in SERVER_VARIABLES}
        self.env.update(
            HELIOGRAPH_VAR_DIR=str(var_dir),
            BIND=self.page_url.removeprefix("http://"),
            DEMO_TARGET_PORT=str(self.target_port),
            PATH=f"{BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        )
        # Named here rather than left to bin/run, so that this script's own
        # manage.py commands (a probe saved is checked against them) see them too.
        hosts = f"127.0.0.1:{self.target_port}"
        self.env.update(
            PROBE_SECRET_DEMO_USER="acme-probe",
            PROBE_SECRET_DEMO_PASSWORD=secrets.token_urlsafe(16),
            PROBE_SECRET_DEMO_USER_HOSTS=hosts,
            PROBE_SECRET_DEMO_PASSWORD_HOSTS=hosts,
        )
        self.log_path = var_dir / "run.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 240) -> None:
        self.var_dir.mkdir(parents=True, exist_ok=True)
        # Appending: supervisord's processes each open /dev/stdout themselves.
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [str(ROOT / "bin" / "run")],
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while not (self.page_answers() and self.running() == set(PROGRAMS)):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"bin/run did not come up:\n{self.log()[-4000:]}")
            time.sleep(0.5)

    def page_answers(self) -> bool:
        try:
            with urllib.request.urlopen(self.page_url + "/", timeout=5) as answer:
                return bool(answer.status == 200)
        except OSError:
            return False

    def supervisorctl(self, *args: str) -> str:
        conf = self.var_dir / "supervisord.conf"
        command = [str(BIN / "supervisorctl"), "-c", str(conf), *args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=30)
        return done.stdout

    def running(self) -> set[str]:
        lines = self.supervisorctl("status").splitlines()
        return {line.split()[0] for line in lines if " RUNNING " in line}

    def pid(self, program: str) -> int:
        return int(self.supervisorctl("pid", program).strip())

    def manage(self, *args: str) -> str:
        command = [sys.executable, "manage.py", *args]
        done = subprocess.run(
            command, cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=60
        )
        if done.returncode:
            raise RuntimeError(f"manage.py {' '.join(args)}: {done.stderr}")
        return done.stdout

    def queue_depth(self) -> int:
        """Messages waiting in the broker (a taken one is deleted: broker.py)."""
        path = self.var_dir / "broker.sqlite3"
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            return int(db.execute("SELECT count(*) FROM kombu_message").fetchone()[0])

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def supervisor_log(self) -> str:
        path = self.var_dir / "supervisord.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def restarts(self) -> Counter[str]:
        found = UNEXPECTED_EXIT.findall(self.supervisor_log())
        return Counter(name for name, _how in found)

    def stop(self, timeout: float = 60) -> int | None:
        """Ctrl-C, as a person stops `make run`; the exit status, None if killed."""
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
            return None


class PagePoller(threading.Thread):
    """GET / once a second until stopped: requests, failures, worst latency."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.requests = url + "/", 0
        self.failures: list[str] = []
        self.max_latency = 0.0
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            began = time.monotonic()
            try:
                with urllib.request.urlopen(self.url, timeout=10) as answer:
                    answer.read()
                    if answer.status != 200:
                        self.failures.append(f"{answer.status}")
            except (OSError, urllib.error.HTTPError) as exc:
                self.failures.append(f"{type(exc).__name__}: {exc}")
            took = time.monotonic() - began
            self.requests += 1
            self.max_latency = max(self.max_latency, took)
            self.stopping.wait(max(0.0, 1 - took))

    def stop(self) -> None:
        self.stopping.set()
        self.join(15)


def latest_result_started(stack: Stack) -> float:
    """When the newest probe result started (a POSIX time), 0 if there is none."""
    path = stack.var_dir / "heliograph.sqlite3"
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        (text,) = db.execute(
            "SELECT max(started_at) FROM probes_proberesult"
        ).fetchone()
    if text is None:
        return 0.0
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC).timestamp()


def dropped_slots(stack: Stack) -> int:
    """The slots the stack counted as dropped too late (probes_droppedslots)."""
    path = stack.var_dir / "heliograph.sqlite3"
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        (count,) = db.execute(
            "SELECT coalesce(sum(count), 0) FROM probes_droppedslots"
        ).fetchone()
    return int(count)


def slots_figures(
    stack: Stack, first: dt.datetime, last: dt.datetime, probe_ids: list[int]
) -> dict[str, Any]:
    """Per probe: each whole second from ``first`` to ``last`` is a due slot; how
    many have a result, and the worst delay from slot to start."""
    path = stack.var_dir / "heliograph.sqlite3"
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        rows = db.execute(
            "SELECT probe_id, slot, started_at FROM probes_proberesult"
        ).fetchall()
    naive_first, naive_last = (t.replace(tzinfo=None) for t in (first, last))
    run: dict[int, set[dt.datetime]] = {pk: set() for pk in probe_ids}
    worst_lag = 0.0
    for probe_id, slot_text, started_text in rows:
        slot = dt.datetime.fromisoformat(slot_text)
        if probe_id in run and naive_first <= slot <= naive_last:
            run[probe_id].add(slot)
            started = dt.datetime.fromisoformat(started_text)
            worst_lag = max(worst_lag, (started - slot).total_seconds())
    due = int((naive_last - naive_first).total_seconds()) + 1
    return {
        "slots_due": due * len(probe_ids),
        "slots_run": sum(len(slots) for slots in run.values()),
        "slots_missed_per_probe": {pk: due - len(s) for pk, s in run.items()},
        "max_slot_lag_s": round(worst_lag, 2),
    }


def soak(
    *, minutes: float, var_dir: Path, flap_seconds: float = 20, settle: float = 20
) -> dict[str, Any]:
    stack = Stack(var_dir)
    began = time.monotonic()
    try:
        stack.start()
        startup = time.monotonic() - began
        out = stack.manage("shell", "-c", FAST_PROBES)
        _, first_text, *ids = out[out.rindex("probes:") :].split()
        first, probe_ids = dt.datetime.fromisoformat(first_text), [int(i) for i in ids]
        depth_start, dropped_start = stack.queue_depth(), dropped_slots(stack)
        depths = [depth_start]
        poller = PagePoller(stack.page_url)
        poller.start()
        flaps, paths = 0, ("login", "web", "api")
        end = time.monotonic() + minutes * 60
        next_flap = time.monotonic() + flap_seconds
        while time.monotonic() < end:
            if time.monotonic() >= next_flap:
                path, breaking = paths[flaps // 2 % 3], flaps % 2 == 0
                stack.manage("demo", "break" if breaking else "mend", path)
                flaps, next_flap = flaps + 1, next_flap + flap_seconds
            depths.append(stack.queue_depth())
            time.sleep(min(5.0, max(0.0, end - time.monotonic())))
        last = dt.datetime.now(dt.UTC).replace(microsecond=0)
        stack.manage("demo", "mend", "all")
        # The slots up to `last` finish running (the last in flight among them).
        time.sleep(settle)
        depth_end, dropped_end = stack.queue_depth(), dropped_slots(stack)
        poller.stop()
        restarts = stack.restarts()
    finally:
        status = stack.stop()
    log = stack.log()
    return {
        "minutes": minutes,
        "startup_s": round(startup, 1),
        **slots_figures(stack, first, last, probe_ids),
        "slots_dropped_counted": dropped_end - dropped_start,
        "page_requests": poller.requests,
        "page_failures": len(poller.failures),
        "page_failure_examples": poller.failures[:5],
        "max_page_latency_ms": round(poller.max_latency * 1000, 1),
        "flaps": flaps,
        "process_restarts": sum(restarts.values()),
        "restarts_by_process": dict(restarts),
        "queue_depth_start": depth_start,
        "queue_depth_end": depth_end,
        "queue_depth_max": max(depths),
        "worker_crashes_in_logs": len(CRASH.findall(log)),
        "tracebacks_in_logs": log.count("Traceback (most recent call last)"),
        "stopped_cleanly": status == 0,
        "var_dir": str(var_dir),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--flap-seconds", type=float, default=20)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--keep", action="store_true", help="keep the var folder")
    args = parser.parse_args()
    var_dir = Path(tempfile.mkdtemp(prefix="heliograph-soak-")) / "var"
    figures = soak(
        minutes=args.minutes, var_dir=var_dir, flap_seconds=args.flap_seconds
    )
    if args.json:
        print(json.dumps(figures))
    else:
        width = max(map(len, figures))
        for name, value in figures.items():
            print(f"{name:<{width}}  {value}")
    if not args.keep:
        import shutil

        shutil.rmtree(var_dir.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
