"""The uptime record: crafted histories rolled up into days and hours, rebuilt,
pruned, and driven from the commands."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection

from incidents import services
from incidents.events import Kind
from incidents.models import (
    Component,
    ComponentStatus,
    IncidentStatus,
    StatusSource,
)
from notifications.models import Event
from probes.models import Probe, ProbeHour, ProbeResult, RegionState
from probes.services import probe_create
from tests.conftest import (
    make_component,
    make_group,
    make_incident,
    make_maintenance,
    make_page,
)
from uptime import rollup
from uptime.models import ComponentDay, ComponentLatencyHour
from uptime.selectors import SECONDS_FIELDS
from visitor.snapshot.publish import snapshot_request

pytestmark = pytest.mark.django_db

UTC = dt.UTC
DAY = dt.date(2026, 3, 2)  # a Monday, far from daylight saving time changes
NEXT = DAY + dt.timedelta(days=1)
FULL_DAY = 86_400


def at(day: dt.date, hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    """A moment of ``day`` in UTC; the hour may be 24 (the next midnight)."""
    midnight = dt.datetime.combine(day, dt.time(), tzinfo=UTC)
    return midnight + dt.timedelta(hours=hour, minutes=minute, seconds=second)


@pytest.fixture
def clock() -> Iterator[Any]:
    """Move the clock to a moment: ``clock(moment)``; it stands still there."""
    travellers: list[Any] = []

    def move(moment: dt.datetime) -> None:
        if travellers:
            travellers.pop().stop()
        traveller = time_machine.travel(moment, tick=False)
        traveller.start()
        travellers.append(traveller)

    yield move
    for traveller in travellers:
        traveller.stop()


def make_probe(component: Component, **overrides: Any) -> Probe:
    fields: dict[str, Any] = {
        "name": f"{component.name} check",
        "kind": "http",
        "component": component,
        "config": {"url": "http://127.0.0.1:9/"},
    }
    fields.update(overrides)
    probe, _ = probe_create(**fields)
    return probe


def record(
    probe: Probe,
    start: dt.datetime,
    end: dt.datetime,
    *,
    every: int = 60,
    region: str = "local",
    outcome: str = "up",
    latency: float | None = 100.0,
    component: Component | None = None,
    step: str = "main",
) -> int:
    """Results of ``probe`` every ``every`` seconds in [start, end), as the runner
    stores them."""
    moments = []
    moment = start
    while moment < end:
        moments.append(moment)
        moment += dt.timedelta(seconds=every)
    ProbeResult.objects.bulk_create(
        ProbeResult(
            probe=probe,
            region=region,
            step=step,
            component=component or probe.component,
            outcome=outcome,
            latency_ms=latency,
            slot=moment,
            started_at=moment,
        )
        for moment in moments
    )
    return len(moments)


def seconds_of(component: Component, day: dt.date) -> dict[str, int]:
    row = ComponentDay.objects.get(component=component, day=day)
    return {name: getattr(row, name) for name in SECONDS_FIELDS if getattr(row, name)}


def rows_of(model: Any) -> list[tuple[Any, ...]]:
    """Every row's values but its id and computed_at, in a stable order."""
    names = [
        f.attname
        for f in model._meta.concrete_fields
        if f.attname not in ("id", "computed_at")
    ]
    return sorted(model.objects.values_list(*names), key=repr)


# Days --------


def test_it_splits_a_partial_outage_across_midnight(clock: Any) -> None:
    clock(at(DAY, 0))
    api = make_component(name="API")
    probe = make_probe(api)
    record(probe, at(DAY, 0), at(NEXT, 24))
    clock(at(DAY, 22))
    incident = make_incident(component_statuses={api: ComponentStatus.PARTIAL_OUTAGE})
    clock(at(NEXT, 2))
    services.incident_post_update(
        incident=incident,
        status=IncidentStatus.RESOLVED,
        component_statuses={api: ComponentStatus.OPERATIONAL},
    )
    clock(at(NEXT + dt.timedelta(days=1), 1))

    rollup.rollup_range(first=DAY, last=NEXT)

    assert seconds_of(api, DAY) == {
        "operational_seconds": 22 * 3600,
        "partial_seconds": 2 * 3600,
    }
    assert seconds_of(api, NEXT) == {
        "partial_seconds": 2 * 3600,
        "operational_seconds": 22 * 3600,
    }
    first, second = ComponentDay.objects.filter(component=api).order_by("day")
    incident.refresh_from_db()
    listed = [{"id": incident.public_id, "name": incident.name, "impact": "major"}]
    assert first.incidents == second.incidents == listed
    assert (first.checks, first.checks_up) == (1440, 1440)


