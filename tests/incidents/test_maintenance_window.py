"""A maintenance is scheduled between 2000 and about ten years ahead: a year typed
as 1 or 9999 is refused with the field named, from the console, the API and the
service alike, instead of being stored and shown."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from incidents import services
from incidents.models import Incident
from tests.api_helpers import api_client, body, v1
from tests.conftest import make_maintenance, make_page
from tests.incidents.test_console import SCHEDULE, filled, when

pytestmark = pytest.mark.django_db

UTC = dt.UTC


@pytest.fixture(autouse=True)
def page() -> None:
    make_page(name="Acme")


def year(number: int) -> dt.datetime:
    return dt.datetime(number, 6, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        (year(1), year(2030), "scheduled_for"),
        (year(1999), year(2030), "scheduled_for"),
        (year(2030), year(9999), "scheduled_until"),
        (
            timezone.now() + dt.timedelta(days=1),
            timezone.now() + dt.timedelta(days=11 * 365),
            "scheduled_until",
        ),
    ],
    ids=["year-1", "before-2000", "year-9999", "eleven-years-ahead"],
)
def test_it_refuses_a_maintenance_outside_the_window(
    start: dt.datetime, end: dt.datetime, field: str
) -> None:
    with pytest.raises(ValidationError) as refusal:
        make_maintenance(scheduled_for=start, scheduled_until=end)

    assert list(refusal.value.message_dict) == [field]
    assert "between 2000-01-01 and" in refusal.value.message_dict[field][0]
    assert not Incident.objects.exists()


def test_it_still_schedules_within_the_window() -> None:
    start = timezone.now() + dt.timedelta(days=9 * 365)

    maintenance = make_maintenance(
        scheduled_for=start, scheduled_until=start + dt.timedelta(hours=2)
    )

    assert maintenance.scheduled_for == start
    past = make_maintenance(scheduled_for=year(2001), scheduled_until=year(2002))
    assert past.scheduled_until == year(2002)


def test_it_refuses_year_1_through_the_api_naming_the_field() -> None:
    response = api_client().post(
        v1("incidents"),
        {
            "incident": {
                "name": "Database upgrade",
                "status": "scheduled",
                "scheduled_for": "0001-01-01T00:00:00Z",
                "scheduled_until": "2030-01-01T02:00:00Z",
            }
        },
        format="json",
    )

    assert response.status_code == 400, response.content
    assert list(body(response)["errors"]) == ["incident.scheduled_for"]
    assert not Incident.objects.exists()


def test_it_refuses_a_move_to_year_9999_through_the_api() -> None:
    maintenance = make_maintenance()

    response = api_client().patch(
        v1(f"incidents/{maintenance.public_id}"),
        {"incident": {"scheduled_until": "9999-12-31T23:00:00Z"}},
        format="json",
    )

    assert response.status_code == 400, response.content
    assert list(body(response)["errors"]) == ["incident.scheduled_until"]
    maintenance.refresh_from_db()
    assert maintenance.scheduled_until is not None
    assert maintenance.scheduled_until.year < 9999


def test_it_refuses_year_1_in_the_console(admin_client: Client) -> None:
    data = filled(
        admin_client.get(SCHEDULE).context["form"],
        name="Database upgrade",
        scheduled_for="0001-01-01T00:00",
        scheduled_until=when(timezone.now() + dt.timedelta(days=1)),
    )

    response = admin_client.post(SCHEDULE, data)

    assert response.status_code == 200
    assert response.context["form"].errors["scheduled_for"]
    assert "between 2000-01-01 and" in response.content.decode()
    assert not Incident.objects.exists()


def test_it_refuses_an_absurd_window_in_the_service_too() -> None:
    with pytest.raises(ValidationError) as refusal:
        services.maintenance_schedule(
            name="Forever",
            scheduled_for=year(1),
            scheduled_until=year(9999),
        )

    assert set(refusal.value.message_dict) == {"scheduled_for", "scheduled_until"}
