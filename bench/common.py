"""What the benchmarks share: the bench database and Redis, processes they start and
stop, the machine header, tables, and CPU seconds read from /proc."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import os
import platform
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = ROOT / "var" / "bench"
CPUS = os.cpu_count() or 1


# --- setup ------------------------------------------------------------------------


def database_prepare(database_url: str) -> None:
    """Create the bench database if it is missing, and migrate it."""
    import psycopg

    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    admin_url = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
        ).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--verbosity", "0"],
        cwd=ROOT,
        env={**os.environ},
        check=True,
        timeout=300,
    )


def redis_flush(broker_url: str) -> None:
    import redis

    redis.Redis.from_url(broker_url).flushdb()


def stop_processes(
    processes: Iterable[subprocess.Popen[Any]], grace: float = 15
) -> None:
    """Stop processes this benchmark started: TERM them all, KILL the group of any
    still running after ``grace`` seconds, and reap them."""
    running = [process for process in processes if process.poll() is None]
    for process in running:
        process.terminate()
    deadline = time.monotonic() + grace
    for process in running:
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            # Started in its own session: the group is only this process's children.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, 9)
            process.wait(timeout=5)


def stop_process(process: subprocess.Popen[Any], grace: float = 15) -> None:
    stop_processes([process], grace)


def django_start(env: dict[str, str]) -> None:
    """This process on the benchmark's environment and its migrated database."""
    os.environ.update(env)
    database_prepare(env["DATABASE_URL"])
    import django

    django.setup()


@contextlib.contextmanager
def local_server(script: str) -> Iterator[tuple[int, subprocess.Popen[str]]]:
    """One of the bench's local servers (``bench/<script>``, which prints its port
    first) in its own session; yields its port and process, and stops it."""
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / script)],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline() or 0)
        if not port:
            raise RuntimeError(f"{script} did not start")
        yield port, process
    finally:
        stop_process(process)


def listening_socket(backlog: int) -> socket.socket:
    """For a local server: a socket listening on a free port of 127.0.0.1."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(backlog)
    return sock


async def until_terminated(
    sock: socket.socket, stop: asyncio.Event | None = None
) -> None:
    """For a local server already serving on ``sock``: say its port as the first
    line (what ``local_server`` reads), and return on TERM or INT (setting ``stop``)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    print(sock.getsockname()[1], flush=True)
    await stop.wait()


# --- machine ----------------------------------------------------------------------


def version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def print_machine(broker_url: str, packages: tuple[str, ...], note: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
    import redis

    redis_version = redis.Redis.from_url(broker_url).info()["redis_version"]
    listed = ", ".join(f"{name} {version(name)}" for name in packages)
    print("machine")
    print(f"  cpus (nproc): {os.cpu_count()}  {cpu_model()}")
    print(f"  Python {platform.python_version()} on {platform.platform()}")
    print(f"  {listed}")
    print(f"  PostgreSQL {postgres}, Redis {redis_version}, all on 127.0.0.1")
    print(note)
    print()


# --- figures ----------------------------------------------------------------------


def percentile(ordered: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered)) - 1))
    return ordered[rank]


def print_table(header: list[str], rows: list[list[str]]) -> None:
    widths = [
        max(len(header[i]), *(len(row[i]) for row in rows)) for i in range(len(header))
    ]
    for line in [header, *rows]:
        print(
            "  "
            + "  ".join(cell.rjust(w) for cell, w in zip(line, widths, strict=True))
        )
    print()


# --- CPU seconds from /proc, to say where the machine's time went -----------------


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # Own time plus that of children already reaped: PostgreSQL backends come and go
    # (Celery closes the worker's connection after every task).
    return sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def pids_named(names: tuple[str, ...]) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if entry.joinpath("comm").read_text().strip() in names:
                    pids.append(int(entry.name))
    return pids


def service_pids() -> dict[str, list[int]]:
    return {
        "postgres": pids_named(("postgres",)),
        "redis": pids_named(("redis-server",)),
    }


def children(pid: int) -> list[int]:
    found = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            text = task.joinpath("children").read_text()
            found += [int(child) for child in text.split()]
    return found


Snapshot = dict[str, dict[int, float]]