def test_it_counts_maintenance_as_maintenance_not_downtime(clock: Any) -> None:
    clock(at(DAY, 0))
    api = make_component(name="API")
    record(make_probe(api), at(DAY, 0), at(NEXT, 0))
    maintenance = make_maintenance(
        scheduled_for=at(DAY, 10), scheduled_until=at(DAY, 12), components=[api]
    )
    clock(at(DAY, 10))
    services.maintenance_advance()
    clock(at(DAY, 11))  # the probes see it down meanwhile: still maintenance
    services.component_set_status(
        component=api, status=ComponentStatus.MAJOR_OUTAGE, source=StatusSource.PROBE
    )
    clock(at(DAY, 12))
    services.maintenance_advance()
    clock(at(DAY, 12, 30))
    services.component_set_status(
        component=api, status=ComponentStatus.OPERATIONAL, source=StatusSource.PROBE
    )
    clock(at(NEXT, 6))

    rollup.rollup_range(first=DAY, last=DAY)

    maintenance.refresh_from_db()
    assert maintenance.status == "completed"
    assert seconds_of(api, DAY) == {
        "maintenance_seconds": 2 * 3600,
        "major_seconds": 30 * 60,
        "operational_seconds": FULL_DAY - 2 * 3600 - 30 * 60,
    }
    assert ComponentDay.objects.get(component=api, day=DAY).incidents == []


def test_it_counts_a_started_maintenance_even_where_the_status_did_not_move(
    clock: Any,
) -> None:
    clock(at(DAY, 0))
    api = make_component(name="API")
    maintenance = make_maintenance(
        scheduled_for=at(DAY, 9), scheduled_until=at(DAY, 10), components=[api]
    )
    make_maintenance(  # never started: no maintenance time
        name="Cancelled", scheduled_for=at(DAY, 14), scheduled_until=at(DAY, 15)
    )
    clock(at(DAY, 9, 30))
    services.incident_post_update(
        incident=maintenance, status="in_progress", component_statuses={}
    )
    clock(at(DAY, 10, 30))
    services.incident_post_update(
        incident=maintenance, status="completed", component_statuses={}
    )
    clock(at(NEXT, 6))

    rollup.rollup_range(first=DAY, last=DAY)

    assert seconds_of(api, DAY) == {
        "maintenance_seconds": 3600,
        "operational_seconds": FULL_DAY - 3600,
    }


def test_it_marks_time_without_results_as_no_data(clock: Any) -> None:
    clock(at(DAY, 0))
    api = make_component(name="API")
    clock(at(DAY, 6))  # probed from 06:00: before, its status alone counts
    probe = make_probe(api)
    record(probe, at(DAY, 6), at(DAY, 10))
    record(probe, at(DAY, 12), at(NEXT, 0))
    clock(at(NEXT, 6))

    rollup.rollup_range(first=DAY, last=DAY)

    # The 09:59 result covers two intervals, until 10:01.
    gap = 2 * 3600 - 2 * 60 + 60
    assert seconds_of(api, DAY) == {
        "operational_seconds": FULL_DAY - gap,
        "no_data_seconds": gap,
    }


def test_it_judges_a_component_without_probes_by_its_status_alone(
    clock: Any,
) -> None:
    clock(at(DAY, 15))
    web = make_component(name="Web")
    clock(at(DAY, 20))
    services.component_set_status(
        component=web,
        status=ComponentStatus.DEGRADED_PERFORMANCE,
        source=StatusSource.STAFF,
    )
    clock(at(NEXT, 6))

    rollup.rollup_range(first=DAY, last=NEXT)

    assert seconds_of(web, DAY) == {
        "no_data_seconds": 15 * 3600,  # before it existed
        "operational_seconds": 5 * 3600,
        "degraded_seconds": 4 * 3600,
    }
    # Today covers until now.
    assert seconds_of(web, NEXT) == {"degraded_seconds": 6 * 3600}


