"""Scheduled maintenance: scheduling, and the periodic job that starts and ends it."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import timezone

from incidents import services
from incidents.models import Component, ComponentStatusChange, Incident
from tests.conftest import make_component, make_group, make_maintenance

pytestmark = pytest.mark.django_db

START = dt.datetime(2030, 5, 4, 22, 0, tzinfo=dt.UTC)
END = START + dt.timedelta(hours=2)


def status_of(component: Component) -> str:
    return Component.objects.get(pk=component.pk).status


def schedule(**overrides: object) -> Incident:
    """A maintenance scheduled a day before START, with the clock held there."""
    fields: dict[str, object] = {"scheduled_for": START, "scheduled_until": END}
    fields.update(overrides)
    with time_machine.travel(START - dt.timedelta(days=1), tick=False):
        return make_maintenance(**fields)


def test_it_schedules_a_maintenance() -> None:
    db = make_component(name="Database")

    maintenance = schedule(components=[db])

    assert (maintenance.kind, maintenance.status, maintenance.impact) == (
        "maintenance",
        "scheduled",
        "maintenance",
    )
    assert (maintenance.scheduled_for, maintenance.scheduled_until) == (START, END)
    assert list(maintenance.components.all()) == [db]
    assert [u.status for u in maintenance.updates.all()] == ["scheduled"]
    assert status_of(db) == "operational"


@pytest.mark.parametrize("length", [dt.timedelta(0), dt.timedelta(minutes=-5)])
def test_it_refuses_a_maintenance_that_ends_before_it_starts(
    length: dt.timedelta,
) -> None:
    with pytest.raises(ValidationError) as error:
        schedule(scheduled_until=START + length)

    assert error.value.messages == ["The maintenance must end after it starts."]
    assert not Incident.objects.exists()


def test_it_refuses_a_deleted_component() -> None:
    legacy = make_component(name="Legacy")
    services.component_delete(component=legacy)

    with pytest.raises(ValidationError) as error:
        schedule(components=[legacy])

    assert error.value.messages == [
        "The component 'Legacy' was deleted; it can no longer be part of an incident."
    ]
    assert not Incident.objects.exists()


def test_it_starts_a_due_maintenance() -> None:
    group = make_group(name="Storage")
    db = make_component(name="Database", group=group)
    other = make_component(name="Website")
    maintenance = schedule(components=[db])

    with time_machine.travel(START + dt.timedelta(seconds=5), tick=False):
        updates = services.maintenance_advance()

    maintenance.refresh_from_db()
    assert maintenance.status == "in_progress"
    assert maintenance.started_at == START + dt.timedelta(seconds=5)
    assert [(u.incident_id, u.status) for u in updates] == [
        (maintenance.pk, "in_progress")
    ]
    assert updates[0].affected_components == [
        {
            "code": db.public_id,
            "name": "Storage - Database",
            "old_status": "operational",
            "new_status": "under_maintenance",
        }
    ]
    assert (status_of(db), status_of(group), status_of(other)) == (
        "under_maintenance",
        "under_maintenance",
        "operational",
    )
    change = ComponentStatusChange.objects.get(component=db)
    assert (change.new_status, change.source, change.incident_id) == (
        "under_maintenance",
        "maintenance",
        maintenance.pk,
    )


def test_it_does_not_start_a_maintenance_early() -> None:
    db = make_component(name="Database")
    maintenance = schedule(components=[db])

    assert services.maintenance_advance(now=START - dt.timedelta(seconds=1)) == []

    maintenance.refresh_from_db()
    assert maintenance.status == "scheduled"
    assert status_of(db) == "operational"


def test_it_completes_a_maintenance_at_its_end() -> None:
    db = make_component(name="Database")
    maintenance = schedule(components=[db])
    with time_machine.travel(START, tick=False):
        services.maintenance_advance()

    with time_machine.travel(END, tick=False):
        updates = services.maintenance_advance()

    maintenance.refresh_from_db()
    assert [u.status for u in updates] == ["completed"]
    assert maintenance.status == "completed"
    assert maintenance.resolved_at == END
    assert not maintenance.is_open
    assert status_of(db) == "operational"
    assert [
        (c.old_status, c.new_status, c.source)
        for c in ComponentStatusChange.objects.filter(component=db).order_by("id")
    ] == [
        ("operational", "under_maintenance", "maintenance"),
        ("under_maintenance", "operational", "maintenance"),
    ]


def test_it_leaves_a_component_that_failed_during_maintenance_alone() -> None:
    db = make_component(name="Database")
    maintenance = schedule(components=[db])
    with time_machine.travel(START, tick=False):
        services.maintenance_advance()
        services.component_set_status(
            component=db, status="major_outage", source="probe"
        )

    with time_machine.travel(END, tick=False):
        services.maintenance_advance()

    maintenance.refresh_from_db()
    assert maintenance.status == "completed"
    assert status_of(db) == "major_outage"


def test_it_leaves_a_maintenance_without_auto_start_alone() -> None:
    db = make_component(name="Database")
    maintenance = schedule(components=[db], auto_start=False)

    with time_machine.travel(START + dt.timedelta(minutes=30), tick=False):
        updates = services.maintenance_advance()

    maintenance.refresh_from_db()
    assert updates == []
    assert maintenance.status == "scheduled"
    assert status_of(db) == "operational"


def test_it_leaves_a_maintenance_without_auto_complete_running() -> None:
    db = make_component(name="Database")
    maintenance = schedule(components=[db], auto_complete=False)

    with time_machine.travel(END + dt.timedelta(hours=1), tick=False):
        updates = services.maintenance_advance()

    maintenance.refresh_from_db()
    assert [u.status for u in updates] == ["in_progress"]
    assert maintenance.status == "in_progress"
    assert status_of(db) == "under_maintenance"


def test_it_posts_nothing_when_run_twice() -> None:
    db = make_component(name="Database")
    maintenance = schedule(components=[db])

    with time_machine.travel(START + dt.timedelta(minutes=1), tick=False):
        first = services.maintenance_advance()
        second = services.maintenance_advance()

    assert len(first) == 1
    assert second == []
    assert maintenance.updates.count() == 2
    assert ComponentStatusChange.objects.count() == 1

    with time_machine.travel(END + dt.timedelta(minutes=1), tick=False):
        assert len(services.maintenance_advance()) == 1
        assert services.maintenance_advance() == []
    assert maintenance.updates.count() == 3


def test_it_posts_nothing_for_a_maintenance_another_run_already_moved() -> None:
    # Two beats: both select the same due maintenance, then take turns on its lock.
    maintenance = schedule()
    services.maintenance_advance(now=START)

    late = services.maintenance._maintenance_move(maintenance.pk, "in_progress", START)

    assert late == []
    assert maintenance.updates.count() == 2


def test_it_accepts_the_clock_as_an_argument() -> None:
    maintenance = schedule()

    updates = services.maintenance_advance(now=END)

    maintenance.refresh_from_db()
    assert [u.status for u in updates] == ["in_progress", "completed"]
    assert maintenance.status == "completed"


def test_it_refuses_to_move_a_maintenance_backwards() -> None:
    db = make_component(name="Database")
    maintenance = schedule(components=[db])
    with time_machine.travel(END, tick=False):
        services.maintenance_advance()

    with pytest.raises(ValidationError) as error:
        services.incident_post_update(incident=maintenance, status="in_progress")

    assert error.value.messages == [
        "A maintenance cannot go back from completed to in_progress."
    ]
    maintenance.refresh_from_db()
    assert maintenance.status == "completed"
    assert status_of(db) == "operational"


def test_it_advances_maintenance_from_the_management_command() -> None:
    db = make_component(name="Database")
    maintenance = schedule(name="Database upgrade", components=[db])
    out = StringIO()

    with time_machine.travel(START + dt.timedelta(seconds=1), tick=False):
        call_command("advance_maintenance", stdout=out)

    maintenance.refresh_from_db()
    assert maintenance.status == "in_progress"
    assert status_of(db) == "under_maintenance"
    assert out.getvalue().splitlines() == [
        "Database upgrade: in_progress",
        "1 maintenance update(s) posted.",
    ]

    again = StringIO()
    with time_machine.travel(START + dt.timedelta(seconds=2), tick=False):
        call_command("advance_maintenance", stdout=again)
    assert again.getvalue().splitlines() == ["0 maintenance update(s) posted."]


def test_it_schedules_in_the_real_present() -> None:
    # The default helper schedules an hour ahead of the real clock: nothing is due yet.
    maintenance = make_maintenance()

    assert services.maintenance_advance() == []
    assert maintenance.scheduled_for > timezone.now()
