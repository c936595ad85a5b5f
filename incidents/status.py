"""The page indicator: the one rule that says how the whole page is doing."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .models import COMPONENT_SEVERITY, IMPACT_SEVERITY, ComponentStatus, Impact


@dataclass(frozen=True)
class PageStatus:
    indicator: str
    description: str


ALL_OPERATIONAL = PageStatus("none", "All Systems Operational")
UNDER_MAINTENANCE = PageStatus("maintenance", "Service Under Maintenance")
# Nothing is known to be wrong, but not enough is known to say all is well.
MONITORING_DELAYED = PageStatus("none", "Automated Monitoring Delayed")

# (severity 1..3) -> status, for each way of learning about trouble.
_FROM_COMPONENTS = {
    COMPONENT_SEVERITY[ComponentStatus.DEGRADED_PERFORMANCE]: PageStatus(
        "minor", "Partially Degraded Service"
    ),
    COMPONENT_SEVERITY[ComponentStatus.PARTIAL_OUTAGE]: PageStatus(
        "major", "Partial System Outage"
    ),
    COMPONENT_SEVERITY[ComponentStatus.MAJOR_OUTAGE]: PageStatus(
        "critical", "Major Service Outage"
    ),
}
_FROM_IMPACT = {
    IMPACT_SEVERITY[Impact.MINOR]: PageStatus("minor", "Minor Service Outage"),
    IMPACT_SEVERITY[Impact.MAJOR]: PageStatus("major", "Partial System Outage"),
    IMPACT_SEVERITY[Impact.CRITICAL]: PageStatus("critical", "Major Service Outage"),
}
_INDICATOR_RANK = {"none": 0, "maintenance": 0, "minor": 1, "major": 2, "critical": 3}


def page_status(
    *,
    component_statuses: Iterable[str],
    unresolved_impacts: Iterable[str],
    maintenance_in_progress: bool,
    monitoring_delayed: bool = False,
) -> PageStatus:
    """How the page is doing, from its components and its unresolved incidents.

    1. Each non-operational component proposes a status by its own severity:
       degraded -> minor, partial outage -> major, major outage -> critical.
    2. Each unresolved incident proposes one by its impact: minor, major, critical.
    3. The worst proposal wins; on a tie the component's description is kept, since it
       says more precisely what users see.
    4. With nothing worse, a component under maintenance or a maintenance in progress
       gives "maintenance"; otherwise all is operational, unless the monitoring of
       a component is delayed: then that is what the page can truly say.
    """
    statuses = list(component_statuses)
    candidates = [
        _FROM_COMPONENTS[COMPONENT_SEVERITY[status]]
        for status in statuses
        if COMPONENT_SEVERITY[status] in _FROM_COMPONENTS
    ]
    candidates += [
        _FROM_IMPACT[IMPACT_SEVERITY[impact]]
        for impact in unresolved_impacts
        if IMPACT_SEVERITY[impact] in _FROM_IMPACT
    ]
    if candidates:
        # max() keeps the first of equals, and component proposals come first.
        return max(candidates, key=lambda status: _INDICATOR_RANK[status.indicator])
    if maintenance_in_progress or ComponentStatus.UNDER_MAINTENANCE in statuses:
        return UNDER_MAINTENANCE
    return MONITORING_DELAYED if monitoring_delayed else ALL_OPERATIONAL
