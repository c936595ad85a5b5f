"""The uptime record of a component that alerts feed: told by its status, since alert
probes report only when an alert fires or resolves and so cover no time."""

from __future__ import annotations

from typing import Any

import pytest

from probes.models import ProbeHour
from probes.services import PushedAlert, alerts_record, probe_create
from tests.conftest import make_component
from tests.uptime.test_rollup import DAY, FULL_DAY, NEXT, at, clock, seconds_of
from uptime import rollup

pytestmark = pytest.mark.django_db

__all__ = ["clock"]  # a fixture, used by name


def push(*, firing: bool) -> None:
    labels = {"alertname": "LoginDown"}
    alerts_record(alerts=[PushedAlert(fingerprint="f1", labels=labels, firing=firing)])


def test_it_judges_a_component_fed_by_alerts_by_its_status(
    clock: Any, settings: Any
) -> None:
    settings.PROBE_REGIONS = ["local"]
    clock(at(DAY, 0))
    login = make_component(name="Login")
    probe_create(
        name="Login alerts",
        kind="alert",
        component=login,
        config={"matchers": {"alertname": "LoginDown"}},
    )
    clock(at(DAY, 10))
    push(firing=True)
    clock(at(DAY, 11))
    push(firing=False)
    clock(at(NEXT, 6))

    rollup.rollup_range(first=DAY, last=DAY)

    assert seconds_of(login, DAY) == {
        "operational_seconds": FULL_DAY - 3600,
        "major_seconds": 3600,
    }
    assert not ProbeHour.objects.exists()
