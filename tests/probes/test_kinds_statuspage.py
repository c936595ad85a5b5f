"""The statuspage kind mirrors a component of another Statuspage-compatible page."""

from __future__ import annotations

from typing import Any

import pytest

from probes.kinds import Outcome
from tests.probes.conftest import run_probe


def summary(**statuses):
    """A trimmed but real-shaped /api/v2/summary.json."""
    page = {"id": "y2j98763l56x", "name": "Upstream", "url": "https://status.up.test"}
    components: list[dict[str, Any]] = [
        {
            "id": "grp000000001",
            "name": "Payments",
            "status": "operational",
            "group": True,
            "group_id": None,
            "components": ["cmp000000001", "cmp000000002"],
        },
        {"id": "cmp000000001", "name": "Card API", "group_id": "grp000000001"},
        {"id": "cmp000000002", "name": "Webhooks", "group_id": "grp000000001"},
        {"id": "cmp000000003", "name": "Europe", "group_id": None},
        {"id": "cmp000000004", "name": "Europe", "group_id": "grp000000001"},
    ]
    for component in components:
        component.setdefault("status", statuses.get(component["id"], "operational"))
        component.setdefault("group", False)
        component["page_id"] = page["id"]
    return {
        "page": page,
        "status": {"indicator": "none", "description": "All Systems Operational"},
        "components": components,
        "incidents": [],
        "scheduled_maintenances": [],
    }


def mirror(httpserver, component, **statuses):
    httpserver.expect_request("/api/v2/summary.json").respond_with_json(
        summary(**statuses)
    )
    config = {"url": httpserver.url_for("/"), "component": component}
    return run_probe("statuspage", config).steps[0]


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        ("operational", Outcome.UP),
        ("degraded_performance", Outcome.DEGRADED),
        ("partial_outage", Outcome.DOWN),
        ("major_outage", Outcome.DOWN),
        ("under_maintenance", Outcome.UP),
    ],
)
def test_it_mirrors_the_component_status(httpserver, status, outcome):
    result = mirror(httpserver, "cmp000000001", cmp000000001=status)

    assert result.outcome is outcome
    assert result.observed_status == status
    assert result.status_code == 200


def test_it_says_which_outage_it_saw(httpserver):
    result = mirror(httpserver, "cmp000000002", cmp000000002="major_outage")

    assert result.error == "Webhooks: major_outage"


def test_it_finds_a_component_by_exact_name(httpserver):
    result = mirror(httpserver, "Card API", cmp000000001="partial_outage")

    assert result.outcome is Outcome.DOWN
    assert result.observed_status == "partial_outage"


def test_it_is_down_when_the_component_is_not_found(httpserver):
    result = mirror(httpserver, "card api")

    assert result.outcome is Outcome.DOWN
    assert result.error == "component 'card api' not found on that page"
    assert result.observed_status is None


def test_it_asks_for_the_id_when_a_name_is_ambiguous(httpserver):
    result = mirror(httpserver, "Europe")

    assert result.outcome is Outcome.DOWN
    assert result.error == "2 components are named 'Europe'; use the id"


def test_it_is_down_when_the_page_does_not_answer(httpserver):
    httpserver.expect_request("/api/v2/summary.json").respond_with_data("", status=503)
    config = {"url": httpserver.url_for("/"), "component": "cmp000000001"}

    result = run_probe("statuspage", config).steps[0]

    assert result.outcome is Outcome.DOWN
    assert result.status_code == 503
    assert result.error.endswith("/api/v2/summary.json answered 503")


def test_it_is_down_when_the_page_is_not_statuspage_json(httpserver):
    httpserver.expect_request("/api/v2/summary.json").respond_with_data("<html>")
    config = {"url": httpserver.url_for("/"), "component": "cmp000000001"}

    result = run_probe("statuspage", config).steps[0]

    assert result.error == "summary.json has no components list"
