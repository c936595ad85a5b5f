"""Forms of the staff console.

They validate what a person typed and shape it into a service's keyword arguments; the
rules about what may change live in ``incidents.services``, whose refusals
``add_refusal`` turns back into form errors.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.forms import BoundField
from django.utils import timezone

from .models import (
    OPEN_INCIDENT_STATUSES,
    Component,
    ComponentStatus,
    Impact,
    Incident,
    IncidentStatus,
    MaintenanceStatus,
    Origin,
    Page,
)

NOT_AFFECTED = ""
COMPONENT_CHOICES = [(NOT_AFFECTED, "Not affected"), *ComponentStatus.choices]
IMPACT_OVERRIDE_CHOICES = [
    ("", "Computed from the components"),
    *[
        (impact.value, impact.label)
        for impact in Impact
        if impact != Impact.MAINTENANCE
    ],
]
WIDE = {"class": "vTextField"}  # the admin's full-width text input
MARKDOWN_HELP = "Markdown: **bold**, *italic*, [links](https://example.com), - lists."


def add_refusal(form: forms.BaseForm, refusal: ValidationError) -> None:
    """Show a service's refusal on the form: on the field it names, else on top."""
    if not hasattr(refusal, "error_dict"):
        form.add_error(None, refusal)
        return
    for key, errors in refusal.error_dict.items():
        form.add_error(key if key in form.fields else None, errors)


class DateTimeLocalInput(forms.DateTimeInput):
    """The browser's own date and time picker; the value is read in the current zone."""

    input_type = "datetime-local"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M")


def _when_field(label: str, *, required: bool, help_text: str = "") -> forms.Field:
    zone = timezone.get_default_timezone_name()
    return forms.DateTimeField(
        label=label,
        required=required,
        widget=DateTimeLocalInput(),
        help_text=f"{help_text} Time zone: {zone}.".strip(),
    )


def _body_field(label: str = "Message") -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        widget=forms.Textarea(attrs={"rows": 5, "cols": 80}),
        help_text=MARKDOWN_HELP,
    )


def _notify_field() -> forms.BooleanField:
    return forms.BooleanField(label="Notify subscribers", required=False, initial=True)


class PageChoiceField(forms.ModelMultipleChoiceField):
    """Pages as checkboxes, each by its name."""

    widget = forms.CheckboxSelectMultiple

    def label_from_instance(self, obj: Page) -> str:
        return obj.name


def several_pages() -> bool:
    """Whether the install has more than one page: only then do the console's forms
    ask which pages show an incident or an update."""
    return Page.objects.count() > 1


def _console_order(component: Component) -> tuple[int, int, int, int]:
    """The public page's order: top-level rows by position, children under them."""
    group = component.group
    if group is None:
        return (component.position, component.pk, 0, 0)
    return (group.position, group.pk, component.position, component.pk)


