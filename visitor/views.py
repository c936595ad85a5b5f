"""The public status page: server-rendered HTML that needs no JavaScript.

Views only load (``PublicState`` or a prefetched queryset) and render; every rule about
what the page says lives in the models, ``incidents.status`` and ``uptime.selectors``.

Showcased components show their record: 90 daily bars on the index and on their own
page, which adds the response-time charts. A component that is not showcased keeps a
page with its status only (staff chose not to publish its record), and one hidden
while operational (``only_show_if_degraded``) keeps its page too, as it keeps its
badge: a link shared during an incident still answers after it ends.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.db.models import Min, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.safestring import SafeString
from django.views.decorators.http import require_safe

from incidents.evidence import Evidence, components_evidence
from incidents.models import Component, Incident, IncidentKind, MaintenanceStatus, Page
from incidents.selectors import (
    PublicState,
    as_shown,
    component_tree,
    incident_queryset,
    page_codes,
)
from uptime import selectors as uptime
from visitor.charts import UptimeBars, latency_chart, legend
from visitor.models import Brand
from visitor.pages import page_of

MONTHS_PER_PAGE = 3
FAVICON_MAX_AGE_SECONDS = 24 * 3600
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


@dataclass(frozen=True)
class ComponentRow:
    """A component on the index: its page and its bars when its record is shown."""

    component: Component
    url: str | None = None
    history: SafeString = SafeString("")
    group_name: str = ""
    evidence: Evidence | None = None


@require_safe
def index(request: HttpRequest) -> HttpResponse:
    state = PublicState.load(page_of(request))
    group_names = _group_names(state.components)
    components = _component_rows(
        visible_tree(state.components), state.page, state.evidence
    )
    return render(
        request,
        "public/index.html",
        {
            "page": state.page,
            "status": state.status,
            "components": components,
            "legend": legend() if _any_history(components) else None,
            "unresolved": _shown(state.unresolved, group_names),
            "active": _shown(state.active, group_names),
            "upcoming": _shown(state.upcoming, group_names),
        },
    )


@require_safe
def incident_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    page = page_of(request)
    _refuse_nul(public_id)
    found = get_object_or_404(incident_queryset(page), public_id=public_id)
    [incident] = as_shown([found], page_codes(page))
    groups = Component.objects.filter(is_group=True)
    [shown] = _shown([incident], _group_names(groups))
    return render(request, "public/incident.html", {"page": page, "shown": shown})


@require_safe
def component_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    page = page_of(request)
    _refuse_nul(public_id)
    live = Component.objects.live().filter(is_group=False, pages=page)
    component = get_object_or_404(live.select_related("group"), public_id=public_id)
    evidence = components_evidence(timezone.now()).get(component.pk)
    context: dict[str, object] = {
        "page": page,
        "component": component,
        "evidence": evidence,
    }
    if component.showcase:
        now = timezone.now()
        today = timezone.localdate(now, page.tzinfo)
        window = uptime.windows(
            [component.pk], today=today, incidents_hidden=_others_incidents(page)
        )[component.pk]
        bars = UptimeBars(uptime.window_dates(today), _incident_urls())
        series = uptime.latency_series([component.pk], now=now)[component.pk]
        context |= {
            "history": bars.render(name=component.display_name, window=window),
            "legend": legend(),
            "partial_weight": f"{uptime.PARTIAL_OUTAGE_WEIGHT:.0%}",
            "charts": [
                latency_chart(s, tz=page.tzinfo, chart_id=f"latency-{s.range.key}")
                for s in series
            ],
        }
    return render(request, "public/component.html", context)


@require_safe
def history(request: HttpRequest) -> HttpResponse:
    page = page_of(request)
    paginator = Paginator(_history_months(page), MONTHS_PER_PAGE)
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
            "by_month": _incidents_by_month(list(months), page),
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


def _shows_record(component: Component) -> bool:
    return component.showcase and not component.is_group


def _incident_urls() -> Callable[[str], str]:
    """Makes incident paths without calling ``reverse`` for each (a thousand bars
    may link): only well-formed public ids are linked, which need no quoting."""
    path = reverse("public:incident", args=["~id~"])
    return lambda public_id: path.replace("~id~", public_id)


def _component_rows(
    tree: list[tuple[Component, list[Component]]],
    page: Page,
    evidence: dict[int, Evidence],
) -> list[tuple[ComponentRow, list[ComponentRow]]]:
    """The visible tree with the bars of every showcased component, read in one
    query and drawn without a template loop (a page may showcase a thousand)."""
    shown = [c for parent, kids in tree for c in (parent, *kids) if _shows_record(c)]
    today = timezone.localdate(timezone.now(), page.tzinfo)
    windows = uptime.windows(
        [c.pk for c in shown], today=today, incidents_hidden=_others_incidents(page)
    )
    bars = UptimeBars(uptime.window_dates(today), _incident_urls())
    # The path with a placeholder, reversed once rather than once per component.
    url = reverse("public:component", args=["~id~"])

    def row(component: Component, group: Component | None = None) -> ComponentRow:
        group_name = group.name if group else ""
        known = evidence.get(component.pk)
        if component.pk not in windows:
            return ComponentRow(component, group_name=group_name, evidence=known)
        # "Group - Component", as display_name, without its query for the group.
        name = f"{group_name} - {component.name}" if group else component.name
        return ComponentRow(
            component,
            url.replace("~id~", component.public_id),
            bars.render(name=name, window=windows[component.pk]),
            group_name,
            known,
        )

    return [(row(parent), [row(c, parent) for c in kids]) for parent, kids in tree]


def _refuse_nul(public_id: str) -> None:
    """No id holds a NUL, which PostgreSQL refuses in a query: not found."""
    if "\x00" in public_id:
        raise Http404("No such id.")


def _others_incidents(page: Page) -> set[str]:
    """The incidents only other pages show, that ``page``'s bars must not name."""
    others = Incident.objects.exclude(pages=page)
    return set(others.values_list("public_id", flat=True))


