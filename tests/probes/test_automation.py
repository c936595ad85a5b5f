"""From regional results to component statuses and automatic incidents.

Results are fed the way a region's worker records them (``results_record``), from
three regions, so hysteresis, quorum, damping and automation act together on the
real services and database.
"""

from __future__ import annotations

import datetime as dt
import functools
import threading
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from incidents import services
from incidents.models import (
    Component,
    ComponentStatusChange,
    Impact,
    Incident,
    IncidentStatus,
    IncidentUpdate,
    Origin,
)
from probes.automation import automatic_incidents_resolve
from probes.kinds.base import Outcome, ProbeOutcome, StepResult
from probes.models import ComponentVerdict, Probe, RegionState
from probes.results import Run, results_record, verdicts_enforce
from probes.services import probe_create
from tests.conftest import make_component, make_group, make_maintenance

pytestmark = pytest.mark.django_db

REGIONS = ["eu", "us", "ap"]
HOLD = 300


@pytest.fixture(autouse=True)
def probe_settings(settings: Any) -> None:
    settings.PROBE_REGIONS = REGIONS
    settings.AUTO_RESOLVE_AFTER_SECONDS = HOLD
    settings.FLAP_WINDOW_SECONDS = 900
    settings.FLAP_THRESHOLD = 4
    # These runs come back to back, with no clock between them: count each one
    # (the spacing of streaks has its own tests).
    settings.PROBE_STREAK_MIN_SPACING_PERCENT = 0


@pytest.fixture
def login() -> Component:
    return make_component(name="Login/logout path", group=make_group())


@pytest.fixture
def api() -> Component:
    return make_component(name="API")


def make_probe(component: Component, **fields: Any) -> Probe:
    probe, _ = probe_create(
        name=f"{component.name} check",
        kind="http",
        component=component,
        config={"url": "http://127.0.0.1:9/health"},
        **fields,
    )
    return probe


def report(probe: Probe, region: str, outcome: str, times: int = 1) -> None:
    """``times`` runs of ``probe`` from ``region``, recorded as the worker does."""
    for _ in range(times):
        now = timezone.now()
        step = StepResult(step="main", outcome=Outcome(outcome), latency_ms=12.5)
        run = Run(
            probe=probe, slot=now, started_at=now, outcome=ProbeOutcome(steps=[step])
        )
        results_record(region=region, runs=[run])


def fail(probe: Probe, *regions: str, times: int = 3) -> None:
    for region in regions:
        report(probe, region, Outcome.DOWN, times)


def recover(probe: Probe, *regions: str, times: int = 2) -> None:
    for region in regions:
        report(probe, region, Outcome.UP, times)


def status_of(component: Component) -> str:
    return Component.objects.get(pk=component.pk).status


def automatic() -> Incident:
    return Incident.objects.incidents().get(origin=Origin.AUTOMATIC)


def updates(incident: Incident) -> list[IncidentUpdate]:
    """The incident's timeline, oldest first."""
    return list(incident.updates.order_by("display_at", "id"))


def test_it_never_acts_on_one_flaky_region(login: Component) -> None:
    probe = make_probe(login)
    for _ in range(4):
        fail(probe, "eu", times=3)
        recover(probe, "us", "ap", times=1)

    assert RegionState.objects.get(probe=probe, region="eu").state == Outcome.DOWN
    assert status_of(login) == "operational"
    assert not Incident.objects.exists()
    assert not ComponentStatusChange.objects.filter(component=login).exists()


def test_it_opens_one_automatic_incident_when_two_regions_agree(
    login: Component,
) -> None:
    probe = make_probe(login)
    fail(probe, "eu")
    fail(probe, "us", times=2)
    assert not Incident.objects.exists()

    fail(probe, "us", times=1)

    incident = automatic()
    assert incident.name == "Login/logout path down"
    assert incident.status == IncidentStatus.INVESTIGATING
    assert incident.impact == Impact.CRITICAL
    assert list(incident.components.all()) == [login]
    assert status_of(login) == "major_outage"
    (first,) = updates(incident)
    assert "Confirmed from 2 of 3 regions" in first.body
    assert first.affected_components is not None
    assert first.affected_components[0]["new_status"] == "major_outage"
    change = ComponentStatusChange.objects.get(component=login)
    assert (change.source, change.incident) == ("probe", incident)

    fail(probe, "ap")  # the third region agrees late: nothing new to say

    assert Incident.objects.count() == 1
    assert len(updates(incident)) == 1


