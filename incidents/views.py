"""The public status page: server-rendered HTML that needs no JavaScript.

Views only load (``PublicState`` or a prefetched queryset) and render; every rule about
what the page says lives in the models and ``incidents.status``.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.db.models import Min, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_safe

from .api.serializers import PublicState, component_tree, incident_queryset
from .models import Component, Incident, IncidentKind, MaintenanceStatus, Page

MONTHS_PER_PAGE = 3
Month = tuple[int, int]


@dataclass(frozen=True)
class Shown:
    """An incident with the display names of the components it affected."""

    incident: Incident
    affected: list[str]


@dataclass(frozen=True)
class MonthOfIncidents:
    month: dt.date
    incidents: list[Shown]


@require_safe
def index(request: HttpRequest) -> HttpResponse:
    state = PublicState.load()
    group_names = _group_names(state.components)
    return render(
        request,
        "public/index.html",
        {
            "page": state.page,
            "status": state.status,
            "components": visible_tree(state.components),
            "unresolved": _shown(state.unresolved, group_names),
            "active": _shown(state.active, group_names),
            "upcoming": _shown(state.upcoming, group_names),
        },
    )


@require_safe
def incident_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    incident = get_object_or_404(incident_queryset(), public_id=public_id)
    groups = Component.objects.filter(is_group=True)
    [shown] = _shown([incident], _group_names(groups))
    return render(request, "public/incident.html", {"page": Page.get(), "shown": shown})


@require_safe
def history(request: HttpRequest) -> HttpResponse:
    page = Page.get()
    paginator = Paginator(_history_months(page.tzinfo), MONTHS_PER_PAGE)
    try:
        months = paginator.page(request.GET.get("page") or 1)
    except PageNotAnInteger:
        months = paginator.page(1)
    except EmptyPage as error:
        raise Http404("No such page of history.") from error
    return render(
        request,
        "public/history.html",
        {
            "page": page,
            "months": months,
            "by_month": _incidents_by_month(list(months), page.tzinfo),
        },
    )


# Helpers ------------------------------------------------------------------------------


def visible_tree(
    components: list[Component],
) -> list[tuple[Component, list[Component]]]:
    """The component tree as visitors see it: a group shows only if a child does."""
    tree = []
    for parent, children in component_tree(components):
        shown = [child for child in children if child.is_visible]
        if parent.is_visible and (shown or not parent.is_group):
            tree.append((parent, shown))
    return tree


def _group_names(components: Iterable[Component]) -> dict[int, str]:
    return {c.pk: c.name for c in components if c.is_group}


def _shown(incidents: Iterable[Incident], group_names: dict[int, str]) -> list[Shown]:
    """Name each affected component as "Group - Component", without a query each."""
    shown = []
    for incident in incidents:
        components = sorted(incident.components.all(), key=lambda c: (c.position, c.pk))
        names = [
            f"{group_names[c.group_id]} - {c.name}"
            if c.group_id in group_names
            else c.name
            for c in components
        ]
        shown.append(Shown(incident, names))
    return shown


def _past() -> Q:
    """Incidents of every status and maintenances that have begun."""
    return Q(kind=IncidentKind.INCIDENT) | ~Q(status=MaintenanceStatus.SCHEDULED)


def _month_of(value: dt.datetime, tz: zoneinfo.ZoneInfo) -> Month:
    local = value.astimezone(tz)
    return (local.year, local.month)


def _history_months(tz: zoneinfo.ZoneInfo) -> list[Month]:
    """Every month from this one back to the oldest incident's, newest first.

    Empty months stay in the list, as on Statuspage: "no incidents" is news too.
    """
    year, month = _month_of(timezone.now(), tz)
    oldest = Incident.objects.filter(_past()).aggregate(oldest=Min("started_at"))
    first = _month_of(oldest["oldest"], tz) if oldest["oldest"] else (year, month)
    months: list[Month] = []
    while (year, month) >= first or len(months) < MONTHS_PER_PAGE:
        months.append((year, month))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months


def _month_start(month: Month, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    return dt.datetime(month[0], month[1], 1, tzinfo=tz)


def _incidents_by_month(
    months: list[Month], tz: zoneinfo.ZoneInfo
) -> list[MonthOfIncidents]:
    """The incidents that began in ``months`` (newest first), in one query."""
    newest = months[0]
    after_newest = (newest[0] + 1, 1) if newest[1] == 12 else (newest[0], newest[1] + 1)
    incidents = incident_queryset().filter(
        _past(),
        started_at__gte=_month_start(months[-1], tz),
        started_at__lt=_month_start(after_newest, tz),
    )
    groups = Component.objects.filter(is_group=True)
    shown = _shown(incidents, _group_names(groups))
    return [
        MonthOfIncidents(
            month=dt.date(month[0], month[1], 1),
            incidents=[
                s for s in shown if _month_of(s.incident.started_at, tz) == month
            ],
        )
        for month in months
    ]
