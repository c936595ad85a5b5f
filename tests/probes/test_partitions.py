"""Regions on separate networks: a real partition between a region and the target.

Three regions, each a real Celery worker in its own network namespace
(tests/probes/netns.py), probe one target in the root namespace. The test drives
the dispatch itself (the beat's service, every few tenths of a second) and cuts a
region's route to the target with a blackhole route inside its namespace, which
leaves its way to PostgreSQL and Redis open, or stops a region's worker, which
leaves that region silent.
"""

from __future__ import annotations

import io
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from incidents.models import Component, Incident
from probes.models import ComponentVerdict, Probe, ProbeResult, RegionState
from probes.monitoring import monitoring_sweep
from probes.scheduler import probes_dispatch
from probes.selectors import monitoring_overview
from probes.services import probe_create
from tests.conftest import make_component, worker_database_url
from tests.probes.netns import Lab, namespaces_problem
from tests.tiers import tier

REGIONS = ("east", "west", "north")


def _upstreams() -> list[tuple[str, int]]:
    """Where the database and the brokers the workers need really listen."""
    database = django_settings.DATABASES["default"]
    found = [(database.get("HOST") or "127.0.0.1", int(database.get("PORT") or 5432))]
    for url in (django_settings.REDIS_URL, django_settings.CELERY_BROKER_URL):
        parts = urlsplit(url)
        found.append((parts.hostname or "127.0.0.1", parts.port or 6379))
    return list(dict.fromkeys(found))


@pytest.fixture(scope="module")
@tier("outage")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    if problem := namespaces_problem():
        pytest.skip(problem)
    if not django_settings.CELERY_BROKER_URL.startswith("redis://"):
        pytest.skip("worker tests need CELERY_BROKER_URL=redis://...")
    # Region names unique to this run: their queues live on a shared broker.
    names = [f"{region}-{secrets.token_hex(2)}" for region in REGIONS]
    created = Lab.create(
        names, folder=tmp_path_factory.mktemp("workers"), upstreams=_upstreams()
    )
    yield created
    created.destroy()


