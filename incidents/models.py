"""The status model, in Statuspage's vocabulary.

Rows are changed only through ``incidents.services``; the rules here concern one row.
"""

from __future__ import annotations

import re
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

# Named here too: the migrations written before kit.ids existed refer to it so.
from kit.ids import new_public_id

# Line breaks (C0 and C1 controls, U+2028, U+2029) and every other control character.
CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"


def validate_single_line(value: str) -> None:
    """Names end up in mail subjects and headers (the page's in the sender's name),
    where a line break would make every message fail to send."""
    found = CONTROL_CHARACTERS.search(value)
    if found is None:
        return
    char = found.group()
    what = "a line break" if char in LINE_BREAKS else "a control character"
    raise ValidationError(
        f"Must be a single line: remove {what} (U+{ord(char):04X}) at character "
        f"{found.start() + 1}."
    )


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(
            f"'{value}' is not an IANA time zone name (for example Europe/Berlin)."
        )


class ComponentStatus(models.TextChoices):
    OPERATIONAL = "operational", "Operational"
    DEGRADED_PERFORMANCE = "degraded_performance", "Degraded performance"
    PARTIAL_OUTAGE = "partial_outage", "Partial outage"
    MAJOR_OUTAGE = "major_outage", "Major outage"
    UNDER_MAINTENANCE = "under_maintenance", "Under maintenance"


# How bad each status is, for "the worst of" (a group, a page). Maintenance ranks above
# operational and below every kind of failure.
COMPONENT_SEVERITY: dict[str, int] = {
    ComponentStatus.OPERATIONAL: 0,
    ComponentStatus.UNDER_MAINTENANCE: 1,
    ComponentStatus.DEGRADED_PERFORMANCE: 2,
    ComponentStatus.PARTIAL_OUTAGE: 3,
    ComponentStatus.MAJOR_OUTAGE: 4,
}


def worst_status(statuses: list[str]) -> str:
    if not statuses:
        return ComponentStatus.OPERATIONAL
    return max(statuses, key=lambda status: COMPONENT_SEVERITY[status])


class IncidentStatus(models.TextChoices):
    INVESTIGATING = "investigating", "Investigating"
    IDENTIFIED = "identified", "Identified"
    MONITORING = "monitoring", "Monitoring"
    RESOLVED = "resolved", "Resolved"
    POSTMORTEM = "postmortem", "Postmortem"


class MaintenanceStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    IN_PROGRESS = "in_progress", "In progress"
    VERIFYING = "verifying", "Verifying"
    COMPLETED = "completed", "Completed"


UPDATE_STATUS_CHOICES = IncidentStatus.choices + MaintenanceStatus.choices
OPEN_INCIDENT_STATUSES = (
    IncidentStatus.INVESTIGATING,
    IncidentStatus.IDENTIFIED,
    IncidentStatus.MONITORING,
)
ACTIVE_MAINTENANCE_STATUSES = (
    MaintenanceStatus.IN_PROGRESS,
    MaintenanceStatus.VERIFYING,
)


class Impact(models.TextChoices):
    NONE = "none", "None"
    MINOR = "minor", "Minor"
    MAJOR = "major", "Major"
    CRITICAL = "critical", "Critical"
    MAINTENANCE = "maintenance", "Maintenance"


IMPACT_SEVERITY: dict[str, int] = {
    Impact.NONE: 0,
    Impact.MAINTENANCE: 0,
    Impact.MINOR: 1,
    Impact.MAJOR: 2,
    Impact.CRITICAL: 3,
}


# A host name as a page is reached by: lower-case labels, no port, no scheme.
LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
HOST_NAME = re.compile(rf"^(?=.{{1,253}}$){LABEL}(\.{LABEL})*$")
# Paths a page's own address (``/p/<slug>/``) may not take over.
RESERVED_SLUGS = {"admin", "api", "accounts", "static", "metrics", "p", "console"}


def validate_host_name(value: str) -> None:
    if not HOST_NAME.match(value):
        raise ValidationError(
            f"'{value}' is not a host name: give lower-case letters, digits, hyphens "
            "and dots only, without a scheme, a port or a path (status.example.com)."
        )


def validate_page_slug(value: str) -> None:
    if value in RESERVED_SLUGS:
        raise ValidationError(
            f"'{value}' is a path of the site itself; choose another slug."
        )


class PageQuerySet(models.QuerySet["Page"]):
    def default(self) -> Page | None:
        return self.filter(is_default=True).first()


