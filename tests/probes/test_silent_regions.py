"""Silent regions on real Celery workers and beat over Redis: two of three regions'
workers stop, the target goes hard down, and nothing claims it is operational."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from redis import Redis

from incidents.models import Component, Incident, IncidentStatus
from probes.automation import automatic_incidents_resolve
from probes.models import ComponentVerdict, DroppedSlots, RegionState
from probes.services import probe_create
from tests.conftest import make_component
from tests.probes.test_end_to_end import Switchable, target, wait_for
from visitor.snapshot import serve

__all__ = ["target"]  # the fixture, used by name

REGIONS = "eu,us,ap"
HOLD = 15  # AUTO_RESOLVE_AFTER_SECONDS


def degraded(component: Component) -> bool:
    verdict = ComponentVerdict.objects.filter(component=component).first()
    return verdict is not None and verdict.monitoring_degraded


@pytest.mark.outage  # it stops two regions' workers
@pytest.mark.timeout(150)
def test_it_holds_the_status_and_the_incident_when_two_regions_go_silent(
    transactional_db: None,
    start_worker: Callable[..., Any],
    target: str,
    tmp_path: Path,
    settings: Any,
) -> None:
    settings.PROBE_REGIONS = REGIONS.split(",")
    settings.PROBE_SILENT_MIN_SECONDS = 3
    # Emptied first: the publish the new component asks for must reach the worker.
    broker = Redis.from_url(settings.CELERY_BROKER_URL)
    broker.flushdb()
    login = make_component(name="Login/logout path")
    probe, _ = probe_create(
        name="Sign-in page",
        kind="http",
        component=login,
        config={"url": target},
        regions=REGIONS.split(","),
        interval_seconds=1,
        timeout_seconds=1,
        failures_to_down=2,
        successes_to_up=2,
    )
    env = {
        "PROBE_REGIONS": REGIONS,
        "PROBE_SILENT_MIN_SECONDS": "3",
        "AUTO_RESOLVE_AFTER_SECONDS": str(HOLD),
        "AUTO_RESOLVE_CHECK_SECONDS": "1",
        "MONITORING_SWEEP_SECONDS": "1",
    }
    start_worker("default,dispatch,probes.eu", beat=True, **env)
    others = start_worker("probes.us,probes.ap", **env)
    log = tmp_path / "worker.log"

    def component() -> Component:
        return Component.objects.get(pk=login.pk)

    def incident() -> Incident | None:
        return Incident.objects.filter(origin="automatic").first()

    def page() -> str:
        response = Client().get("/")
        if serve.AGE_HEADER not in response:
            return ""  # the view answered: the worker has not published yet
        return response.content.decode()

    # 1. An outage all three regions confirm opens an incident; the recovery moves
    #    it to monitoring.
    Switchable.healthy.clear()
    wait_for(lambda: component().status == "major_outage", log, "the outage shows")
    Switchable.healthy.set()
    wait_for(
        lambda: (found := incident()) is not None and found.status == "monitoring",
        log,
        "the incident is in monitoring",
    )
    wait_for(lambda: component().status == "operational", log, "the recovery shows")
    # 2. The us and ap workers stop; the target goes hard down.
    others.terminate()
    others.wait(timeout=20)
    Switchable.healthy.clear()
    wait_for(
        lambda: RegionState.objects.get(probe=probe, region="eu").state == "down",
        log,
        "eu sees the target down",
    )
    wait_for(lambda: degraded(login), log, "monitoring is marked degraded")

    # The page, served from the snapshot the worker published, says so.
    wait_for(
        lambda: "Automated monitoring delayed since" in page(),
        log,
        "the page says monitoring is delayed",
    )
    shown = page()
    assert "All Systems Operational" not in shown
    assert "(last known: Operational)" in shown
    assert "Automated monitoring is delayed." in shown

    opened = incident()
    assert opened is not None
    assert opened.status == IncidentStatus.MONITORING  # not resolved
    assert component().status == "operational"  # held: not confirmed either way
    # The beat's resolver, past the hold, with the regions still silent.
    later = timezone.now() + dt.timedelta(seconds=HOLD + 1)
    with time_machine.travel(later, tick=False):
        assert automatic_incidents_resolve() == []
    assert Incident.objects.get(pk=opened.pk).status == IncidentStatus.MONITORING
    broker.flushdb()


@pytest.mark.timeout(90)
def test_it_drops_the_queued_slots_of_a_worker_back_from_a_stop(
    transactional_db: None,
    start_worker: Callable[..., Any],
    target: str,
    tmp_path: Path,
    settings: Any,
) -> None:
    """A stopped region's queue fills up; back, its worker runs only what is in
    time, so three slots never count as three failures a fraction of a second apart."""
    from probes.tasks import probes_run_batch

    Switchable.healthy.clear()
    probe, _ = probe_create(
        name="Sign-in page",
        kind="http",
        component=make_component(name="Login/logout path"),
        config={"url": target},
        regions=["local"],
        interval_seconds=10,
        failures_to_down=3,
    )
    broker = Redis.from_url(settings.CELERY_BROKER_URL)
    broker.flushdb()
    stopped_at = timezone.now() - dt.timedelta(seconds=40)
    for missed in range(3):  # queued while the worker was stopped
        slot = stopped_at + dt.timedelta(seconds=10 * missed)
        probes_run_batch.apply_async(
            args=("local", [(probe.pk, slot.isoformat())]), queue="probes.local"
        )
    # ...and two batches of two slots that expired in the broker before it was back.
    for _ in range(2):
        probes_run_batch.apply_async(
            args=("local", [(probe.pk, current) for current in ("a", "b")]),
            queue="probes.local",
            expires=timezone.now() - dt.timedelta(seconds=1),
        )
    current = timezone.now().isoformat()
    probes_run_batch.apply_async(
        args=("local", [(probe.pk, current)]), queue="probes.local"
    )

    start_worker("probes.local", PROBE_REGIONS="local")
    log = tmp_path / "worker.log"
    wait_for(
        lambda: RegionState.objects.filter(probe=probe).exists(),
        log,
        "the slot in time ran and was counted",
    )

    assert [r.slot.isoformat() for r in probe.results.all()] == [current]
    state = RegionState.objects.get(probe=probe, region="local")
    assert (state.state, state.failures) == ("up", 1)
    assert "dropped 1 of 1 slots in region local" in log.read_text()
    # Counted, for /metrics: three dropped by the runner, four expired unread.
    assert DroppedSlots.objects.get(region="local").count == 3 + 4
    broker.flushdb()
