"""The heartbeat kind: silence longer than the period (plus grace) is down."""

from __future__ import annotations

import datetime as dt

from probes.kinds import Outcome
from tests.probes.conftest import NOW, run_probe


def beat(seconds_ago, **config):
    last = None if seconds_ago is None else NOW - dt.timedelta(seconds=seconds_ago)
    config = {"period_seconds": 60, **config}
    return run_probe("heartbeat", config, last_heartbeat_at=last).steps[0]


def test_it_is_up_when_the_last_ping_is_within_the_period():
    result = beat(59)

    assert result.outcome is Outcome.UP
    assert result.latency_ms is None


def test_it_is_down_when_the_ping_is_late():
    result = beat(130)

    assert result.outcome is Outcome.DOWN
    assert result.error == "no heartbeat for 130 s"


def test_it_allows_the_grace_period():
    assert beat(80, grace_seconds=30).outcome is Outcome.UP
    assert beat(91, grace_seconds=30).outcome is Outcome.DOWN


def test_it_is_down_before_the_first_ping():
    result = beat(None)

    assert result.outcome is Outcome.DOWN
    assert result.error == "no heartbeat yet"