def test_it_unites_the_regions_and_a_journeys_steps(clock: Any, settings: Any) -> None:
    settings.PROBE_REGIONS = ["eu", "us"]
    clock(at(DAY, 0))
    api, web = make_component(name="API"), make_component(name="Web")
    probe = make_probe(api, regions=["eu", "us"])
    record(probe, at(DAY, 0), at(DAY, 12), region="eu", latency=100)
    record(probe, at(DAY, 11), at(NEXT, 0), region="us", latency=200)
    # A journey step feeds Web, from one region, with an hour missing.
    journey = make_probe(api, name="Sign in", regions=["eu"], interval_seconds=300)
    record(journey, at(DAY, 0), at(DAY, 8), component=web, step="app", every=300)
    record(journey, at(DAY, 9), at(NEXT, 0), component=web, step="app", every=300)
    clock(at(NEXT, 6))

    rollup.rollup_range(first=DAY, last=DAY)

    assert seconds_of(api, DAY) == {"operational_seconds": FULL_DAY}
    assert seconds_of(web, DAY) == {
        "operational_seconds": FULL_DAY - 3600 + 600 - 300,
        "no_data_seconds": 3600 - 600 + 300,  # 07:55 + 10 min to 09:00
    }
    assert ComponentDay.objects.get(component=api, day=DAY).checks == 12 * 60 + 13 * 60
    assert ComponentDay.objects.get(component=web, day=DAY).checks == 12 * 8 + 12 * 15
    hours = ProbeHour.objects.filter(probe=probe)
    assert set(hours.values_list("region", flat=True)) == {"eu", "us"}
    assert hours.get(region="eu", hour=at(DAY, 11)).p50_ms == 100
    both = ComponentLatencyHour.objects.get(component=api, hour=at(DAY, 11))
    assert (both.checks, both.p50_ms) == (120, 150)
    assert ComponentLatencyHour.objects.get(component=web, hour=at(DAY, 9)).checks == 12


def test_it_uses_the_page_time_zone_and_its_daylight_saving_days(clock: Any) -> None:
    make_page(time_zone="Europe/Berlin")
    spring, autumn = dt.date(2026, 3, 29), dt.date(2026, 10, 25)
    clock(dt.datetime(2026, 3, 1, tzinfo=UTC))
    api = make_component(name="API")
    # 00:30 to 01:30 in Berlin on the day clocks go forward: 23:30 UTC the day before.
    clock(dt.datetime(2026, 3, 28, 23, 30, tzinfo=UTC))
    services.component_set_status(
        component=api, status=ComponentStatus.MAJOR_OUTAGE, source=StatusSource.STAFF
    )
    clock(dt.datetime(2026, 3, 29, 0, 30, tzinfo=UTC))
    services.component_set_status(
        component=api, status=ComponentStatus.OPERATIONAL, source=StatusSource.STAFF
    )
    clock(dt.datetime(2026, 11, 1, tzinfo=UTC))

    rollup.rollup_range(first=spring - dt.timedelta(days=1), last=spring)
    rollup.rollup_range(first=autumn, last=autumn)

    assert seconds_of(api, spring - dt.timedelta(days=1)) == {
        "operational_seconds": FULL_DAY
    }
    assert seconds_of(api, spring) == {
        "major_seconds": 3600,
        "operational_seconds": 23 * 3600 - 3600,
    }
    assert seconds_of(api, autumn) == {"operational_seconds": 25 * 3600}


def test_it_gives_groups_no_rows(clock: Any) -> None:
    clock(at(DAY, 0))
    group = make_group()
    api = make_component(name="API", group=group)
    clock(at(NEXT, 6))

    rollup.rollup_range(first=DAY, last=DAY)

    assert list(ComponentDay.objects.values_list("component", flat=True)) == [api.pk]


# Hours --------


