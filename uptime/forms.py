"""The console's form for the availability report."""

from __future__ import annotations

from typing import Any

from django import forms

from incidents.forms import ConsoleForm
from incidents.models import Component

from .report import MAX_DAYS


class ReportForm(ConsoleForm):
    """The range and components of an availability report (days of the page)."""

    start = forms.DateField(
        label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        label="To",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Both days included, in the page's time zone.",
    )
    components = forms.ModelMultipleChoiceField(
        queryset=Component.objects.live().filter(is_group=False).order_by("name"),
        required=False,
        help_text="None selected: every component.",
    )

    def clean(self) -> dict[str, Any]:

        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end:
            if end < start:
                self.add_error("end", "The range ends before it starts.")
            elif (end - start).days + 1 > MAX_DAYS:
                self.add_error("end", f"A report covers at most {MAX_DAYS} days.")
        return data
