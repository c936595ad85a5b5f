"""The record's figures: what counts, what is downtime, the window, response times."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.conftest import make_component, make_page
from uptime import selectors as uptime
from uptime.models import ComponentDay, ComponentLatencyHour

UTC = dt.UTC
DAY = 86_400
TODAY = dt.date(2025, 3, 20)
NOW = dt.datetime(2025, 3, 20, 12, 30, tzinfo=UTC)


def day(**seconds: int) -> uptime.Day:
    return uptime.Day(TODAY, **seconds)


# One day's figures --------------------------------------------------------------------


def test_it_counts_neither_maintenance_nor_no_data() -> None:
    figures = day(
        operational_seconds=DAY - 7_200 - 3_600,
        maintenance_seconds=7_200,
        no_data_seconds=3_600,
    )

    assert uptime.counted_seconds(figures) == DAY - 7_200 - 3_600
    assert uptime.downtime_seconds(figures) == 0
    assert uptime.availability([figures]) == 1.0


def test_it_never_counts_a_day_without_data_as_uptime() -> None:
    assert uptime.availability([day(no_data_seconds=DAY)]) is None
    assert uptime.availability([day()]) is None
    assert uptime.availability([day(maintenance_seconds=DAY)]) is None
    assert uptime.availability([]) is None
    assert uptime.percent(None) == "No data"


def test_it_weighs_major_fully_partial_at_three_tenths_and_degraded_not_at_all() -> (
    None
):
    figures = day(
        operational_seconds=DAY - 3_600 - 1_000 - 10_000,
        major_seconds=3_600,
        partial_seconds=1_000,
        degraded_seconds=10_000,
    )

    assert uptime.DOWNTIME_WEIGHTS == {
        "major_seconds": 1.0,
        "partial_seconds": 0.3,
        "degraded_seconds": 0.0,
    }
    assert uptime.downtime_seconds(figures) == pytest.approx(3_600 + 300)
    assert uptime.availability([figures]) == pytest.approx(1 - 3_900 / DAY)


def test_it_weighs_days_by_their_counted_seconds() -> None:
    """A day mostly without data weighs less than a whole day of data."""
    full = day(operational_seconds=DAY)
    short = day(major_seconds=3_600, no_data_seconds=DAY - 3_600)

    assert uptime.availability([full, short]) == pytest.approx(
        1 - 3_600 / (DAY + 3_600)
    )


@pytest.mark.parametrize(
    ("seconds", "worst"),
    [
        ({"operational_seconds": DAY}, "operational"),
        (
            {"operational_seconds": DAY - 1, "degraded_seconds": 1},
            "degraded_performance",
        ),
        ({"degraded_seconds": 9, "partial_seconds": 1}, "partial_outage"),
        ({"partial_seconds": 9, "major_seconds": 1}, "major_outage"),
        ({"operational_seconds": 9, "maintenance_seconds": 1}, "under_maintenance"),
        ({"degraded_seconds": 1, "maintenance_seconds": 9}, "degraded_performance"),
        ({"operational_seconds": 1, "no_data_seconds": DAY - 1}, "operational"),
        ({"maintenance_seconds": 1, "no_data_seconds": DAY - 1}, "under_maintenance"),
        ({"no_data_seconds": DAY}, "no_data"),
        ({}, "no_data"),
    ],
)
def test_it_shows_a_day_as_its_worst_state(seconds: dict[str, int], worst: str) -> None:
    assert uptime.worst_status(day(**seconds)) == worst


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (1.0, "100 %"),
        (0.99999, "99.99 %"),
        (0.9995, "99.95 %"),
        (0.5, "50.00 %"),
        (0.0, "0.00 %"),
    ],
)
def test_it_rounds_percentages_down_so_downtime_never_reads_100(
    value: float, shown: str
) -> None:
    assert uptime.percent(value) == shown


def test_it_reads_the_figures_of_stored_rows_too() -> None:
    """The staff report passes ComponentDay rows: the same functions take them."""
    row = ComponentDay(day=TODAY, operational_seconds=DAY - 100, partial_seconds=100)

    assert uptime.availability([row]) == pytest.approx(1 - 30 / DAY)
    assert uptime.worst_status(row) == "partial_outage"


# The 90-day window --------------------------------------------------------------------


def store_day(component: Any, date: dt.date, **fields: Any) -> ComponentDay:
    return ComponentDay.objects.create(component=component, day=date, **fields)


@pytest.mark.django_db
def test_it_fills_the_window_with_no_data_where_rows_are_missing() -> None:
    make_page()
    api = make_component(name="API")
    store_day(api, TODAY, operational_seconds=DAY)
    store_day(
        api,
        TODAY - dt.timedelta(days=1),
        major_seconds=864,
        operational_seconds=DAY - 864,
    )
    store_day(api, TODAY - dt.timedelta(days=89), operational_seconds=DAY)
    store_day(api, TODAY - dt.timedelta(days=90), major_seconds=DAY)  # outside
    store_day(api, TODAY + dt.timedelta(days=1), major_seconds=DAY)  # not yet

    window = uptime.windows([api.pk], today=TODAY)[api.pk]

    assert len(window.days) == 90
    assert [d.day for d in window.days] == uptime.window_dates(TODAY)
    assert window.days[0].day == TODAY - dt.timedelta(days=89)
    assert window.days[-1].day == TODAY
    statuses = [uptime.worst_status(d) for d in window.days]
    assert statuses.count("no_data") == 87
    assert statuses[-2] == "major_outage"
    # Three days counted, one of them 1 % down; the 87 empty days weigh nothing.
    assert window.availability == pytest.approx(1 - 864 / (3 * DAY))


@pytest.mark.django_db
def test_it_says_no_data_for_a_component_with_no_rows() -> None:
    make_page()
    api = make_component(name="API")

    window = uptime.windows([api.pk], today=TODAY)[api.pk]

    assert window.availability is None
    assert {uptime.worst_status(d) for d in window.days} == {"no_data"}


@pytest.mark.django_db
def test_it_reads_every_components_window_in_one_query(
    django_assert_num_queries: Any,
) -> None:
    make_page()
    components = [make_component(name=f"Part {n}") for n in range(12)]
    for component in components:
        for back in range(0, 90, 3):
            store_day(
                component,
                TODAY - dt.timedelta(days=back),
                operational_seconds=DAY,
                incidents=[{"id": "abc", "name": "Down", "impact": "major"}],
            )

    with django_assert_num_queries(1):
        windows = uptime.windows([c.pk for c in components], today=TODAY)

    assert len(windows) == 12
    assert all(len(w.days) == 90 for w in windows.values())
    assert windows[components[0].pk].days[-1].incidents[0]["name"] == "Down"


# Response times -----------------------------------------------------------------------


def hour(n: int) -> dt.datetime:
    """The start of the hour ``n`` hours before the one holding NOW."""
    return NOW.replace(minute=0) - dt.timedelta(hours=n)


def store_hour(component: Any, start: dt.datetime, **fields: Any) -> None:
    ComponentLatencyHour.objects.create(component=component, hour=start, **fields)


@pytest.mark.django_db
def test_it_gives_hourly_series_for_a_day_and_a_week() -> None:
    make_page()
    api = make_component(name="API")
    store_hour(api, hour(0), checks=60, p50_ms=40, p95_ms=90, p99_ms=200)
    store_hour(api, hour(5), checks=60, p50_ms=45, p95_ms=120, p99_ms=300)
    store_hour(api, hour(30), checks=60, p50_ms=50, p95_ms=100, p99_ms=150)

    day_, week, month = uptime.latency_series([api.pk], now=NOW)[api.pk]

    assert [s.range.key for s in (day_, week, month)] == ["24h", "7d", "30d"]
    assert len(day_.points) == 24 and len(week.points) == 168
    assert day_.end == hour(0) + dt.timedelta(hours=1)
    assert day_.points[-1] == uptime.LatencyPoint(hour(0), 60, 40, 90)
    assert day_.points[-6] == uptime.LatencyPoint(hour(5), 60, 45, 120)
    # A missing hour is a gap, not a zero.
    assert day_.points[-2] == uptime.LatencyPoint(hour(1))
    assert sum(p.p50_ms is not None for p in day_.points) == 2
    assert sum(p.p50_ms is not None for p in week.points) == 3


@pytest.mark.django_db
def test_it_groups_thirty_days_by_six_hours_without_averaging_percentiles() -> None:
    make_page()
    api = make_component(name="API")
    bucket = dt.datetime(2025, 3, 19, 6, tzinfo=UTC)
    # Four hours of one six-hour bucket; one slow hour with few checks.
    for offset, checks, p50, p95 in [
        (0, 60, 40.0, 80.0),
        (1, 60, 42.0, 85.0),
        (2, 10, 900.0, 2_000.0),
        (3, 60, 44.0, 90.0),
    ]:
        store_hour(
            api,
            bucket + dt.timedelta(hours=offset),
            checks=checks,
            p50_ms=p50,
            p95_ms=p95,
        )

    month = uptime.latency_series([api.pk], now=NOW)[api.pk][2]

    assert len(month.points) == 120
    assert month.range.bucket == dt.timedelta(hours=6)
    [point] = [p for p in month.points if p.start == bucket]
    assert point.checks == 190
    # The checks-weighted median hourly p50: the slow hour's 10 checks do not move it.
    assert point.p50_ms == 42.0
    # The worst hourly p95 (an upper bound of the bucket's true p95), not their mean.
    assert point.p95_ms == 2_000.0
    assert month.start.hour % 6 == 0 and month.end > NOW


def test_it_keeps_an_hours_own_figures_in_a_bucket_of_one() -> None:
    start = hour(3)
    point = uptime.combine_hours(start, [uptime._Hour(start, 12, 33.0, 70.0)])

    assert point == uptime.LatencyPoint(start, 12, 33.0, 70.0)
    assert uptime.combine_hours(start, [uptime._Hour(start, 0, None, None)]) == (
        uptime.LatencyPoint(start)
    )


@pytest.mark.django_db
def test_it_reads_every_components_latencies_in_one_query(
    django_assert_num_queries: Any,
) -> None:
    make_page()
    components = [make_component(name=f"Part {n}") for n in range(5)]
    ComponentLatencyHour.objects.bulk_create(
        ComponentLatencyHour(component=c, hour=hour(n), checks=60, p50_ms=40, p95_ms=90)
        for c in components
        for n in range(0, 720, 7)
    )

    with django_assert_num_queries(1):
        series = uptime.latency_series([c.pk for c in components], now=NOW)

    assert {len(s) for s in series.values()} == {3}
    assert all(s[2].has_data for s in series.values())