def test_it_computes_percentiles_as_postgresql_does(clock: Any) -> None:
    clock(at(DAY, 0))
    api = make_component(name="API")
    probe = make_probe(api)
    ProbeResult.objects.bulk_create(
        ProbeResult(
            probe=probe,
            region="local",
            component=api,
            outcome="up" if n % 10 else "down",
            latency_ms=float(n),
            slot=at(DAY, 9, 0, n * 30),
            started_at=at(DAY, 9, 0, n * 30),
        )
        for n in range(1, 101)  # 09:00:30 to 09:50:00, latencies 1..100 ms, shuffled
    )
    record(probe, at(DAY, 10), at(DAY, 11), latency=None, outcome="skipped")
    clock(at(NEXT, 6))

    rollup.rollup_range(first=DAY, last=DAY)

    hour = ProbeHour.objects.get(probe=probe, hour=at(DAY, 9))
    assert (hour.checks, hour.checks_up) == (100, 90)
    assert (hour.p50_ms, hour.p95_ms, hour.p99_ms) == (50.5, 95.05, 99.01)
    latency = ComponentLatencyHour.objects.get(component=api, hour=at(DAY, 9))
    assert (latency.p50_ms, latency.p95_ms, latency.p99_ms) == (50.5, 95.05, 99.01)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP "
            "(ORDER BY latency_ms) FROM probes_proberesult WHERE probe_id = %s "
            "AND latency_ms IS NOT NULL",
            [probe.pk],
        )
        expected = [round(value, 3) for value in cursor.fetchone()[0]]
    assert [hour.p50_ms, hour.p95_ms, hour.p99_ms] == expected
    # Skipped steps measured nothing: no hour for them.
    assert not ProbeHour.objects.filter(hour=at(DAY, 10)).exists()


# Rebuilding --------


def crafted_history(clock: Any) -> tuple[Component, Component]:
    clock(at(DAY, 0))
    api, web = make_component(name="API"), make_component(name="Web")
    probe = make_probe(api)
    record(probe, at(DAY, 0), at(DAY, 9), latency=120)
    record(probe, at(DAY, 10), at(NEXT, 12), latency=80, outcome="degraded")
    clock(at(DAY, 20))
    make_incident(component_statuses={web: ComponentStatus.MAJOR_OUTAGE})
    return api, web


def test_it_gives_the_same_rows_when_a_range_is_rebuilt(clock: Any) -> None:
    api, _ = crafted_history(clock)
    clock(at(NEXT, 12))
    rollup.rollup_range(first=DAY, last=NEXT)
    first = [rows_of(m) for m in (ComponentDay, ProbeHour, ComponentLatencyHour)]

    rollup.rollup_range(first=DAY, last=NEXT)
    rollup.rollup_range(first=NEXT, last=NEXT)

    again = [rows_of(m) for m in (ComponentDay, ProbeHour, ComponentLatencyHour)]
    assert again == first
    assert [len(rows) for rows in first] == [4, 35, 35]
    api_day = ComponentDay.objects.get(component=api, day=DAY)
    assert (api_day.checks, api_day.checks_up) == (23 * 60, 23 * 60)  # degraded: up


def test_it_removes_a_day_no_longer_produced(clock: Any) -> None:
    api, _ = crafted_history(clock)
    clock(at(NEXT, 12))
    rollup.rollup_range(first=DAY, last=NEXT)
    services.component_update(component=api, start_date=NEXT)

    rollup.rollup_range(first=DAY, last=NEXT, component_ids=[api.pk])

    assert list(ComponentDay.objects.filter(component=api).values_list("day")) == [
        (NEXT,)
    ]
    assert ComponentDay.objects.filter(day=DAY).count() == 1  # Web's, untouched


def test_a_rebuild_keeps_what_pruned_results_made(clock: Any) -> None:
    api, web = crafted_history(clock)
    clock(at(NEXT, 12))
    rollup.rollup_range(first=DAY, last=DAY)
    days_before, hours_before = rows_of(ComponentDay), rows_of(ProbeHour)
    # Pruned as far as 20:30: the 20:00 hour lost half its results, earlier ones all.
    ProbeResult.objects.filter(started_at__lt=at(DAY, 20, 30)).delete()
    clock(at(NEXT, 13))

    summary = rollup.rollup_range(first=DAY, last=DAY)

    assert summary.kept == 1
    assert rows_of(ComponentDay) == days_before
    assert rows_of(ProbeHour) == hours_before
    rebuilt = ComponentDay.objects.get(component=web, day=DAY)  # no results: rebuilt
    assert rebuilt.computed_at == at(NEXT, 13)
    assert ComponentDay.objects.get(component=api, day=DAY).computed_at == at(NEXT, 12)


# The periodic rollup --------


