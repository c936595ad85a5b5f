"""Load the demo page: the "Acme" product, some incident history and a staff user."""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.utils import timezone

from incidents import services
from incidents.models import (
    Component,
    ComponentStatus,
    Incident,
    IncidentStatus,
    StatusSource,
)

DEMO_USERNAME = "demo"

_OUTAGE_TIMELINE = [
    (
        IncidentStatus.INVESTIGATING,
        "Some customers cannot sign in. We are investigating.",
        ComponentStatus.MAJOR_OUTAGE,
    ),
    (
        IncidentStatus.IDENTIFIED,
        "A certificate rotation broke the session store. Rolling back.",
        ComponentStatus.PARTIAL_OUTAGE,
    ),
    (
        IncidentStatus.MONITORING,
        "Sign-in works again; we are watching error rates.",
        ComponentStatus.OPERATIONAL,
    ),
    (
        IncidentStatus.RESOLVED,
        "This incident has been resolved.",
        ComponentStatus.OPERATIONAL,
    ),
]


class Command(BaseCommand):
    help = (
        "Load the Acme demo page (components, incident history, a maintenance that "
        "starts within a minute) unless it is already there, and print the demo staff "
        "user's credentials."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Delete every component and incident first, then load the demo again.",
        )
        parser.add_argument(
            "--url",
            default="http://127.0.0.1:8000",
            help="The address the demo page is served at (default: %(default)s).",
        )

    def handle(self, *args: Any, reset: bool, url: str, **options: Any) -> None:
        if reset:
            Incident.objects.all().delete()
            Component.objects.filter(is_group=False).delete()  # groups are protected
            Component.objects.all().delete()
        if Component.objects.exists():
            self.stdout.write("Demo data already loaded (use --reset to reload).")
        else:
            self._load(url)
            self.stdout.write(self.style.SUCCESS("Loaded the Acme demo page."))
        password = self._staff_user()
        self.stdout.write(
            f"Staff console: user '{DEMO_USERNAME}', password '{password}'"
        )

    @transaction.atomic
    def _load(self, url: str) -> None:
        services.page_update(
            name="Acme",
            url=url,
            time_zone="Europe/Berlin",
            description="Live status of the Acme product.",
        )
        web = services.component_create(name="Acme app", is_group=True)
        login = services.component_create(
            name="Login/logout path",
            group=web,
            description="Signing in and out of the Acme app.",
        )
        services.component_create(
            name="Web app", group=web, description="The Acme web front end."
        )
        platform = services.component_create(name="Developer platform", is_group=True)
        api = services.component_create(
            name="API", group=platform, description="The public REST API."
        )
        services.component_create(
            name="Webhooks", group=platform, only_show_if_degraded=True
        )
        self._past_outage(login)
        self._open_incident(api)
        self._upcoming_maintenance(api)

    def _past_outage(self, login: Component) -> None:
        start = timezone.now() - dt.timedelta(days=3, hours=2)
        (status, body, component_status), *later = _OUTAGE_TIMELINE
        incident = services.incident_create(
            name="Users cannot sign in",
            status=status,
            body=body,
            component_statuses={login: component_status},
            display_at=start,
            source=StatusSource.SYSTEM,
        )
        for step, (status, body, component_status) in enumerate(later, start=1):
            services.incident_post_update(
                incident=incident,
                status=status,
                body=body,
                component_statuses={login: component_status},
                display_at=start + dt.timedelta(minutes=25 * step),
                source=StatusSource.SYSTEM,
            )
        services.incident_publish_postmortem(
            incident=incident,
            body=(
                "## What happened\n\nA routine certificate rotation left the session "
                "store unreachable for 50 minutes.\n\n## What we changed\n\n"
                "- Rotations now run against a canary first.\n"
                "- Sign-in is probed from three regions every minute."
            ),
        )

    def _open_incident(self, api: Component) -> None:
        services.incident_create(
            name="Slow API responses",
            status=IncidentStatus.IDENTIFIED,
            body="Requests to the API take longer than usual. A fix is being deployed.",
            component_statuses={api: ComponentStatus.DEGRADED_PERFORMANCE},
            source=StatusSource.SYSTEM,
        )

    def _upcoming_maintenance(self, api: Component) -> None:
        # Starts within a minute so the demo shows the worker and beat at work.
        start = timezone.now() + dt.timedelta(seconds=45)
        services.maintenance_schedule(
            name="API database upgrade",
            scheduled_for=start,
            scheduled_until=start + dt.timedelta(minutes=5),
            components=[api],
            body="The API may answer slowly for a few minutes while we upgrade.",
        )

    def _staff_user(self) -> str:
        """Create the demo staff user once; its password is kept in the var folder."""
        password_file = Path(settings.VAR_DIR) / "demo-password"
        if password_file.exists():
            password = password_file.read_text().strip()
        else:
            password = secrets.token_urlsafe(12)
            password_file.parent.mkdir(parents=True, exist_ok=True)
            password_file.write_text(password)
            password_file.chmod(0o600)
        user, _ = get_user_model().objects.get_or_create(username=DEMO_USERNAME)
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        return password
