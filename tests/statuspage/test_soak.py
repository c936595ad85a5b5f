"""The embedded default lasts: bin/run's real stack (supervisord, granian, a Celery
worker, beat and the demo product on SQLite) under load, and with its worker killed.
bench/soak.py starts and measures it; `make soak` runs the same for 30 minutes."""

from __future__ import annotations

import importlib.util
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.tiers import tier


def _bench_soak() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "bench_soak", ROOT / "bench" / "soak.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_soak"] = module  # dataclasses and threads look it up
    spec.loader.exec_module(module)
    return module


soak = _bench_soak()


@pytest.fixture
@tier("outage")
def stack(tmp_path: Path) -> Iterator[Any]:
    running = soak.Stack(tmp_path / "var")
    try:
        running.start()
        yield running
    finally:
        running.stop()


@pytest.mark.outage  # it starts bin/run's stack itself, not through `stack`
@pytest.mark.timeout(900)
def test_it_runs_every_slot_for_three_minutes_while_the_page_answers(
    tmp_path: Path,
) -> None:
    """make soak's 30 minutes, shortened: probes every second, a demo path broken
    and mended every 20 s, the page asked for every second."""
    figures = soak.soak(minutes=3, var_dir=tmp_path / "var")
    shown = "\n".join(f"{name}: {value}" for name, value in figures.items())

    assert figures["worker_crashes_in_logs"] == 0, shown
    assert figures["tracebacks_in_logs"] == 0, shown
    assert figures["process_restarts"] == 0, shown
    # Three probes, a slot a second each: every one claimed, run and recorded.
    assert figures["slots_due"] >= 3 * 170, shown
    assert figures["slots_run"] == figures["slots_due"], shown
    assert figures["slots_dropped_counted"] == 0, shown
    assert figures["flaps"] >= 8, shown
    # No growth: what waits at the end is at most what a beat tick leaves in flight.
    assert figures["queue_depth_end"] <= max(figures["queue_depth_start"], 3), shown
    assert figures["page_requests"] >= 150 and figures["page_failures"] == 0, shown
    assert figures["stopped_cleanly"], shown


@pytest.mark.timeout(600)
def test_it_restarts_a_killed_worker_while_the_page_answers(stack: Any) -> None:
    poller = soak.PagePoller(stack.page_url)
    poller.start()
    killed = stack.pid("worker")
    os.kill(killed, signal.SIGKILL)
    deadline = time.monotonic() + 120
    while not ("worker" in stack.running() and stack.pid("worker") not in (0, killed)):
        assert time.monotonic() < deadline, stack.supervisor_log()
        time.sleep(0.5)
    restarted_at = time.time()
    # The new worker takes work again: a probe result started after its restart.
    stack.manage("shell", "-c", soak.FAST_PROBES)
    while soak.latest_result_started(stack) < restarted_at:
        assert time.monotonic() < deadline, stack.log()[-3000:]
        time.sleep(0.5)
    poller.stop()

    log = stack.log()
    assert "exited: worker (terminated by SIGKILL; not expected)" in log
    assert "spawned: 'worker' with pid" in log.split("terminated by SIGKILL")[-1]
    assert stack.restarts() == {"worker": 1}
    assert poller.requests > 0
    assert poller.failures == []