def test_it_reports_a_partial_outage_when_the_probe_says_so(login: Component) -> None:
    probe = make_probe(login, down_status="partial_outage")
    fail(probe, "eu", "ap")

    incident = automatic()
    assert status_of(login) == "partial_outage"
    assert incident.impact == Impact.MAJOR
    assert incident.name == "Login/logout path partially down"


def test_it_adds_a_second_failing_component_to_the_running_incident(
    login: Component, api: Component
) -> None:
    login_probe, api_probe = make_probe(login), make_probe(api)
    fail(login_probe, "eu", "us")
    incident = automatic()

    fail(api_probe, "us", "ap")

    assert Incident.objects.count() == 1
    assert set(incident.components.all()) == {login, api}
    assert status_of(api) == "major_outage"
    joined = updates(incident)[-1]
    assert joined.affected_components is not None
    assert [entry["code"] for entry in joined.affected_components] == [api.public_id]
    assert "API down" in joined.body
    assert automatic().status == IncidentStatus.INVESTIGATING


def test_it_needs_m_passes_per_region_to_recover(login: Component) -> None:
    probe = make_probe(login)
    fail(probe, "eu", "us")

    recover(probe, "eu", "us", times=1)
    assert status_of(login) == "major_outage"

    recover(probe, "eu", times=1)  # eu is up again: only us is down now

    assert status_of(login) == "operational"
    incident = automatic()
    assert incident.status == IncidentStatus.MONITORING
    assert "Login/logout path has recovered" in updates(incident)[-1].body


def test_it_monitors_only_when_all_components_recover(
    login: Component, api: Component
) -> None:
    login_probe, api_probe = make_probe(login), make_probe(api)
    fail(login_probe, "eu", "us")
    fail(api_probe, "eu", "us")

    recover(login_probe, "eu", "us")
    assert status_of(login) == "operational"
    assert automatic().status == IncidentStatus.INVESTIGATING

    recover(api_probe, "eu", "us")
    assert automatic().status == IncidentStatus.MONITORING


def test_it_resolves_once_the_recovery_has_held(login: Component) -> None:
    probe = make_probe(login)
    fail(probe, "eu", "us")
    recover(probe, "eu", "us")
    monitoring_at = automatic().monitoring_at
    assert monitoring_at is not None

    early = monitoring_at + dt.timedelta(seconds=HOLD - 5)
    assert automatic_incidents_resolve(now=early) == []
    assert automatic().status == IncidentStatus.MONITORING

    held = monitoring_at + dt.timedelta(seconds=HOLD + 5)
    assert automatic_incidents_resolve(now=held) == [automatic()]
    incident = automatic()
    assert incident.status == IncidentStatus.RESOLVED
    assert incident.resolved_at is not None

    assert automatic_incidents_resolve(now=held) == []  # a second beat: no-op
    assert [u.status for u in updates(incident)].count("resolved") == 1


def test_it_keeps_a_held_incident_open(login: Component) -> None:
    probe = make_probe(login)
    fail(probe, "eu", "us")
    services.incident_edit(incident=automatic(), hold_auto_resolve=True)
    recover(probe, "eu", "us")

    later = timezone.now() + dt.timedelta(hours=6)
    assert automatic_incidents_resolve(now=later) == []
    assert automatic().status == IncidentStatus.MONITORING


def test_it_goes_back_to_investigating_on_a_relapse(login: Component) -> None:
    probe = make_probe(login)
    fail(probe, "eu", "us")
    recover(probe, "eu", "us")
    assert automatic().status == IncidentStatus.MONITORING

    fail(probe, "eu", "us")

    incident = automatic()
    assert incident.status == IncidentStatus.INVESTIGATING
    assert status_of(login) == "major_outage"
    assert Incident.objects.count() == 1
    later = timezone.now() + dt.timedelta(hours=1)
    assert automatic_incidents_resolve(now=later) == []


def _post_as_staff(incident: Incident) -> None:
    services.incident_post_update(
        incident=incident,
        status=IncidentStatus.IDENTIFIED,
        body="We found a bad deploy and are rolling back.",
        source="staff",
    )


def _stop_automation(incident: Incident) -> None:
    services.incident_edit(incident=incident, automation_stopped=True)


