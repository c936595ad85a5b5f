"""The alert kind: pushed by alerting tools, matched by labels, never scheduled."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from probes.kinds import Outcome, kind_class
from probes.kinds.alert import Alert, alert_outcome
from probes.models import Probe
from probes.scheduler import probes_claim_due
from probes.services import probe_create
from tests.conftest import make_component
from tests.probes.conftest import run_probe


def errors(config: Any) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        kind_class("alert").validate(config)
    return caught.value.message_dict


def test_it_needs_label_matchers() -> None:
    assert "matchers is required" in errors({})["matchers"][0]
    assert "matchers is required" in errors({"matchers": {}})["matchers"][0]
    assert "matchers is required" in errors({"matchers": ["a"]})["matchers"][0]


def test_it_names_a_bad_matcher() -> None:
    assert (
        "is not a label name" in errors({"matchers": {"a-b": "x"}})["matchers.a-b"][0]
    )
    assert "non-empty string" in errors({"matchers": {"job": 3}})["matchers.job"][0]
    assert "not a known field" in errors({"matchers": {"a": "b"}, "x": 1})["x"][0]


def test_it_matches_when_every_matcher_equals_a_label() -> None:
    kind = Alert(
        Alert.validate({"matchers": {"alertname": "LoginDown", "job": "auth"}})
    )

    assert kind.matches({"alertname": "LoginDown", "job": "auth", "instance": "a:1"})
    assert not kind.matches({"alertname": "LoginDown"})
    assert not kind.matches({"alertname": "LoginDown", "job": "billing"})


def test_it_reads_the_severity_label() -> None:
    assert alert_outcome({}) is Outcome.DOWN
    assert alert_outcome({"severity": "critical"}) is Outcome.DOWN
    assert alert_outcome({"severity": "Warning"}) is Outcome.DEGRADED
    assert alert_outcome({"severity": "none"}) is None
    assert alert_outcome({"severity": "info"}) is None


def test_it_measures_nothing_when_run() -> None:
    result = run_probe("alert", {"matchers": {"job": "auth"}}).steps[0]

    assert result.outcome is Outcome.SKIPPED


@pytest.mark.django_db
def test_it_acts_on_one_pushed_result_and_is_never_scheduled(settings: Any) -> None:
    settings.PROBE_REGIONS = ["local"]
    component = make_component(name="Login")
    probe, token = probe_create(
        name="Login alerts",
        kind="alert",
        component=component,
        config={"matchers": {"job": "auth"}},
        failures_to_down=3,
        successes_to_up=2,
    )

    assert token is None
    assert (probe.failures_to_down, probe.successes_to_up) == (1, 1)
    later = timezone.now() + dt.timedelta(hours=1)
    assert probes_claim_due(now=later, limit=10) == []


@pytest.mark.django_db
def test_it_creates_an_alert_probe_in_the_console(
    admin_client: Client, settings: Any
) -> None:
    settings.PROBE_REGIONS = ["local"]
    component = make_component(name="Login")
    form = {
        "name": "Login alerts",
        "kind": "alert",
        "component": component.pk,
        "config": json.dumps({"matchers": {"service": "auth"}}),
        "down_status": "major_outage",
        "interval_seconds": 60,
        "timeout_seconds": 10,
        "failures_to_down": 3,
        "successes_to_up": 2,
        "regions": json.dumps(["local"]),
        "quorum": "",
        "enabled": "on",
    }

    response = admin_client.post(reverse("admin:probes_probe_add"), form)

    assert response.status_code == 302, response.content.decode()[:2000]
    probe = Probe.objects.get()
    assert probe.config == {"matchers": {"service": "auth"}}
    assert (probe.failures_to_down, probe.successes_to_up) == (1, 1)