class Page(models.Model):
    """A status page: the components, incidents and subscribers of one audience.

    An install has at least one page, the **default** one, served on every host name
    no other page claims (the row made first; ``Page.get()``). Another page is
    reached on its own host names (``PageHost``) or, on any host, under
    ``/p/<slug>/``. A component or an incident may be on several pages.
    """

    public_id = models.CharField(max_length=12, unique=True, default=new_public_id)
    slug = models.SlugField(
        max_length=40,
        unique=True,
        validators=[validate_page_slug],
        help_text="The page's path on any host: /p/<slug>/.",
    )
    is_default = models.BooleanField(
        default=False,
        help_text="Served on every host name no other page claims.",
    )
    name = models.CharField(
        max_length=100, default="Status", validators=[validate_single_line]
    )
    url = models.URLField(
        blank=True, help_text="Public address of this page, used in links and feeds."
    )
    time_zone = models.CharField(
        max_length=64, default="UTC", validators=[validate_time_zone]
    )
    description = models.CharField(max_length=300, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PageQuerySet.as_manager()

    class Meta:
        ordering = ("-is_default", "name", "id")
        verbose_name = "page"
        constraints = [
            models.UniqueConstraint(
                fields=("is_default",),
                condition=models.Q(is_default=True),
                name="one_default_page",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def get(cls) -> Page:
        """The default page (made on first use, as an empty install has none)."""
        page = cls.objects.default()
        if page is None:
            # Two first requests at once: the constraint lets one make it.
            page, _ = cls.objects.get_or_create(
                is_default=True, defaults={"slug": "main"}
            )
        return page

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


def default_page_id() -> int:
    """What a row of a page is of when made without one: the default page."""
    return Page.get().pk


class PageHost(models.Model):
    """A host name a page answers on; each name belongs to one page."""

    page = models.ForeignKey(Page, on_delete=models.CASCADE, related_name="hosts")
    name = models.CharField(
        max_length=253, unique=True, validators=[validate_host_name]
    )

    class Meta:
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name


class ComponentQuerySet(models.QuerySet["Component"]):
    def live(self) -> ComponentQuerySet:
        return self.filter(deleted_at__isnull=True)


class Component(models.Model):
    """A part of the product, or a group of them (``is_group``), as Statuspage has it.

    A group's status is derived from its children and stored so reads stay cheap.
    Deleting is soft (``deleted_at``): its status history stays, and past updates keep
    its name in ``affected_components``, while pages and the API stop listing it.
    """

    public_id = models.CharField(max_length=12, unique=True, default=new_public_id)
    name = models.CharField(max_length=200, validators=[validate_single_line])
    description = models.TextField(blank=True)
    status = models.CharField(
        max_length=24,
        choices=ComponentStatus.choices,
        default=ComponentStatus.OPERATIONAL,
    )
    position = models.PositiveIntegerField(default=0)
    is_group = models.BooleanField(default=False)
    group = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        limit_choices_to={"is_group": True, "deleted_at__isnull": True},
    )
    pages = models.ManyToManyField(
        Page,
        blank=True,
        related_name="components",
        help_text="The pages that show this component; on none, only staff see it.",
    )
    showcase = models.BooleanField(default=True)
    only_show_if_degraded = models.BooleanField(default=False)
    pinned = models.BooleanField(
        default=False,
        help_text="Keep the status set by hand: probes keep recording but do not "
        "change it until the pin is cleared.",
    )
    start_date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = ComponentQuerySet.as_manager()

    class Meta:
        ordering = ("position", "id")
        indexes = [models.Index(fields=("group", "position"))]
        # A responder moves a component's status and pin, not its structure.
        permissions = [
            ("set_component_status", "Can set a component's status"),
            ("pin_component", "Can pin a component's status against the probes"),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        """ "Group - Component" for a child, as Statuspage names affected components."""
        if self.group_id is not None and self.group is not None:
            return f"{self.group.name} - {self.name}"
        return self.name

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def is_visible(self) -> bool:
        if self.only_show_if_degraded:
            return self.status != ComponentStatus.OPERATIONAL
        return True


class StatusSource(models.TextChoices):
    STAFF = "staff", "Staff user"
    API = "api", "API"
    MAINTENANCE = "maintenance", "Scheduled maintenance"
    PROBE = "probe", "Probe"
    SYSTEM = "system", "System"


class ComponentStatusChange(models.Model):
    """One change of a component's status: the record behind uptime and audits."""

    component = models.ForeignKey(
        Component, on_delete=models.CASCADE, related_name="status_changes"
    )
    old_status = models.CharField(max_length=24, choices=ComponentStatus.choices)
    new_status = models.CharField(max_length=24, choices=ComponentStatus.choices)
    source = models.CharField(max_length=16, choices=StatusSource.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    incident = models.ForeignKey(
        "Incident", null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [models.Index(fields=("component", "created_at"))]

    def __str__(self) -> str:
        return f"{self.component}: {self.old_status} -> {self.new_status}"


class IncidentKind(models.TextChoices):
    INCIDENT = "incident", "Incident"
    MAINTENANCE = "maintenance", "Scheduled maintenance"


class Origin(models.TextChoices):
    STAFF = "staff", "Staff"
    AUTOMATIC = "automatic", "Automatic"


class IncidentQuerySet(models.QuerySet["Incident"]):
    def incidents(self) -> IncidentQuerySet:
        return self.filter(kind=IncidentKind.INCIDENT)

    def maintenances(self) -> IncidentQuerySet:
        return self.filter(kind=IncidentKind.MAINTENANCE)

    def unresolved(self) -> IncidentQuerySet:
        return self.incidents().filter(status__in=OPEN_INCIDENT_STATUSES)

    def upcoming(self) -> IncidentQuerySet:
        return self.maintenances().filter(status=MaintenanceStatus.SCHEDULED)

    def active(self) -> IncidentQuerySet:
        return self.maintenances().filter(status__in=ACTIVE_MAINTENANCE_STATUSES)


class Incident(models.Model):
    """An incident or a scheduled maintenance (``kind``): one object, as Statuspage."""

    public_id = models.CharField(max_length=12, unique=True, default=new_public_id)
    kind = models.CharField(
        max_length=12, choices=IncidentKind.choices, default=IncidentKind.INCIDENT
    )
    name = models.CharField(max_length=200, validators=[validate_single_line])
    status = models.CharField(max_length=16, choices=UPDATE_STATUS_CHOICES)
    impact = models.CharField(
        max_length=12, choices=Impact.choices, default=Impact.NONE
    )
    impact_override = models.CharField(
        max_length=12,
        choices=Impact.choices,
        blank=True,
        help_text="Leave empty to compute the impact from the affected components.",
    )
    origin = models.CharField(
        max_length=12, choices=Origin.choices, default=Origin.STAFF
    )
    components = models.ManyToManyField(Component, blank=True, related_name="incidents")
    pages = models.ManyToManyField(
        Page,
        blank=True,
        related_name="incidents",
        help_text="The pages that show this incident, and whose subscribers hear "
        "of it.",
    )
    started_at = models.DateTimeField(default=timezone.now)
    monitoring_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    scheduled_for = models.DateTimeField(null=True, blank=True)
    scheduled_until = models.DateTimeField(null=True, blank=True)
    auto_start = models.BooleanField(
        default=True,
        help_text="Start at the scheduled time: components go under maintenance.",
    )
    auto_complete = models.BooleanField(
        default=True,
        help_text="Complete at the scheduled end: components return to operational.",
    )
    postmortem_body = models.TextField(blank=True)
    postmortem_published_at = models.DateTimeField(null=True, blank=True)
    automation_stopped = models.BooleanField(
        default=False,
        help_text="Staff took over this automatic incident: automation no longer "
        "posts to it.",
    )
    hold_auto_resolve = models.BooleanField(
        default=False,
        help_text="Keep this automatic incident open after its components recover.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = IncidentQuerySet.as_manager()

    class Meta:
        ordering = ("-started_at", "-id")
        indexes = [
            models.Index(fields=("kind", "status")),
            models.Index(fields=("kind", "started_at")),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_maintenance(self) -> bool:
        return self.kind == IncidentKind.MAINTENANCE

    @property
    def is_automated(self) -> bool:
        """Opened by the probes and still run by them (no staff takeover)."""
        return self.origin == Origin.AUTOMATIC and not self.automation_stopped

    @property
    def is_open(self) -> bool:
        if self.is_maintenance:
            return self.status != MaintenanceStatus.COMPLETED
        return self.status in OPEN_INCIDENT_STATUSES

    @property
    def allowed_statuses(self) -> list[str]:
        kind_statuses = MaintenanceStatus if self.is_maintenance else IncidentStatus
        return [choice.value for choice in kind_statuses]

    def shortlink(self, page_url: str) -> str:
        return f"{page_url.rstrip('/')}/incidents/{self.public_id}"


class IncidentUpdate(models.Model):
    """One entry of an incident's timeline.

    ``affected_components`` keeps what the update changed, as Statuspage publishes it:
    ``[{"code", "name", "old_status", "new_status"}]`` or null.
    """

    public_id = models.CharField(max_length=12, unique=True, default=new_public_id)
    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="updates"
    )
    status = models.CharField(max_length=16, choices=UPDATE_STATUS_CHOICES)
    body = models.TextField(blank=True)
    display_at = models.DateTimeField(default=timezone.now)
    deliver_notifications = models.BooleanField(default=True)
    shown_on = models.ManyToManyField(
        Page,
        blank=True,
        related_name="+",
        help_text="Only these of the incident's pages show this update; none: all do.",
    )
    affected_components = models.JSONField(null=True, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-display_at", "-id")

    def __str__(self) -> str:
        return f"{self.incident}: {self.status}"


class IncidentTemplate(models.Model):
    """A prepared incident or update text, picked when time is short.

    As in Statuspage: ``title`` becomes the incident's name, ``body`` the update's
    text, ``update_status`` its status, and ``components`` the components it names.
    The ``name`` is what staff pick it by, and what configuration files key it on.
    """

    public_id = models.CharField(max_length=12, unique=True, default=new_public_id)
    name = models.CharField(
        max_length=100, unique=True, validators=[validate_single_line]
    )
    title = models.CharField(max_length=200, validators=[validate_single_line])
    body = models.TextField(blank=True)
    update_status = models.CharField(
        max_length=16,
        choices=IncidentStatus.choices,
        default=IncidentStatus.INVESTIGATING,
    )
    should_send_notifications = models.BooleanField(default=True)
    components = models.ManyToManyField(
        Component, blank=True, related_name="incident_templates"
    )
    page = models.ForeignKey(
        Page,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="templates",
        help_text="The page whose staff pick this template; empty: every page's.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name