class ComponentForm(forms.ModelForm):
    """A component or group; the admin hands the cleaned values to the services."""

    position = forms.IntegerField(
        min_value=0, required=False, help_text="Leave empty to place it last."
    )

    class Meta:
        model = Component
        fields = (
            "name",
            "description",
            "is_group",
            "group",
            "status",
            "pinned",
            "position",
            "showcase",
            "only_show_if_degraded",
            "start_date",
            "pages",
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is None and "pages" in self.fields:
            self.fields["pages"].initial = [Page.get().pk]
        if self.instance.pk is not None and "position" in self.fields:
            self.fields["position"].required = True
            self.fields["position"].help_text = ""


class PageForm(forms.ModelForm):
    """A page's settings and the host names it answers on, one per line."""

    hosts = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Host names this page answers on at their root, one per line "
        "(status.example.com). Each must also be in ALLOWED_HOSTS. Leave empty to "
        "reach the page under /p/<slug>/ on any host.",
    )

    class Meta:
        model = Page
        fields = ("name", "slug", "url", "time_zone", "description")

    url = forms.URLField(
        required=False,
        assume_scheme="https",
        help_text=Page._meta.get_field("url").help_text,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            names = self.instance.hosts.values_list("name", flat=True)
            self.fields["hosts"].initial = "\n".join(names)

    def host_names(self) -> list[str]:
        return self.cleaned_data.get("hosts", "").split()


class ConsoleForm(forms.Form):
    required_css_class = "required"  # the admin's stylesheet marks these labels


class ComponentStatusesForm(ConsoleForm):
    """A form with one status select per live component, grouped as the page shows.

    Only the selects a person changed are handed to the service, so an update records
    what moved and nothing else.
    """

    def add_component_fields(self, initial: dict[int, str]) -> None:
        components = Component.objects.live().filter(is_group=False)
        self.components = sorted(components.select_related("group"), key=_console_order)
        for component in self.components:
            self.fields[self._field_name(component)] = forms.ChoiceField(
                label=component.name,
                choices=COMPONENT_CHOICES,
                required=False,
                initial=initial.get(component.pk, NOT_AFFECTED),
            )

    @staticmethod
    def _field_name(component: Component) -> str:
        return f"component_{component.pk}"

    def main_fields(self) -> list[BoundField]:
        """The fields other than the component selects."""
        names = {self._field_name(component) for component in self.components}
        return [self[name] for name in self.fields if name not in names]

    def component_groups(self) -> list[tuple[str, list[BoundField]]]:
        groups: list[tuple[str, list[BoundField]]] = []
        for component in self.components:
            heading = component.group.name if component.group else ""
            if not groups or groups[-1][0] != heading:
                groups.append((heading, []))
            groups[-1][1].append(self[self._field_name(component)])
        return groups

    def changed_component_statuses(self) -> dict[Component, str]:
        statuses = {}
        for component in self.components:
            name = self._field_name(component)
            status = self.cleaned_data.get(name, NOT_AFFECTED)
            if status != NOT_AFFECTED and status != self.fields[name].initial:
                statuses[component] = status
        return statuses


class IncidentOpenForm(ComponentStatusesForm):
    name = forms.CharField(max_length=200, widget=forms.TextInput(attrs=WIDE))
    status = forms.ChoiceField(
        choices=[
            (status.value, status.label)
            for status in (*OPEN_INCIDENT_STATUSES, IncidentStatus.RESOLVED)
        ],
        initial=IncidentStatus.INVESTIGATING,
        help_text="Resolved records an incident that is already over.",
    )
    body = _body_field()
    impact_override = forms.ChoiceField(
        choices=IMPACT_OVERRIDE_CHOICES, required=False, label="Impact"
    )
    display_at = _when_field(
        "Started at", required=False, help_text="Leave empty for now; may be earlier."
    )
    deliver_notifications = _notify_field()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if several_pages():
            self.fields["pages"] = PageChoiceField(
                queryset=Page.objects.all(),
                required=False,
                label="Show this incident on",
                help_text="It is also on the pages of the components it affects. "
                "Leave all unchecked for those alone (or the default page if they "
                "are on none).",
            )
        self.add_component_fields({})

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "pages": list(data.get("pages") or ()),
            "name": data["name"],
            "status": data["status"],
            "body": data["body"],
            "impact_override": data["impact_override"],
            "display_at": data["display_at"],
            "deliver_notifications": data["deliver_notifications"],
            "component_statuses": self.changed_component_statuses(),
        }


