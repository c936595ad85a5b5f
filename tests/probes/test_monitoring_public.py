"""What visitors are told when the monitoring's evidence is stale: the page, its
Statuspage JSON, and the published snapshot when no render follows."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from incidents.models import Component
from probes.kinds.base import Outcome
from probes.monitoring import monitoring_sweep
from tests.conftest import make_component, make_page
from tests.probes.test_monitoring import (
    REGIONS,
    SILENT,
    clock,
    make_probe,
    probe_settings,
    report,
)
from visitor.snapshot import publish, serve

pytestmark = pytest.mark.django_db
__all__ = ["clock", "probe_settings"]  # fixtures, used by name


@pytest.fixture
def login(clock: Any) -> Component:
    make_page(name="Acme", url="https://status.acme.test")
    return make_component(name="Login/logout path")


def test_it_says_monitoring_is_delayed_instead_of_all_operational(
    client: Client, clock: Any, login: Component
) -> None:
    probe = make_probe(login)
    report(probe, clock, Outcome.UP, *REGIONS, times=1)
    fresh = client.get("/").content.decode()
    clock.shift(SILENT)
    monitoring_sweep()
    since = timezone.now()

    page = client.get("/").content.decode()
    status = json.loads(client.get("/api/v2/status.json").content)["status"]
    summary = json.loads(client.get("/api/v2/summary.json").content)

    assert "All Systems Operational" in fresh
    assert "All Systems Operational" not in page
    assert "Automated Monitoring Delayed" in page
    assert "Automated monitoring delayed since" in page
    assert f'data-monitoring-delayed-since="{since.isoformat()}"' in page
    assert "(last known: Operational)" in page
    # The Statuspage shape is kept; it only claims what is known.
    assert status == {
        "indicator": "none",
        "description": "Automated Monitoring Delayed",
    }
    assert [c["status"] for c in summary["components"]] == ["operational"]


def test_it_shows_the_delay_when_no_render_follows(
    client: Client, clock: Any, login: Component, isolated_snapshot: Any
) -> None:
    """The snapshot outlives the beat: published while all was fresh, it says so
    itself once the evidence it was rendered from has run out."""
    probe = make_probe(login)
    report(probe, clock, Outcome.UP, *REGIONS, times=1)
    manifest = publish.snapshot_publish()
    assert manifest.evidence_until == (timezone.now() + SILENT).timestamp() - 1
    fresh = client.get("/")
    assert "Automated monitoring is delayed" not in fresh.content.decode()

    clock.shift(SILENT + dt.timedelta(minutes=2))  # beat and workers all stopped
    late = client.get("/")

    assert int(late[serve.AGE_HEADER]) > 0  # served from the snapshot
    assert "Automated monitoring is delayed" in late.content.decode()
    assert "2\xa0minutes ago" in late.content.decode()
    assert late["ETag"] != fresh["ETag"]
