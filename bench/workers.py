"""Celery workers for the benchmarks, both sides of them.

In the bench process: worker processes on a queue, each in a session of its own with
its log in ``var/bench/``, ready once every log says so, stopped with TERM and then
KILL. Inside a bench worker script (``worker.py``, ``notifications_worker.py``): Django
set up, stopwatches wrapped around module attributes, and the ordinary worker's main.
"""

from __future__ import annotations

import functools
import inspect
import os
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common import BENCH_DIR, ROOT, children, stop_processes

CELERY_WORKER = [sys.executable, "-m", "celery", "-A", "statuspage", "worker"]


def bench_script(name: str) -> list[str]:
    """The command that runs ``bench/<name>`` with this Python."""
    return [sys.executable, str(ROOT / "bench" / name)]


# --- in the bench process -----------------------------------------------------------


@dataclass
class Workers:
    processes: list[subprocess.Popen[Any]] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    def pids(self) -> list[int]:
        """The worker processes and their children (a prefork pool's)."""
        pids = [p.pid for p in self.processes]
        return pids + [child for pid in pids for child in children(pid)]

    def log_texts(self) -> list[str]:
        return [log.read_text() if log.exists() else "" for log in self.logs]


def workers_start(
    program: list[str],
    *,
    queue: str,
    pools: list[list[str]],
    env: dict[str, str],
    name: str,
) -> Workers:
    """One worker process per entry of ``pools`` (its --pool and --concurrency
    options) on ``queue``, with ``env`` over this process's environment, logging to
    ``var/bench/<name>-<n>.log``; returns once every one is ready."""
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    workers = Workers()
    for number, pool in enumerate(pools):
        log = BENCH_DIR / f"{name}-{number}.log"
        log.unlink(missing_ok=True)
        command = [
            *program,
            *("-Q", queue, "-n", f"bench-{number}-{uuid.uuid4().hex[:6]}@%h"),
            *pool,
            *("--loglevel", "INFO", "--logfile", str(log)),
            *("--without-gossip", "--without-mingle", "--without-heartbeat"),
        ]
        workers.processes.append(
            subprocess.Popen(
                command,
                cwd=ROOT,
                env={**os.environ, **env},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        )
        workers.logs.append(log)
    try:
        _wait_ready(workers)
    except BaseException:
        workers_stop(workers)  # a worker that never got ready is not left behind
        raise
    return workers


def _wait_ready(workers: Workers, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in workers.processes):
            raise RuntimeError(f"a worker exited early; see {workers.logs}")
        if all(" ready." in text for text in workers.log_texts()):
            return
        time.sleep(0.2)
    raise RuntimeError(f"workers not ready after {timeout:g} s; see {workers.logs}")


def workers_stop(workers: Workers) -> None:
    """TERM them all at once (a warm shutdown: each finishes the task in hand), then
    KILL any still running after the grace."""
    stop_processes(workers.processes)


# --- inside a bench worker ----------------------------------------------------------

# Wall seconds per phase, added to by the stopwatches; a script's task wrapper clears
# it at the start of each task and logs it at the end.
spent: defaultdict[str, float] = defaultdict(float)


def django_setup() -> None:
    """What ``celery -A statuspage`` does before the app's modules can be imported."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "statuspage.settings")
    import django

    django.setup()


def timed(function: Callable[..., Any], phase: str) -> Callable[..., Any]:
    """``function``, adding its wall seconds to ``spent[phase]``; awaited if async."""
    if inspect.iscoroutinefunction(function):

        @functools.wraps(function)
        async def awaited(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await function(*args, **kwargs)
            finally:
                spent[phase] += time.perf_counter() - started

        return awaited

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[phase] += time.perf_counter() - started

    return wrapper


def worker_main() -> None:
    """The ordinary worker, with this script's arguments."""
    from statuspage.celery import app

    app.worker_main(argv=["worker", *sys.argv[1:]])