@pytest.mark.parametrize("take_over", [_post_as_staff, _stop_automation])
def test_it_stops_posting_once_staff_take_over(
    login: Component, take_over: Any
) -> None:
    probe = make_probe(login)
    fail(probe, "eu", "us")
    take_over(automatic())
    timeline = updates(automatic())

    recover(probe, "eu", "us")

    assert status_of(login) == "operational"  # the status still follows the probes
    incident = automatic()
    assert updates(incident) == timeline
    assert incident.status == timeline[-1].status
    later = timezone.now() + dt.timedelta(hours=1)
    assert automatic_incidents_resolve(now=later) == []


def test_it_leaves_a_pinned_component_alone_until_unpinned(login: Component) -> None:
    probe = make_probe(login)
    services.component_pin(component=login, pinned=True)

    fail(probe, "eu", "us")

    assert status_of(login) == "operational"
    assert not Incident.objects.exists()
    assert ComponentVerdict.objects.get(component=login).status == "major_outage"
    assert verdicts_enforce() == 0

    services.component_pin(component=login, pinned=False)
    verdicts_enforce()

    assert status_of(login) == "major_outage"
    assert automatic().components.get() == login


def test_it_changes_nothing_during_maintenance(login: Component) -> None:
    probe = make_probe(login)
    start = timezone.now() - dt.timedelta(minutes=5)
    maintenance = make_maintenance(
        components=[login],
        scheduled_for=start,
        scheduled_until=start + dt.timedelta(hours=1),
    )
    services.maintenance_advance()
    assert status_of(login) == "under_maintenance"

    fail(probe, "eu", "us", "ap")
    verdicts_enforce()

    assert status_of(login) == "under_maintenance"
    assert not Incident.objects.incidents().exists()

    services.incident_post_update(incident=maintenance, status="completed")
    assert status_of(login) == "operational"
    verdicts_enforce()

    assert status_of(login) == "major_outage"
    assert automatic().components.get() == login


def test_it_skips_a_deleted_component_without_sinking_the_batch(
    login: Component, api: Component
) -> None:
    gone, alive = make_probe(login), make_probe(api)
    services.component_delete(component=login)

    for region in ("eu", "us"):
        for _ in range(3):
            now = timezone.now()
            down = ProbeOutcome(steps=[StepResult("main", Outcome.DOWN, 5.0)])
            runs = [Run(probe, now, now, down) for probe in (gone, alive)]
            results_record(region=region, runs=runs)

    assert status_of(api) == "major_outage"
    assert status_of(login) == "operational"
    assert list(automatic().components.all()) == [api]


def test_it_feeds_each_journey_step_to_its_own_component(
    login: Component, api: Component
) -> None:
    probe = make_probe(login)
    for region in ("eu", "us"):
        for _ in range(3):
            now = timezone.now()
            steps = [
                StepResult("sign in", Outcome.DOWN, 30.0, component=login.public_id),
                StepResult("get token", Outcome.SKIPPED, None, component=api.public_id),
                StepResult("sign out", Outcome.UP, 8.0, component=login.public_id),
            ]
            run = Run(probe, now, now, ProbeOutcome(steps=steps))
            results_record(region=region, runs=[run])

    assert status_of(login) == "major_outage"
    assert status_of(api) == "operational"  # a skipped step says nothing


def test_it_follows_a_mirrored_third_party_from_partial_to_major_outage(
    api: Component,
) -> None:
    probe, _ = probe_create(
        name="Payments provider",
        kind="statuspage",
        component=api,
        config={"url": "http://127.0.0.1:9", "component": "Payments"},
    )

    def mirror(status: str, outcome: str = Outcome.DOWN) -> None:
        for region in REGIONS:
            for _ in range(3):
                now = timezone.now()
                step = StepResult(
                    "main", Outcome(outcome), 40.0, observed_status=status
                )
                results_record(
                    region=region,
                    runs=[Run(probe, now, now, ProbeOutcome(steps=[step]))],
                )

    mirror("partial_outage")
    assert status_of(api) == "partial_outage"

    mirror("major_outage")  # every region stays down; only the reading changes
    assert status_of(api) == "major_outage"

    mirror("under_maintenance", Outcome.UP)
    assert status_of(api) == "under_maintenance"


