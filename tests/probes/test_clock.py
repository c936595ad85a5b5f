"""A region worker whose machine's clock is off still runs its slots on time, and its
results, streaks and verdicts are on the database's time (the process clock is the
one thing mocked: the database, the target and the runner are real)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import pytest
import redis
import time_machine

from probes import clock, runner, selectors, tasks
from probes.models import BeatTick, ComponentVerdict, Probe, ProbeResult, RegionState
from probes.selectors import DISPATCH_TICK
from tests.probes.test_runner import make_http_probe, target  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db(transaction=True)

HOUR = dt.timedelta(hours=1)


@pytest.fixture(autouse=True)
def fresh_report(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock, "_reported", dt.timedelta(0))


def close_to(when: dt.datetime, reference: dt.datetime) -> bool:
    return abs(when - reference) < dt.timedelta(seconds=30)


def test_it_reads_no_offset_from_a_clock_that_agrees(
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert abs(clock.database_offset()) < dt.timedelta(seconds=1)
    assert close_to(clock.database_now(), dt.datetime.now(dt.UTC))
    assert caplog.records == []


def test_it_runs_the_slots_of_a_worker_whose_clock_runs_an_hour_ahead(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Refused: down at its first failure, so the component is decided at once.
    probe = make_http_probe(
        "http://127.0.0.1:9/", interval_seconds=60, failures_to_down=1
    )
    slot = clock.database_now().replace(microsecond=0)

    with time_machine.travel(dt.datetime.now(dt.UTC) + HOUR, tick=True):
        assert clock.database_offset() < -HOUR + dt.timedelta(seconds=5)
        runs = runner.probes_run_batch(
            region="local", items=[(probe.pk, slot.isoformat())]
        )

    truth = clock.database_now()
    assert len(runs) == 1, "a slot just claimed was dropped as an hour late"
    result = ProbeResult.objects.get(probe=probe)
    assert result.slot == slot
    assert close_to(result.started_at, truth)
    state = RegionState.objects.get(probe=probe, region="local")
    assert state.state == "down"
    assert state.last_result_at is not None and state.last_result_at <= truth
    # Decided on the database's time too: its own fresh result is not an hour old.
    verdict = ComponentVerdict.objects.get(component=probe.component)
    assert (verdict.status, verdict.monitoring_degraded_since) == (
        "major_outage",
        None,
    )
    assert "clock is 3600.0 s ahead of the database's" in caplog.text


def test_it_keeps_a_worker_whose_clock_runs_behind_speaking_and_on_time(
    target: str,  # noqa: F811 (the fixture)
    caplog: pytest.LogCaptureFixture,
) -> None:
    probe = make_http_probe(f"{target}/ok", interval_seconds=60)
    truth = clock.database_now()
    late = (truth - dt.timedelta(seconds=61)).isoformat()
    in_time = truth.replace(microsecond=0).isoformat()

    with time_machine.travel(dt.datetime.now(dt.UTC) - HOUR, tick=True):
        runs = runner.probes_run_batch(
            region="local", items=[(probe.pk, late), (probe.pk, in_time)]
        )

    # By its own clock both slots lie an hour ahead; by the database's one is late.
    assert [run.slot.isoformat() for run in runs] == [in_time]
    assert "dropped 1 of 2 slots in region local" in caplog.text
    assert "clock is 3600.0 s behind the database's" in caplog.text
    (result,) = ProbeResult.objects.filter(probe=probe)
    assert close_to(result.started_at, clock.database_now())
    # Its results are fresh, so the monitor does not call the working region silent.
    overview = selectors.monitoring_overview(now=clock.database_now())
    assert overview.silent == []
    assert close_to(overview.region_last_result_at["local"], clock.database_now())


def test_it_logs_a_steady_skew_once_and_its_end(
    target: str,  # noqa: F811 (the fixture)
    caplog: pytest.LogCaptureFixture,
) -> None:
    with time_machine.travel(dt.datetime.now(dt.UTC) + HOUR, tick=True):
        for _ in range(3):
            clock.database_offset()
    assert caplog.text.count("s ahead of the database's") == 1

    assert abs(clock.database_offset()) < dt.timedelta(seconds=1)
    assert "agrees with the database's again" in caplog.text


def test_it_logs_a_skew_hovering_at_the_tolerance_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """0.8 s, 1.2 s, 0.9 s, 1.3 s behind: always applied, logged when it first
    passes the tolerance, not at every crossing."""
    for seconds in (0.8, 1.2, 0.9, 1.3):
        skew = dt.timedelta(seconds=seconds)
        with time_machine.travel(dt.datetime.now(dt.UTC) - skew, tick=True):
            offset = clock.database_offset()
        assert abs(offset - skew) < dt.timedelta(seconds=0.2)
    told = [record.getMessage() for record in caplog.records]
    assert len(told) == 1 and "clock is 1.2 s behind the database's" in told[0]


def test_the_beats_tasks_run_on_the_databases_time(settings: Any) -> None:
    """The dispatch claims by the database's clock, wherever its worker runs."""
    region = f"t{uuid.uuid4().hex[:10]}"  # a queue of this test's only
    settings.PROBE_REGIONS = [region]
    probe = make_http_probe(
        "http://127.0.0.1:9/", regions=[region], interval_seconds=60
    )
    due = clock.database_now() - dt.timedelta(seconds=1)
    Probe.objects.filter(pk=probe.pk).update(next_due_at=due)
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    try:
        # An hour behind, the probe would not be due for an hour by its own clock.
        with time_machine.travel(dt.datetime.now(dt.UTC) - HOUR, tick=True):
            assert tasks.probes_dispatch() == 1
            assert tasks.monitoring_sweep() == 0
        assert broker.llen(f"probes.{region}") == 1
    finally:
        broker.delete(f"probes.{region}")
    tick = BeatTick.objects.get(task=DISPATCH_TICK)
    assert close_to(tick.at, clock.database_now())
    assert Probe.objects.get(pk=probe.pk).next_due_at == due + dt.timedelta(minutes=1)


def test_it_sends_batches_that_a_region_whose_clock_runs_ahead_does_not_expire(
    settings: Any,
) -> None:
    """Celery stamps a batch's expiry on the dispatch's clock and checks it on the
    region's: the bound is far above a skew, and lateness is the runner's (above)."""
    region = f"t{uuid.uuid4().hex[:10]}"
    settings.PROBE_REGIONS = [region]
    probe = make_http_probe(
        "http://127.0.0.1:9/", regions=[region], interval_seconds=60
    )
    due = clock.database_now() - dt.timedelta(seconds=1)
    Probe.objects.filter(pk=probe.pk).update(next_due_at=due)
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    skew = dt.timedelta(minutes=10)
    try:
        with time_machine.travel(dt.datetime.now(dt.UTC) - skew, tick=True):
            assert tasks.probes_dispatch() == 1
        (raw,) = broker.lrange(f"probes.{region}", 0, -1)
    finally:
        broker.delete(f"probes.{region}")
    expires = dt.datetime.fromisoformat(json.loads(raw)["headers"]["expires"])
    # As celery.worker.request.Request.maybe_expire judges it, on the true clock.
    assert expires > dt.datetime.now(dt.UTC) + dt.timedelta(minutes=30)