class Healthy(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (the http.server API)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def target(lab: Lab) -> Iterator[tuple[str, int]]:
    """A target that is always up, on the root namespace's target address: only a
    partition can make a region see it fail."""
    server = ThreadingHTTPServer((lab.target_address, 0), Healthy)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield lab.target_address, server.server_port
    server.shutdown()
    server.server_close()


@pytest.fixture
def regions(lab: Lab, transactional_db: None, settings: Any) -> Iterator[Lab]:
    """The lab with this test's settings; every cut mended, every worker stopped."""
    settings.PROBE_REGIONS = lab.names
    yield lab
    lab.stop_workers()
    for name in lab.names:
        lab.mend(name)


def start_workers(lab: Lab, names: list[str] | None = None, **env: str) -> None:
    for name in lab.names if names is None else names:
        lab.start_worker(
            name,
            DATABASE_URL=lab.relayed(worker_database_url()),
            REDIS_URL=lab.relayed(django_settings.REDIS_URL),
            CELERY_BROKER_URL=lab.relayed(django_settings.CELERY_BROKER_URL),
            # Workers publish into this test's snapshot, not the real one.
            SNAPSHOT_DIR=str(django_settings.SNAPSHOT_DIR),
            SNAPSHOT_REDIS_PREFIX=django_settings.SNAPSHOT_REDIS_PREFIX,
            **env,
        )


def drive(
    lab: Lab,
    until: Callable[[], bool],
    what: str,
    *,
    meanwhile: Callable[[], None] = lambda: None,
) -> None:
    """Run the beat's dispatch until ``until`` holds, calling ``meanwhile`` (which
    asserts) on every round. The deadline only ends a test that went wrong."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        probes_dispatch()
        meanwhile()
        if until():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out waiting until {what}:\n{lab.logs()}")


def watch(lab: Lab, url: str) -> Probe:
    component = make_component(name="API")
    probe, _ = probe_create(
        name="API health",
        kind="http",
        component=component,
        config={"url": url},
        regions=lab.names,
        interval_seconds=1,
        timeout_seconds=1,
        failures_to_down=2,
        successes_to_up=2,
    )
    return probe


def results_since(probe: Probe, region: str, outcome: str, since: Any) -> int:
    return ProbeResult.objects.filter(
        probe=probe, region=region, outcome=outcome, started_at__gt=since
    ).count()


def region_state(probe: Probe, region: str) -> str:
    return RegionState.objects.get(probe=probe, region=region).state


def status(probe: Probe) -> str:
    return Component.objects.get(pk=probe.component_id).status


def automatic() -> Incident | None:
    return Incident.objects.filter(origin="automatic").first()


def page_status(client: Client) -> str:
    description: str = client.get("/api/v2/status.json").json()["status"]["description"]
    return description


def all_up(probe: Probe, lab: Lab, since: Any) -> Callable[[], bool]:
    return lambda: all(
        results_since(probe, name, "up", since) >= 2 for name in lab.names
    )


def test_it_cuts_a_regions_route_to_the_target_and_nothing_else(
    lab: Lab, target: tuple[str, int]
) -> None:
    east, west, _ = lab.names
    relay_port = next(iter(lab.relayed_ports.values()))
    database_port = int(django_settings.DATABASES["default"].get("PORT") or 5432)
    # A namespace is a network of its own: the root namespace's loopback, where
    # PostgreSQL listens, is not its loopback.
    assert not lab.reaches(east, "127.0.0.1", database_port)
    assert lab.reaches(east, *target)
    lab.cut(east)
    try:
        assert not lab.reaches(east, *target)
        assert lab.reaches(east, lab.services_address, relay_port)
        assert lab.reaches(west, *target)
    finally:
        lab.mend(east)
    assert lab.reaches(east, *target)


@pytest.mark.timeout(120)
def test_it_stays_operational_when_one_of_three_regions_is_cut_off(
    regions: Lab, target: tuple[str, int]
) -> None:
    probe = watch(regions, f"http://{target[0]}:{target[1]}/health")
    east, west, north = regions.names
    start_workers(regions)
    drive(regions, all_up(probe, regions, probe.created_at), "every region reports")
    assert status(probe) == "operational"

    regions.cut(east)
    cut_at = timezone.now()

    def still_operational() -> None:
        assert status(probe) == "operational", regions.logs()
        assert automatic() is None

    # A stretch of several intervals: the cut region fails again and again (its
    # streak passes failures_to_down twice over) while the other two keep reporting.
    drive(
        regions,
        lambda: (
            results_since(probe, east, "down", cut_at) >= 4
            and all(results_since(probe, r, "up", cut_at) >= 4 for r in (west, north))
        ),
        "the cut region has failed four times",
        meanwhile=still_operational,
    )
    # The cut is real: the cut region counts as down, and it was outvoted.
    assert region_state(probe, east) == "down"
    assert region_state(probe, west) == region_state(probe, north) == "up"
    failure = ProbeResult.objects.filter(
        probe=probe, region=east, outcome="down", started_at__gt=cut_at
    ).first()
    assert failure is not None and failure.error
    still_operational()


@pytest.mark.timeout(120)
def test_it_goes_down_when_two_of_three_regions_are_cut_off_and_recovers(
    regions: Lab, target: tuple[str, int]
) -> None:
    probe = watch(regions, f"http://{target[0]}:{target[1]}/health")
    east, west, north = regions.names
    start_workers(regions)
    drive(regions, all_up(probe, regions, probe.created_at), "every region reports")

    regions.cut(east)
    regions.cut(west)
    drive(
        regions,
        lambda: status(probe) == "major_outage",
        "the component goes down",
    )
    incident = automatic()
    assert incident is not None
    assert incident.status == "investigating"
    assert incident.name == "API down"
    assert "Confirmed from 2 of 3 regions." in incident.updates.get().body
    assert region_state(probe, north) == "up"  # the region that still sees it up

    regions.mend(east)
    regions.mend(west)
    drive(
        regions,
        lambda: status(probe) == "operational",
        "the component recovers",
    )
    assert Incident.objects.get(pk=incident.pk).status == "monitoring"


@pytest.mark.timeout(120)
def test_it_says_monitoring_is_degraded_when_two_of_three_regions_stop(
    regions: Lab,
    target: tuple[str, int],
    settings: Any,
    mailoutbox: list[Any],
    client: Client,
) -> None:
    # Silent after max(3 intervals + the timeout, 2 s) = 4 s without a result; the
    # workers judge by the same window as the sweep run here.
    settings.PROBE_SILENT_AFTER_INTERVALS, settings.PROBE_SILENT_MIN_SECONDS = 3, 2
    settings.STAFF_ALERT_EMAILS = ["oncall@acme.test"]
    silence = {"PROBE_SILENT_AFTER_INTERVALS": "3", "PROBE_SILENT_MIN_SECONDS": "2"}
    probe = watch(regions, f"http://{target[0]}:{target[1]}/health")
    east, west, north = regions.names
    start_workers(regions, **silence)
    drive(regions, all_up(probe, regions, probe.created_at), "every region reports")

    def degraded() -> bool:
        current = ComponentVerdict.objects.filter(component_id=probe.component_id)
        return any(verdict.monitoring_degraded for verdict in current)

    assert not degraded()
    regions.stop_worker(east)
    regions.stop_worker(west)
    stopped_at = timezone.now()

    def sweep_and_hold() -> None:
        monitoring_sweep()  # the beat's task, as beat would run it
        # Held, not guessed: no region says it is down, and too few say it is up.
        assert status(probe) == "operational", regions.logs()
        assert automatic() is None

    drive(regions, degraded, "monitoring is degraded", meanwhile=sweep_and_hold)
    sweep_and_hold()  # a worker may have marked it just after the last sweep
    overview = monitoring_overview()
    assert {s.region for s in overview.silent} == {east, west}
    assert [d.component_id for d in overview.degraded] == [probe.component_id]
    # The region still running kept reporting all along: only the others are silent.
    assert results_since(probe, north, "up", stopped_at) >= 1
    # Said where staff look: the cron check fails, and on-call got one message.
    with pytest.raises(CommandError, match="Monitoring degraded for API"):
        call_command("monitoring_check", "--no-sweep", stdout=io.StringIO())
    assert [m.subject for m in mailoutbox] == ["Heliograph monitoring degraded"]
    # And to visitors: not "all operational", only what is known.
    assert page_status(client) == "Automated Monitoring Delayed"

    start_workers(regions, [east, west], **silence)
    drive(
        regions,
        lambda: not degraded() and monitoring_overview().silent == [],
        "monitoring recovers and every region speaks again",
        meanwhile=monitoring_sweep,
    )
    monitoring_sweep()
    assert status(probe) == "operational"
    assert automatic() is None
    assert page_status(client) == "All Systems Operational"
    subjects = [m.subject for m in mailoutbox]
    assert subjects == [
        "Heliograph monitoring degraded",
        "Heliograph monitoring recovered",
    ]
