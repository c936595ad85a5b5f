"""Running a batch: concurrently, bounded by each probe's timeout, results stored."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.utils import timezone

from probes import runner
from probes.models import Probe, ProbeResult, RegionState
from probes.services import probe_create
from tests.conftest import make_component

pytestmark = pytest.mark.django_db


class Target(BaseHTTPRequestHandler):
    """/ok answers at once, /hang holds the connection until the server stops."""

    release = threading.Event()

    def do_GET(self) -> None:  # noqa: N802 (the http.server API)
        if self.path.startswith("/hang"):
            self.release.wait(30)
        body = b"fine"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def target() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Target)
    server.daemon_threads = True
    Target.release.clear()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    Target.release.set()
    server.shutdown()
    server.server_close()


def make_http_probe(url: str, **fields: Any) -> Probe:
    component = fields.pop("component", None) or make_component(name=url)
    probe, _ = probe_create(
        name=url, kind="http", component=component, config={"url": url}, **fields
    )
    return probe


def claim(*probes: Probe) -> list[tuple[int, str]]:
    return [(probe.pk, probe.next_due_at.isoformat()) for probe in probes]


def test_it_runs_a_batch_without_waiting_for_a_hanging_target(target: str) -> None:
    fast = [make_http_probe(f"{target}/ok?n={n}", timeout_seconds=5) for n in range(5)]
    hanging = make_http_probe(f"{target}/hang", timeout_seconds=1)

    runs = runner.probes_run_batch(region="local", items=claim(hanging, *fast))

    by_probe = {run.probe.pk: run for run in runs}
    stuck = by_probe[hanging.pk].outcome.steps[0]
    assert stuck.outcome == "down" and "timed out" in stuck.error
    assert not Target.release.is_set(), "the target was still hanging at the end"
    deadline = by_probe[hanging.pk].started_at + dt.timedelta(seconds=1)
    for probe in fast:
        run = by_probe[probe.pk]
        assert run.outcome.steps[0].outcome == "up"
        # Each fast probe started before the hanging one ran out of time: none of
        # them queued behind it.
        assert run.started_at < deadline


def test_it_stores_each_result_and_counts_it_into_the_streak(
    target: str, settings: Any
) -> None:
    settings.PROBE_STREAK_MIN_SPACING_PERCENT = 0  # two runs back to back both count
    probe = make_http_probe(f"{target}/ok")
    for _ in range(2):
        runner.probes_run_batch(region="local", items=claim(probe))

    results = ProbeResult.objects.filter(probe=probe)
    assert [(r.region, r.step, r.outcome, r.status_code) for r in results] == [
        ("local", "main", "up", 200),
        ("local", "main", "up", 200),
    ]
    assert all(r.latency_ms is not None and r.latency_ms >= 0 for r in results)
    state = RegionState.objects.get(probe=probe, region="local")
    assert (state.state, state.successes, state.failures) == ("up", 2, 0)


def test_it_records_a_refused_connection_as_down(target: str) -> None:
    probe = make_http_probe("http://127.0.0.1:9/unreachable", timeout_seconds=2)

    runner.probes_run_batch(region="local", items=claim(probe))

    result = ProbeResult.objects.get(probe=probe)
    assert result.outcome == "down" and result.error


def test_it_skips_probes_disabled_after_they_were_claimed(target: str) -> None:
    probe = make_http_probe(f"{target}/ok")
    items = claim(probe)
    Probe.objects.filter(pk=probe.pk).update(enabled=False)

    assert runner.probes_run_batch(region="local", items=items) == []
    assert not ProbeResult.objects.exists()


def test_it_gives_journeys_only_the_secrets_meant_for_probes(
    settings: Any, target: str
) -> None:
    settings.PROBE_SECRETS = {"ACME_PASSWORD": "s3cret"}
    probe = Probe(
        config={"secrets": {"password": "ACME_PASSWORD", "key": "SECRET_KEY"}}
    )

    assert runner.probe_secrets(probe) == {"password": "s3cret"}


def test_it_keeps_the_timeout_of_a_batch_bounded(target: str) -> None:
    """A batch of hanging targets ends after about one timeout, not one per probe."""
    hanging = [
        make_http_probe(f"{target}/hang?n={n}", timeout_seconds=1) for n in range(4)
    ]
    runs = runner.probes_run_batch(region="local", items=claim(*hanging))

    assert [run.outcome.steps[0].outcome for run in runs] == ["down"] * 4, [
        run.outcome.steps[0].error for run in runs
    ]
    latest_start = max(run.started_at for run in runs)
    earliest_start = min(run.started_at for run in runs)
    # All four started together, not each after the previous one's timeout.
    assert latest_start - earliest_start < dt.timedelta(seconds=1)


def test_it_drops_a_slot_too_late_to_mean_anything(
    target: str, caplog: pytest.LogCaptureFixture
) -> None:
    probe = make_http_probe(f"{target}/ok", interval_seconds=60)
    late = (timezone.now() - dt.timedelta(seconds=61)).isoformat()
    in_time = (timezone.now() - dt.timedelta(seconds=50)).isoformat()

    assert runner.probes_run_batch(region="local", items=[(probe.pk, late)]) == []
    assert not ProbeResult.objects.filter(probe=probe).exists()
    assert not RegionState.objects.filter(probe=probe).exists()
    assert "dropped 1 of 1 slots in region local" in caplog.text

    (run,) = runner.probes_run_batch(region="local", items=[(probe.pk, in_time)])
    result = ProbeResult.objects.get(probe=probe)
    assert result.slot.isoformat() == in_time == run.slot.isoformat()


def test_it_keeps_a_floor_under_the_lateness_of_fast_probes(target: str) -> None:
    probe = make_http_probe(f"{target}/ok", interval_seconds=1)
    queued = (timezone.now() - dt.timedelta(seconds=3)).isoformat()

    assert len(runner.probes_run_batch(region="local", items=[(probe.pk, queued)])) == 1