class IncidentUpdateForm(ComponentStatusesForm):
    """Post an update; the selects start at the incident's components' statuses."""

    status = forms.ChoiceField()
    body = _body_field()
    display_at = _when_field(
        "Shown at", required=False, help_text="Leave empty for now; may be earlier."
    )
    deliver_notifications = _notify_field()

    def __init__(self, *args: Any, incident: Incident, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.incident = incident
        statuses = [
            s for s in incident.allowed_statuses if s != IncidentStatus.POSTMORTEM
        ]
        labels = dict(IncidentStatus.choices + MaintenanceStatus.choices)
        status_field = self.fields["status"]
        assert isinstance(status_field, forms.ChoiceField)
        status_field.choices = [(s, labels[s]) for s in statuses]
        status_field.initial = (
            incident.status if incident.status in statuses else IncidentStatus.RESOLVED
        )
        self.affected = list(incident.components.live())
        if several_pages():
            self._add_shown_on_field(incident)
        self.add_component_fields({c.pk: c.status for c in self.affected})

    def _add_shown_on_field(self, incident: Incident) -> None:
        self.incident_pages = list(incident.pages.all())
        self.fields["shown_on"] = PageChoiceField(
            queryset=incident.pages.all(),
            initial=[page.pk for page in self.incident_pages],
            label="Show this update on",
            error_messages={
                "required": "Choose at least one of the incident's pages.",
                "invalid_choice": "This incident is not on that page: an update can "
                "be limited only to the incident's own pages.",
            },
            help_text="Leave a page unchecked to keep this update off it: an "
            "internal update.",
        )

    def _shown_on(self) -> list[Page] | None:
        """The pages chosen, or None when they are all the incident's: the update is
        then shown on every page the incident is on, now or later."""
        chosen = list(self.cleaned_data.get("shown_on") or ())
        if not chosen or {p.pk for p in chosen} >= {p.pk for p in self.incident_pages}:
            return None
        return chosen

    def service_kwargs(self, *, resolve: bool = False) -> dict[str, Any]:
        """The update to post; ``resolve`` is the "Resolve" button's shortcut.

        Resolving returns the incident's components to operational unless a select was
        changed; completing a maintenance leaves that to the service's own default.
        """
        data = self.cleaned_data
        statuses = self.changed_component_statuses()
        status = data["status"]
        if resolve and self.incident.is_maintenance:
            status = MaintenanceStatus.COMPLETED
        elif resolve:
            status = IncidentStatus.RESOLVED
            for component in self.affected:
                if component.status != ComponentStatus.OPERATIONAL:
                    statuses.setdefault(component, ComponentStatus.OPERATIONAL)
        return {
            "status": status,
            "body": data["body"],
            "shown_on": self._shown_on(),
            "display_at": data["display_at"],
            "deliver_notifications": data["deliver_notifications"],
            # Left alone, a maintenance's components go in and out by themselves.
            "component_statuses": (
                None if self.incident.is_maintenance and not statuses else statuses
            ),
        }


class IncidentEditForm(ConsoleForm):
    name = forms.CharField(max_length=200, widget=forms.TextInput(attrs=WIDE))
    impact_override = forms.ChoiceField(
        choices=IMPACT_OVERRIDE_CHOICES, required=False, label="Impact"
    )

    automation_stopped = forms.BooleanField(
        required=False,
        label="Taken over by staff",
        help_text="The probes stop posting to this automatic incident.",
    )
    hold_auto_resolve = forms.BooleanField(
        required=False,
        label="Hold auto-resolve",
        help_text="Keep it open after its components recover.",
    )

    def __init__(self, *args: Any, incident: Incident, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial",
            {
                "name": incident.name,
                "impact_override": incident.impact_override,
                "automation_stopped": incident.automation_stopped,
                "hold_auto_resolve": incident.hold_auto_resolve,
            },
        )
        super().__init__(*args, **kwargs)
        if incident.is_maintenance:
            del self.fields["impact_override"]  # a maintenance's impact is maintenance
        if incident.origin != Origin.AUTOMATIC:
            del self.fields["automation_stopped"]
            del self.fields["hold_auto_resolve"]


class PostmortemForm(ConsoleForm):
    postmortem_body = _body_field("Postmortem")

    def __init__(self, *args: Any, incident: Incident, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"postmortem_body": incident.postmortem_body})
        super().__init__(*args, **kwargs)
        self.fields["postmortem_body"].widget.attrs["rows"] = 10


class ComponentChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Component) -> str:
        return obj.display_name


class MaintenanceScheduleForm(ConsoleForm):
    name = forms.CharField(max_length=200, widget=forms.TextInput(attrs=WIDE))
    scheduled_for = _when_field("Starts", required=True)
    scheduled_until = _when_field("Ends", required=True)
    components = ComponentChoiceField(
        queryset=Component.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="They go under maintenance while it is in progress.",
    )
    body = _body_field()
    auto_start = forms.BooleanField(
        required=False,
        initial=True,
        label="Start automatically",
        help_text="At the start, the components go under maintenance.",
    )
    auto_complete = forms.BooleanField(
        required=False,
        initial=True,
        label="Complete automatically",
        help_text="At the end, the components return to operational.",
    )
    deliver_notifications = _notify_field()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        start = timezone.localtime().replace(second=0, microsecond=0)
        start += dt.timedelta(days=1)
        kwargs.setdefault(
            "initial",
            {"scheduled_for": start, "scheduled_until": start + dt.timedelta(hours=1)},
        )
        super().__init__(*args, **kwargs)
        field = self.fields["components"]
        assert isinstance(field, ComponentChoiceField)
        # Read per form, not at import, so new components appear at once.
        field.queryset = (
            Component.objects.live().filter(is_group=False).select_related("group")
        )