def test_the_periodic_rollup_finishes_yesterday_then_keeps_to_today(
    clock: Any, django_capture_on_commit_callbacks: Any
) -> None:
    api, _ = crafted_history(clock)
    clock(at(NEXT, 0, 5))
    with django_capture_on_commit_callbacks() as callbacks:
        first = rollup.uptime_rollup()
    assert (first.first, first.last) == (DAY, NEXT)
    # Every component's record changed: their pages are published again.
    asked = [c for c in callbacks if getattr(c, "func", None) is snapshot_request]
    assert asked and all(c.keywords == {"records": True} for c in asked)

    clock(at(NEXT, 0, 20))  # yesterday's row is final now: today only
    later = rollup.uptime_rollup()
    assert (later.first, later.last) == (DAY, NEXT)
    clock(at(NEXT, 0, 25))
    latest = rollup.uptime_rollup()
    assert (latest.first, latest.last) == (NEXT, NEXT)
    assert sum(seconds_of(api, NEXT).values()) == 25 * 60


def test_the_periodic_rollup_brings_a_back_dated_incident_to_its_day(
    clock: Any,
) -> None:
    clock(at(DAY, 0))
    api = make_component(name="API")
    clock(at(NEXT, 1))
    rollup.uptime_rollup()
    assert ComponentDay.objects.get(component=api, day=DAY).incidents == []
    clock(at(NEXT, 2))
    incident = make_incident(
        name="Yesterday's slowness",
        status=IncidentStatus.RESOLVED,
        display_at=at(DAY, 15),
        component_statuses={api: ComponentStatus.OPERATIONAL},
    )

    clock(at(NEXT, 2, 5))
    rollup.uptime_rollup()

    listed = ComponentDay.objects.get(component=api, day=DAY).incidents
    assert [entry["id"] for entry in listed] == [incident.public_id]


def test_the_periodic_rollup_brings_a_back_dated_maintenance_to_its_day(
    clock: Any,
) -> None:
    clock(at(DAY, 0))
    api = make_component(name="API")
    clock(at(NEXT, 1))
    rollup.uptime_rollup()
    clock(at(NEXT, 2))
    maintenance = make_maintenance(
        scheduled_for=at(DAY, 10), scheduled_until=at(DAY, 12), components=[api]
    )
    for status, moment in (("in_progress", at(DAY, 10)), ("completed", at(DAY, 12))):
        services.incident_post_update(
            incident=maintenance,
            status=status,
            display_at=moment,
            component_statuses={},
        )

    clock(at(NEXT, 2, 5))
    rollup.uptime_rollup()

    assert seconds_of(api, DAY) == {
        "maintenance_seconds": 2 * 3600,
        "operational_seconds": FULL_DAY - 2 * 3600,
    }


def test_beat_runs_the_rollup_and_the_pruning(settings: Any) -> None:
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert schedule["uptime-rollup"]["task"] == "uptime.tasks.uptime_rollup"
    assert schedule["uptime-rollup"]["schedule"] == 300
    assert schedule["results-prune"]["task"] == "uptime.tasks.results_prune"


# Pruning --------


def test_pruning_keeps_the_results_not_rolled_up_and_removes_the_rest(
    clock: Any, settings: Any
) -> None:
    settings.PROBE_RESULT_RETENTION_DAYS = 1
    clock(at(DAY, 0))
    api = make_component(name="API")
    probe = make_probe(api)
    later = DAY + dt.timedelta(days=3)
    record(probe, at(DAY, 0), at(later, 12), every=600)
    RegionState.objects.create(probe=probe, region="local", component=api)
    clock(at(NEXT, 0, 30))
    rollup.rollup_range(first=DAY, last=DAY)  # DAY final; NEXT only begun
    rollup.rollup_range(first=NEXT, last=NEXT)
    clock(at(later, 12))

    pruned = rollup.results_prune(batch_size=50)

    assert pruned.deleted == 144
    assert pruned.waiting == [NEXT]
    remaining = ProbeResult.objects.order_by("started_at")
    assert remaining.first().started_at == at(NEXT, 0)
    assert remaining.count() == 144 + 144 + 72
    assert RegionState.objects.filter(probe=probe).exists()

    clock(at(later, 12, 5))
    rollup.rollup_range(first=NEXT, last=NEXT)
    assert rollup.results_prune().deleted == 144
    assert remaining.first().started_at.date() == NEXT + dt.timedelta(days=1)


