"""The uptime record in the console: the availability report, a page of the
components' console (``admin:incidents_component_report``), added there through
``incidents.admin.components.console_view_add``: the status domain does not import
this app."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from incidents.admin.components import ComponentAdmin, console_view_add
from incidents.models import Page

from . import selectors
from .forms import ReportForm
from .report import availability_report, report_csv


def report_view(model_admin: ComponentAdmin, request: HttpRequest) -> HttpResponse:
    """Availability per component over a range, on screen or as CSV."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    today = timezone.localdate(timezone=Page.get().tzinfo)
    form = ReportForm(
        request.GET or None,
        initial={"start": today - dt.timedelta(days=29), "end": today},
    )
    report = None
    if form.is_bound and form.is_valid():
        report = availability_report(
            start=form.cleaned_data["start"],
            end=form.cleaned_data["end"],
            components=form.cleaned_data["components"],
        )
        if request.GET.get("format") == "csv":
            response = HttpResponse(report_csv(report), content_type="text/csv")
            name = f"availability-{report.start}-{report.end}.csv"
            response["Content-Disposition"] = f'attachment; filename="{name}"'
            return response
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": "Availability report",
        "form": form,
        "report": report,
        "csv_query": _with_csv(request),
        "partial_weight": f"{selectors.PARTIAL_OUTAGE_WEIGHT:.0%}",
    }
    return TemplateResponse(request, "admin/incidents/component/report.html", context)


def _with_csv(request: HttpRequest) -> str:
    query = request.GET.copy()
    query["format"] = "csv"
    return query.urlencode()


console_view_add("report/", "incidents_component_report", report_view)
