"""The page indicator: one rule for how the whole page is doing."""

from __future__ import annotations

import pytest

from incidents.status import page_status

OPERATIONAL = "operational"
DEGRADED = "degraded_performance"
PARTIAL = "partial_outage"
MAJOR = "major_outage"
MAINTENANCE = "under_maintenance"


@pytest.mark.parametrize(
    ("components", "impacts", "maintenance", "indicator", "description"),
    [
        pytest.param(
            [OPERATIONAL, OPERATIONAL],
            [],
            False,
            "none",
            "All Systems Operational",
            id="all-operational",
        ),
        pytest.param(
            [], [], False, "none", "All Systems Operational", id="no-components"
        ),
        pytest.param(
            [OPERATIONAL, DEGRADED],
            [],
            False,
            "minor",
            "Partially Degraded Service",
            id="degraded",
        ),
        pytest.param(
            [OPERATIONAL, DEGRADED, PARTIAL],
            [],
            False,
            "major",
            "Partial System Outage",
            id="partial-outage",
        ),
        pytest.param(
            [PARTIAL, MAJOR, DEGRADED],
            [],
            False,
            "critical",
            "Major Service Outage",
            id="major-outage",
        ),
        pytest.param(
            [OPERATIONAL],
            ["minor"],
            False,
            "minor",
            "Minor Service Outage",
            id="minor-incident",
        ),
        pytest.param(
            [OPERATIONAL],
            ["major"],
            False,
            "major",
            "Partial System Outage",
            id="major-incident",
        ),
        pytest.param(
            [OPERATIONAL],
            ["critical"],
            False,
            "critical",
            "Major Service Outage",
            id="critical-incident",
        ),
        pytest.param(
            [OPERATIONAL],
            ["none"],
            False,
            "none",
            "All Systems Operational",
            id="incident-without-impact",
        ),
        pytest.param(
            [DEGRADED],
            ["critical"],
            False,
            "critical",
            "Major Service Outage",
            id="incident-worse-than-components",
        ),
        pytest.param(
            [MAJOR],
            ["minor"],
            False,
            "critical",
            "Major Service Outage",
            id="components-worse-than-incident",
        ),
        pytest.param(
            [DEGRADED],
            ["minor"],
            False,
            "minor",
            "Partially Degraded Service",
            id="tie-keeps-component-description",
        ),
        pytest.param(
            [OPERATIONAL],
            [],
            True,
            "maintenance",
            "Service Under Maintenance",
            id="maintenance-in-progress",
        ),
        pytest.param(
            [OPERATIONAL, MAINTENANCE],
            [],
            False,
            "maintenance",
            "Service Under Maintenance",
            id="component-under-maintenance",
        ),
        pytest.param(
            [MAINTENANCE, DEGRADED],
            [],
            True,
            "minor",
            "Partially Degraded Service",
            id="degraded-beats-maintenance",
        ),
        pytest.param(
            [MAINTENANCE, OPERATIONAL],
            ["major"],
            True,
            "major",
            "Partial System Outage",
            id="incident-beats-maintenance",
        ),
        pytest.param(
            [MAINTENANCE, MAJOR],
            [],
            False,
            "critical",
            "Major Service Outage",
            id="outage-beats-component-under-maintenance",
        ),
    ],
)
def test_it_reports_the_page_indicator(
    components: list[str],
    impacts: list[str],
    maintenance: bool,
    indicator: str,
    description: str,
) -> None:
    status = page_status(
        component_statuses=components,
        unresolved_impacts=impacts,
        maintenance_in_progress=maintenance,
    )

    assert (status.indicator, status.description) == (indicator, description)


def test_it_accepts_any_iterables() -> None:
    status = page_status(
        component_statuses=iter([MAINTENANCE]),
        unresolved_impacts=iter([]),
        maintenance_in_progress=False,
    )

    assert status.indicator == "maintenance"