def _any_history(rows: list[tuple[ComponentRow, list[ComponentRow]]]) -> bool:
    return any(r.history for parent, kids in rows for r in (parent, *kids))


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


def _history_months(page: Page) -> list[Month]:
    """Every month from this one back to the oldest incident's, newest first.

    Empty months stay in the list, as on Statuspage: "no incidents" is news too.
    """
    tz = page.tzinfo
    year, month = _month_of(timezone.now(), tz)
    shown = Incident.objects.filter(_past(), pages=page)
    oldest = shown.aggregate(oldest=Min("started_at"))
    first = _month_of(oldest["oldest"], tz) if oldest["oldest"] else (year, month)
    months: list[Month] = []
    while (year, month) >= first or len(months) < MONTHS_PER_PAGE:
        months.append((year, month))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months


def _month_start(month: Month, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    return dt.datetime(month[0], month[1], 1, tzinfo=tz)


def _incidents_by_month(months: list[Month], page: Page) -> list[MonthOfIncidents]:
    """The incidents ``page`` shows that began in ``months`` (newest first), in one
    query."""
    tz = page.tzinfo
    newest = months[0]
    after_newest = (newest[0] + 1, 1) if newest[1] == 12 else (newest[0], newest[1] + 1)
    incidents = incident_queryset(page).filter(
        _past(),
        started_at__gte=_month_start(months[-1], tz),
        started_at__lt=_month_start(after_newest, tz),
    )
    groups = Component.objects.filter(is_group=True)
    shown = _shown(as_shown(incidents, page_codes(page)), _group_names(groups))
    return [
        MonthOfIncidents(
            month=dt.date(month[0], month[1], 1),
            incidents=[
                s for s in shown if _month_of(s.incident.started_at, tz) == month
            ],
        )
        for month in months
    ]


@require_safe
def favicon(request: HttpRequest) -> HttpResponse:
    """``/favicon.ico``, which browsers ask for on pages without an icon link (a
    feed, an API answer): the page's own icon if its brand has one, else
    Heliograph's. Not permanent: either name carries a version."""
    brand = Brand.objects.filter(page=page_of(request)).only(
        "favicon_type", "favicon_digest"
    )
    icon = brand.first()
    if icon is not None and icon.favicon_extension:
        path = reverse(f"public:brand-favicon-{icon.favicon_extension}")
        response = redirect(f"{path}?v={icon.favicon_digest}")
    else:
        response = redirect(static("heliograph/favicon.svg"))
    patch_cache_control(response, public=True, max_age=FAVICON_MAX_AGE_SECONDS)
    return response
