"""Scheduled maintenance: schedule it, and start and complete it on time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from incidents import events
from incidents.models import (
    ACTIVE_MAINTENANCE_STATUSES,
    Component,
    ComponentStatus,
    Impact,
    Incident,
    IncidentKind,
    IncidentUpdate,
    MaintenanceStatus,
    Page,
    StatusSource,
)

from .components import User, pages_place
from .incidents import (
    MAINTENANCE_ORDER,
    _check_component_statuses,
    incident_post_update,
)

# A schedule keeps to these bounds: a year typed as 1 or 9999 is a slip, and such a
# date fails later, in a time zone's arithmetic or a report's, far from its cause.
SCHEDULE_EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
SCHEDULE_AHEAD = dt.timedelta(days=3653)  # about ten years


def _window_check(scheduled_for: dt.datetime, scheduled_until: dt.datetime) -> None:
    """Both ends between 2000 and about ten years from now, then the end after the
    start; a ValidationError naming each end at fault."""
    latest = timezone.now() + SCHEDULE_AHEAD
    reason = (
        f"Must be between {SCHEDULE_EARLIEST:%Y-%m-%d} and {latest:%Y-%m-%d} "
        "(about ten years from now)."
    )
    errors = {}
    for name, moment in (
        ("scheduled_for", scheduled_for),
        ("scheduled_until", scheduled_until),
    ):
        try:
            inside = SCHEDULE_EARLIEST <= moment <= latest
        except OverflowError:  # year 1 in a zone east of UTC, say
            inside = False
        if not inside:
            errors[name] = reason
    if errors:
        raise ValidationError(errors)
    if scheduled_until <= scheduled_for:
        raise ValidationError(
            {"scheduled_until": "The maintenance must end after it starts."}
        )


@transaction.atomic
def maintenance_schedule(
    *,
    name: str,
    scheduled_for: dt.datetime,
    scheduled_until: dt.datetime,
    components: Iterable[Component] = (),
    body: str = "",
    auto_start: bool = True,
    auto_complete: bool = True,
    deliver_notifications: bool = True,
    actor: User = None,
    pages: Iterable[Page] = (),
    shown_on: Iterable[Page] | None = None,
) -> Incident:
    """Schedule a window, on ``pages`` and on those of its components; its first
    update is shown on them all, or only on ``shown_on``."""
    _window_check(scheduled_for, scheduled_until)
    components = list(components)
    _check_component_statuses(
        {component: ComponentStatus.UNDER_MAINTENANCE for component in components}
    )
    maintenance = Incident(
        kind=IncidentKind.MAINTENANCE,
        name=name.strip(),
        status=MaintenanceStatus.SCHEDULED,
        impact=Impact.MAINTENANCE,
        started_at=scheduled_for,
        scheduled_for=scheduled_for,
        scheduled_until=scheduled_until,
        auto_start=auto_start,
        auto_complete=auto_complete,
    )
    maintenance.full_clean()
    maintenance.save()
    maintenance.components.set(components)
    pages_place(maintenance, pages)
    incident_post_update(
        incident=maintenance,
        status=MaintenanceStatus.SCHEDULED,
        body=body,
        component_statuses={},
        deliver_notifications=deliver_notifications,
        actor=actor,
        shown_on=shown_on,
    )
    maintenance.refresh_from_db()
    return maintenance


@transaction.atomic
def maintenance_reschedule(
    *,
    maintenance: Incident,
    scheduled_for: dt.datetime | None = None,
    scheduled_until: dt.datetime | None = None,
    auto_start: bool | None = None,
    auto_complete: bool | None = None,
) -> Incident:
    """Move a maintenance that has not started, or change whether it starts and
    completes by itself. Subscribers are not told; the page shows the new window."""
    maintenance = Incident.objects.select_for_update().get(pk=maintenance.pk)
    if not maintenance.is_maintenance:
        raise ValidationError(
            {"scheduled_for": "Only a scheduled maintenance has a schedule."}
        )
    moving = scheduled_for is not None or scheduled_until is not None
    if moving and maintenance.status != MaintenanceStatus.SCHEDULED:
        raise ValidationError(
            {
                "scheduled_for": f"The maintenance is {maintenance.status}: only one "
                "that has not started can be moved."
            }
        )
    maintenance.scheduled_for = scheduled_for or maintenance.scheduled_for
    maintenance.scheduled_until = scheduled_until or maintenance.scheduled_until
    assert maintenance.scheduled_for and maintenance.scheduled_until
    if moving:
        _window_check(maintenance.scheduled_for, maintenance.scheduled_until)
        maintenance.started_at = maintenance.scheduled_for
    if auto_start is not None:
        maintenance.auto_start = auto_start
    if auto_complete is not None:
        maintenance.auto_complete = auto_complete
    maintenance.save()
    events.announce_quietly()
    return maintenance


def maintenance_advance(*, now: dt.datetime | None = None) -> list[IncidentUpdate]:
    """Start and complete the maintenances whose time has come (periodic job).

    Safe to run from two places at once: each maintenance is locked and re-checked.
    """
    now = now or timezone.now()
    due_start = Incident.objects.upcoming().filter(
        auto_start=True, scheduled_for__lte=now
    )
    due_end = Incident.objects.maintenances().filter(
        auto_complete=True,
        status__in=(MaintenanceStatus.SCHEDULED, *ACTIVE_MAINTENANCE_STATUSES),
        scheduled_until__lte=now,
    )
    updates = []
    for pk in due_start.values_list("pk", flat=True):
        updates += _maintenance_move(pk, MaintenanceStatus.IN_PROGRESS, now)
    for pk in due_end.values_list("pk", flat=True):
        updates += _maintenance_move(pk, MaintenanceStatus.COMPLETED, now)
    return updates


_AUTOMATIC_BODY: dict[str, str] = {
    MaintenanceStatus.IN_PROGRESS: "Scheduled maintenance is currently in progress.",
    MaintenanceStatus.COMPLETED: "The scheduled maintenance has been completed.",
}


@transaction.atomic
def _maintenance_move(pk: int, status: str, now: dt.datetime) -> list[IncidentUpdate]:
    maintenance = (
        Incident.objects.select_for_update(skip_locked=True).filter(pk=pk).first()
    )
    if maintenance is None:
        return []
    order = MAINTENANCE_ORDER
    if order.index(maintenance.status) >= order.index(status):
        return []  # another run got there first
    return [
        incident_post_update(
            incident=maintenance,
            status=status,
            body=_AUTOMATIC_BODY[status],
            display_at=min(now, timezone.now()),
            source=StatusSource.MAINTENANCE,
        )
    ]