def test_pruning_keeps_what_covers_the_first_minutes_after_the_cutoff(
    clock: Any, settings: Any
) -> None:
    settings.PROBE_RESULT_RETENTION_DAYS = 1
    clock(at(DAY, 0))
    probe = make_probe(make_component(name="API"), interval_seconds=3600)
    record(probe, at(DAY, 0), at(NEXT, 0), every=3600)
    clock(at(NEXT, 0, 30))
    rollup.rollup_range(first=DAY, last=DAY)
    clock(at(NEXT + dt.timedelta(days=1), 12))

    pruned = rollup.results_prune()

    assert pruned.cutoff == at(NEXT, 0) - dt.timedelta(hours=2)
    assert pruned.deleted == 22
    assert ProbeResult.objects.count() == 2


# Commands --------


def test_the_rollup_command_rebuilds_a_range(clock: Any, capsys: Any) -> None:
    api, _ = crafted_history(clock)
    clock(at(NEXT, 12))
    before = DAY - dt.timedelta(days=1)  # API did not exist yet

    call_command(
        "rollup", "--from", str(before), "--to", str(NEXT), "--component", api.public_id
    )

    out = capsys.readouterr().out
    assert f"Rolled up {before} to {NEXT}: 2 component days, 35 probe hours" in out
    assert sorted(ComponentDay.objects.values_list("component", "day")) == [
        (api.pk, DAY),
        (api.pk, NEXT),
    ]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--from", "2026-02-30"], "--from: '2026-02-30' is not a date"),
        (["--to", "yesterday"], "--to: 'yesterday' is not a date"),
        (["--from", "2026-03-01", "--to", "2026-02-28"], "--from 2026-03-01 is after"),
        (["--to", "2026-03-09"], "is after today"),
        (["--component", "nosuchthing1"], "No component 'nosuchthing1'"),
    ],
)
def test_the_rollup_command_refuses_bad_input(
    clock: Any, arguments: list[str], message: str
) -> None:
    clock(at(DAY, 12))
    with pytest.raises(CommandError, match=message):
        call_command("rollup", *arguments)


def test_the_rollup_command_refuses_a_group(clock: Any) -> None:
    clock(at(DAY, 12))
    group = make_group()
    with pytest.raises(CommandError, match="is a group"):
        call_command("rollup", "--component", group.public_id)


def test_the_prune_command_says_what_waits(
    clock: Any, settings: Any, capsys: Any
) -> None:
    settings.PROBE_RESULT_RETENTION_DAYS = 1
    clock(at(DAY, 0))
    record(make_probe(make_component(name="API")), at(DAY, 0), at(NEXT, 0))
    clock(at(DAY + dt.timedelta(days=3), 0))

    call_command("prune_results")

    out = capsys.readouterr().out
    assert "Deleted 0 results" in out
    assert f"manage.py rollup --from {DAY}" in out


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--days", "0"], "--days must be 1 or more"),
        (["--batch-size", "0"], "--batch-size must be 1 or more"),
    ],
)
def test_the_prune_command_refuses_bad_input(
    arguments: list[str], message: str
) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("prune_results", *arguments)


def test_the_rollup_announces_the_changed_history_and_notifies_nobody(
    clock: Any, heard: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    crafted_history(clock)
    heard.clear()
    events = Event.objects.count()  # the incident's own
    with django_capture_on_commit_callbacks() as callbacks:
        rollup.rollup_range(first=DAY, last=DAY)
    assert {(c.kind, c.notify) for c in heard} == {(Kind.HISTORY_CHANGED, False)}
    asked = [c for c in callbacks if getattr(c, "func", None) is snapshot_request]
    assert asked and all(c.keywords == {"records": True} for c in asked)
    assert Event.objects.count() == events  # the outbox wrote nothing


def test_it_still_rolls_up_for_messages_sent_under_the_old_task_names(
    clock: Any,
) -> None:
    # Messages an older beat queued before the upgrade (these tasks were in probes)
    # run rather than being dropped as unknown tasks.
    from statuspage.celery import app

    app.loader.import_default_modules()  # the tasks, as a worker finds them
    clock(at(DAY, 0))
    api = make_component(name="API")
    record(make_probe(api), at(DAY, 0), at(NEXT, 0))
    clock(at(NEXT, 1))

    assert app.tasks["probes.tasks.uptime_rollup"].apply().get() >= 1
    assert seconds_of(api, DAY) == {"operational_seconds": FULL_DAY}
    assert app.tasks["probes.tasks.results_prune"].apply().get() == 0