def cpu_snapshot_of(groups: dict[str, list[int]]) -> Snapshot:
    """CPU seconds per process, by group, and the machine's busy and stolen time."""
    snapshot = {
        name: {pid: cpu_seconds(pid) for pid in pids} for name, pids in groups.items()
    }
    # user nice system idle iowait irq softirq steal (guest is inside user)
    ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:9]]
    clock = os.sysconf("SC_CLK_TCK")
    snapshot["machine busy"] = {0: (sum(ticks[:3]) + ticks[5] + ticks[6]) / clock}
    snapshot["stolen"] = {0: ticks[7] / clock}
    return snapshot


def cpu_spent(before: Snapshot, after: Snapshot) -> dict[str, float]:
    """CPU seconds between two snapshots; a process gone by the end is not counted."""
    spent = {
        name: sum(t - before.get(name, {}).get(pid, 0.0) for pid, t in pids.items())
        for name, pids in after.items()
    }
    ours = sum(v for k, v in spent.items() if k not in ("machine busy", "stolen"))
    # Anything else running on the machine (another test run, say) shows up here.
    spent["everything else"] = spent["machine busy"] - ours
    return spent


# --- servers under load -------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def open_files_raise() -> int:
    """Lift this process's open-file limit to its hard limit (its children inherit
    it): a thousand connections need a thousand descriptors on each side."""
    import resource

    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


@contextlib.contextmanager
def running(command: list[str], probe: str, log: Path) -> Iterator[int]:
    """Start a server in its own session, wait until ``probe`` answers 200, yield
    its pid, and stop it."""
    import urllib.request

    with open(log, "ab") as output:
        process = subprocess.Popen(
            command, cwd=ROOT, stdout=output, stderr=output, start_new_session=True
        )
        try:
            for _ in range(150):
                with contextlib.suppress(OSError):
                    if urllib.request.urlopen(probe, timeout=2).status == 200:
                        break
                if process.poll() is not None:
                    raise RuntimeError(f"{command[0]} exited: see {log}")
                time.sleep(0.2)
            else:
                raise RuntimeError(f"{command[0]} never answered {probe}")
            yield process.pid
        finally:
            stop_process(process)


WRK_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def wrk(
    url: str, connections: int, seconds: float, timeout: float, headers: tuple = ()
) -> dict[str, Any]:
    """One ``wrk --latency`` run (Debian's wrk): rps, p50 and p99 in ms, requests,
    and errors (socket errors, timeouts and non-2xx/3xx answers)."""
    import math
    import re

    command = ["wrk", f"-t{min(CPUS, connections)}", f"-c{connections}"]
    command += [f"-d{seconds:g}s", "--latency", f"--timeout={timeout:g}s", url]
    for header in headers:
        command += ["-H", header]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed: {done.stderr.strip()}")
    output = done.stdout

    def ms(percent: str) -> float:
        found = re.search(rf"^\s+{percent}%\s+([\d.]+)(\w+)", output, re.M)
        return float(found.group(1)) * WRK_UNITS[found.group(2)] if found else math.nan

    errors = re.findall(r"(?:connect|read|write|timeout|responses:) (\d+)", output)
    requests = re.search(r"(\d+) requests in", output)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    return {
        "rps": float(rps.group(1)) if rps else 0.0,
        "p50": ms("50"),
        "p99": ms("99"),
        "requests": int(requests.group(1)) if requests else 0,
        "errors": sum(int(n) for n in errors),
    }


def bench_database(default_url: str, name: str | None = None) -> str:
    """``DATABASE_URL`` or the benchmark's default, refused unless it names the
    benchmark's own database (``name``, or else any name with "bench" in it): a
    benchmark empties the tables it fills."""
    database_url = os.environ.get("DATABASE_URL") or default_url
    found = urlsplit(database_url).path.lstrip("/")
    if name is not None and found != name:
        sys.exit(f"refusing to run on database {found!r}: only {name!r}")
    if name is None and "bench" not in found:
        sys.exit(
            f"refusing to run on database {found!r}: its name must contain 'bench'"
        )
    return database_url


def base_env(database_url: str) -> dict[str, str]:
    """What every benchmark's processes share; each adds its own."""
    return {
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "statuspage.settings",
        "SECRET_KEY": "bench-only-secret-key-long-enough-for-the-production-check-0123",
        "LOG_LEVEL": "WARNING",
        # The figures are the server's, as nginx's are with its access_log off.
        "ACCESS_LOG": "false",
        "PYTHONPATH": str(ROOT),
    }
