"""The staff availability report: figures per component over a range, as CSV too."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from incidents.models import Component
from incidents.services import incident_post_update
from tests.conftest import (
    make_component,
    make_incident,
    make_maintenance,
    make_page,
)
from uptime.models import ComponentDay

pytestmark = pytest.mark.django_db

REPORT = reverse("admin:incidents_component_report")
DAY = 86400


def record(component: Component, day: dt.date, **seconds: int) -> ComponentDay:
    """A day's rollup whose unnamed time was operational."""
    fields: dict[str, Any] = {
        f"{name}_seconds": value for name, value in seconds.items() if name != "checks"
    }
    fields["operational_seconds"] = DAY - sum(fields.values())
    return ComponentDay.objects.create(component=component, day=day, **fields)


def rows(response: Any) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_it_reports_availability_without_maintenance_or_missing_data(
    admin_client: Client,
) -> None:
    make_page()
    api = make_component(name="API")
    record(api, dt.date(2026, 3, 1), major=864)  # 1 % down
    record(api, dt.date(2026, 3, 2), maintenance=43200)  # half a day: not counted
    record(api, dt.date(2026, 3, 3), no_data=DAY)  # nothing known
    # March 4 has no row at all: no data either.

    response = admin_client.get(
        REPORT, {"start": "2026-03-01", "end": "2026-03-04", "components": api.pk}
    )

    assert response.status_code == 200
    table = response.context["report"].components
    [figures] = table
    counted = DAY + DAY // 2
    assert figures.availability == pytest.approx((counted - 864) / counted)
    html = response.content.decode()
    assert "99.333 %" in html  # (129600 - 864) / 129600
    assert "12 h" in html  # the maintenance
    assert "1 d" in html  # the day without data


def test_it_downloads_one_csv_row_per_day_and_a_total(admin_client: Client) -> None:
    make_page()
    api = make_component(name="=HYPERLINK(evil)")
    record(api, dt.date(2026, 3, 1), partial=8640)
    record(api, dt.date(2026, 3, 2))

    response = admin_client.get(
        REPORT, {"start": "2026-03-01", "end": "2026-03-02", "format": "csv"}
    )

    assert response["Content-Type"] == "text/csv"
    assert (
        'filename="availability-2026-03-01-2026-03-02.csv"'
        in (response["Content-Disposition"])
    )
    found = rows(response)
    assert [row["date"] for row in found] == ["2026-03-01", "2026-03-02", "total"]
    # A partial outage counts as a fraction of a major one.
    assert float(found[0]["availability_percent"]) < 100
    assert found[1]["availability_percent"] == "100.000"
    assert found[2]["partial_seconds"] == "8640"
    # A name a spreadsheet would run as a formula is quoted.
    assert found[0]["component"] == "'=HYPERLINK(evil)"


def test_it_lists_the_incidents_and_maintenance_of_the_range(
    admin_client: Client,
) -> None:
    make_page()
    api = make_component(name="API")
    web = make_component(name="Web")
    inside = make_incident(name="API errors", component_statuses={api: "major_outage"})
    incident_post_update(incident=inside, status="resolved", body="Fixed.")
    make_incident(name="Web only", component_statuses={web: "major_outage"})
    make_maintenance(name="API upgrade", components=[api])
    today = dt.date.today()

    response = admin_client.get(
        REPORT,
        {
            "start": (today - dt.timedelta(days=1)).isoformat(),
            "end": (today + dt.timedelta(days=1)).isoformat(),
            "components": api.pk,
        },
    )

    report = response.context["report"]
    assert [i.name for i in report.incidents] == ["API errors"]
    assert [m.name for m in report.maintenances] == ["API upgrade"]
    html = response.content.decode()
    assert "API errors" in html and "API upgrade" in html
    assert "Web only" not in html


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"start": "2026-03-05", "end": "2026-03-01"}, "end", "ends before it starts"),
        ({"start": "2025-01-01", "end": "2026-03-01"}, "end", "at most 366 days"),
        ({"start": "yesterday", "end": "2026-03-01"}, "start", "valid date"),
    ],
)
def test_it_explains_a_bad_range(
    admin_client: Client, query: dict[str, str], field: str, message: str
) -> None:
    make_page()

    response = admin_client.get(REPORT, {**query, "format": "csv"})

    assert response.status_code == 200  # the form again, not a file
    assert message in " ".join(response.context["form"].errors[field])
    assert response.context["report"] is None


def test_it_is_for_staff_only(client: Client) -> None:
    response = client.get(REPORT)
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]
    visitor = User.objects.create_user("visitor", is_staff=True)
    client.force_login(visitor)
    assert client.get(REPORT).status_code == 403  # staff without the permission


def test_it_is_linked_from_the_component_list(admin_client: Client) -> None:
    listing = admin_client.get(reverse("admin:incidents_component_changelist"))
    assert f'href="{REPORT}"' in listing.content.decode()