def test_it_damps_a_flapping_target(settings: Any, login: Component) -> None:
    probe = make_probe(login, failures_to_down=1, successes_to_up=1)
    for _ in range(12):
        fail(probe, *REGIONS, times=1)
        recover(probe, *REGIONS, times=1)

    # Changes stop once the threshold is reached; the worse state is held.
    changes = ComponentStatusChange.objects.filter(component=login).count()
    assert changes <= settings.FLAP_THRESHOLD + 1
    assert len(updates(automatic())) <= settings.FLAP_THRESHOLD + 1
    assert Incident.objects.count() == 1
    assert status_of(login) == "major_outage"
    assert ComponentVerdict.objects.get(component=login).flapping


def test_it_releases_a_damped_component_once_quiet(
    settings: Any, login: Component
) -> None:
    probe = make_probe(login, failures_to_down=1, successes_to_up=1)
    for _ in range(4):
        fail(probe, *REGIONS, times=1)
        recover(probe, *REGIONS, times=1)
    assert status_of(login) == "major_outage"  # held while flapping

    verdicts_enforce()
    assert status_of(login) == "major_outage"  # still within the window

    quiet = timezone.now() + dt.timedelta(seconds=settings.FLAP_WINDOW_SECONDS + 1)
    with time_machine.travel(quiet, tick=False):
        # The regions still report (a steady state decides nothing by itself):
        # without them the verdict would be unknown and the status held.
        recover(probe, *REGIONS, times=1)
        assert status_of(login) == "major_outage"
        verdicts_enforce()

    assert status_of(login) == "operational"
    assert automatic().status == IncidentStatus.MONITORING


def _at_once(count: int, work: Any) -> list[Any]:
    """Run ``work()`` in ``count`` threads released together, each with its own
    database connection; return what each returned."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = work()
        except BaseException as exc:  # reported in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    return results


@pytest.mark.django_db(transaction=True)
def test_it_resolves_once_when_two_beats_run_together(
    settings: Any, login: Component
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs a server database for concurrent transactions")
    settings.FLAP_THRESHOLD = 100
    probe = make_probe(login)

    for _ in range(3):  # three outages, each resolved by two beats at once
        fail(probe, "eu", "us")
        recover(probe, "eu", "us")
        held = timezone.now() + dt.timedelta(seconds=HOLD + 5)

        results = _at_once(2, functools.partial(automatic_incidents_resolve, now=held))

        assert sorted(len(resolved) for resolved in results) == [0, 1]
    resolutions = IncidentUpdate.objects.filter(status="resolved")
    assert resolutions.count() == Incident.objects.count() == 3


def told(incident: Incident) -> list[bool]:
    """Whether each update, oldest first, was delivered to subscribers."""
    return [update.deliver_notifications for update in updates(incident)]


def test_it_tells_subscribers_of_a_storm_once_and_of_each_status_change(
    settings: Any, login: Component, api: Component, heard: list[Any]
) -> None:
    settings.AUTOMATIC_NOTIFY_INTERVAL_SECONDS = 300
    web = make_component(name="Web")
    probes = [make_probe(component) for component in (login, api, web)]
    with time_machine.travel(timezone.now(), tick=True) as clock:
        for probe in probes:
            fail(probe, "eu", "us")
        incident = automatic()
        assert len(updates(incident)) == 3  # every component is on the page at once
        assert told(incident) == [True, False, False]  # opened, then two joins
        changed = [c for c in heard if c.kind == "component.updated" and c.notify]
        assert len(changed) == 3  # webhooks still hear of every component

        for probe in probes[:2]:
            recover(probe, "eu", "us")
        assert told(incident)[3:] == [False, False]
        clock.shift(dt.timedelta(seconds=301))
        recover(probes[2], "eu", "us")  # the last: monitoring, a change of status
        assert automatic().status == IncidentStatus.MONITORING
        assert told(incident)[5:] == [True]

        fail(probes[0], "eu", "us")  # a relapse: back to investigating
        assert told(incident)[6:] == [True]
        clock.shift(dt.timedelta(seconds=301))
        fail(probes[1], "eu", "us")  # joins after the interval: told again
        assert told(incident)[7:] == [True]


def test_it_tells_every_update_when_the_interval_is_zero(
    settings: Any, login: Component, api: Component
) -> None:
    settings.AUTOMATIC_NOTIFY_INTERVAL_SECONDS = 0
    fail(make_probe(login), "eu", "us")
    fail(make_probe(api), "eu", "us")
    assert told(automatic()) == [True, True]
