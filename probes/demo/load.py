"""Load the demo page: the "Acme" product, its probes, some incident history, and a
staff user."""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from audience.models import PageAccess
from audience.services import access_update, password_matches
from incidents import services
from incidents.models import (
    Component,
    ComponentStatus,
    Incident,
    IncidentStatus,
    Page,
    StatusSource,
)
from probes.models import Probe
from probes.services import probe_create

from .journey import journey_config

DEMO_USERNAME = "demo"
# The employees' page: on its own host name, as a custom domain would be. On a
# laptop "localhost" and "127.0.0.1" are two names of one machine.
INTERNAL_SLUG = "internal"
INTERNAL_HOST = "localhost"

_OUTAGE_TIMELINE = [
    (
        IncidentStatus.INVESTIGATING,
        "Some customers cannot sign in. We are investigating.",
        ComponentStatus.MAJOR_OUTAGE,
    ),
    (
        IncidentStatus.IDENTIFIED,
        "We found the cause and are rolling back a configuration change.",
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


@transaction.atomic  # a failed reload keeps the old demo rather than an empty page
def demo_load(*, url: str, target_url: str, reset: bool = False) -> bool:
    """Load the demo unless components exist already; True when it loaded."""
    if reset:
        Probe.objects.all().delete()
        Incident.objects.all().delete()
        Component.objects.filter(is_group=False).delete()  # groups are protected
        Component.objects.all().delete()
        Page.objects.filter(slug=INTERNAL_SLUG, is_default=False).delete()
    if Component.objects.exists():
        return False
    _load(url, target_url)
    return True


def _load(url: str, target_url: str) -> None:
    public = services.page_update(
        name="Acme",
        url=url,
        time_zone="Europe/Berlin",
        description="Live status of the Acme product.",
    )
    internal = services.page_create(
        name="Acme internal",
        slug=INTERNAL_SLUG,
        hosts=[INTERNAL_HOST],
        url=internal_url(url),
        time_zone="Europe/Berlin",
        description="For Acme employees: every component, and the technical detail.",
    )
    web = services.component_create(name="Acme app", is_group=True)
    login = services.component_create(
        name="Login/logout path",
        group=web,
        description="Signing in and out of the Acme app.",
    )
    webapp = services.component_create(
        name="Web app", group=web, description="The Acme web front end."
    )
    platform = services.component_create(name="Developer platform", is_group=True)
    api = services.component_create(
        name="API", group=platform, description="The public REST API."
    )
    webhooks = services.component_create(
        name="Webhooks", group=platform, only_show_if_degraded=True
    )
    services.page_components_add(
        page=internal, components=[login, webapp, api, webhooks]
    )
    backend = services.component_create(
        name="Internal systems", is_group=True, pages=[internal]
    )
    sessions = services.component_create(
        name="Session store",
        group=backend,
        pages=[internal],
        description="The Redis cluster that holds sign-in sessions.",
    )
    _demo_probes(target_url, login=login, webapp=webapp, api=api)
    _past_outage(login, sessions, internal)
    _open_incident(webhooks)
    _upcoming_maintenance(api)
    assert public.is_default


def _demo_probes(
    target_url: str, *, login: Component, webapp: Component, api: Component
) -> None:
    """A sign-in journey and two HTTP checks against the demo target, every 10 s."""
    timing = {"interval_seconds": 10, "timeout_seconds": 5}
    probe_create(
        name="Sign in and out",
        kind="journey",
        component=login,
        config=journey_config(target_url, webapp=webapp, api=api),
        **timing,
    )
    probe_create(
        name="Web app front page",
        kind="http",
        component=webapp,
        config={"url": f"{target_url}/"},
        **timing,
    )
    probe_create(
        name="API ping",
        kind="http",
        component=api,
        config={
            "url": f"{target_url}/api/ping",
            "json_path": "status",
            "json_equals": "ok",
        },
        **timing,
    )


def internal_url(url: str) -> str:
    """The public page's address with the employees' host name."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit((parts.scheme, f"{INTERNAL_HOST}{port}", "", "", ""))


# What employees read beside the public timeline: the technical side of each step.
_INTERNAL_DETAIL: dict[str, tuple[str, str]] = {
    IncidentStatus.INVESTIGATING: (
        "Session store: TLS handshakes from the app servers fail after the 09:40 "
        "certificate rotation. On-call: platform team.",
        ComponentStatus.MAJOR_OUTAGE,
    ),
    IncidentStatus.IDENTIFIED: (
        "Root cause: the new certificate lacks the cluster's internal SAN. Rolling "
        "the session store back to the previous certificate, node by node.",
        ComponentStatus.PARTIAL_OUTAGE,
    ),
    IncidentStatus.MONITORING: (
        "All session store nodes are back on the previous certificate; handshake "
        "errors are at zero. Postmortem owner: platform team.",
        ComponentStatus.OPERATIONAL,
    ),
}


def _past_outage(login: Component, sessions: Component, internal: Page) -> None:
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
    _internal_detail(incident, sessions, internal, status, start)
    for step, (status, body, component_status) in enumerate(later, start=1):
        at = start + dt.timedelta(minutes=25 * step)
        services.incident_post_update(
            incident=incident,
            status=status,
            body=body,
            component_statuses={login: component_status},
            display_at=at,
            source=StatusSource.SYSTEM,
        )
        _internal_detail(incident, sessions, internal, status, at)
    services.incident_publish_postmortem(
        incident=incident,
        body=(
            "## What happened\n\nA routine certificate rotation left the session "
            "store unreachable for 50 minutes.\n\n## What we changed\n\n"
            "- Rotations now run against a canary first.\n"
            "- Sign-in is probed from three regions every minute."
        ),
    )


def _internal_detail(
    incident: Incident,
    sessions: Component,
    internal: Page,
    status: str,
    at: dt.datetime,
) -> None:
    """The update only employees see, a minute after the public one."""
    if status not in _INTERNAL_DETAIL:
        return
    detail, sessions_status = _INTERNAL_DETAIL[status]
    services.incident_post_update(
        incident=incident,
        status=status,
        body=detail,
        component_statuses={sessions: sessions_status},
        display_at=at + dt.timedelta(minutes=1),
        source=StatusSource.SYSTEM,
        shown_on=[internal],
    )


def _open_incident(webhooks: Component) -> None:
    services.incident_create(
        name="Delayed webhook deliveries",
        status=IncidentStatus.IDENTIFIED,
        body="Webhooks arrive up to ten minutes late. A fix is being deployed.",
        component_statuses={webhooks: ComponentStatus.DEGRADED_PERFORMANCE},
        source=StatusSource.SYSTEM,
    )


def _upcoming_maintenance(api: Component) -> None:
    # Starts within a minute so the demo shows the worker and beat at work.
    start = timezone.now() + dt.timedelta(seconds=45)
    services.maintenance_schedule(
        name="API database upgrade",
        scheduled_for=start,
        scheduled_until=start + dt.timedelta(minutes=5),
        components=[api],
        body="The API may answer slowly for a few minutes while we upgrade.",
    )


def _secret(name: str) -> str:
    """A secret of the demo's, made once and kept in the var folder."""
    path = Path(settings.VAR_DIR) / name
    if path.exists():
        return path.read_text().strip()
    value = secrets.token_urlsafe(12)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(value)
    path.chmod(0o600)
    return value


def demo_internal_access() -> str | None:
    """Keep the employees' page private: its password (kept in the var folder) or
    the demo staff user's sign-in lets one in. None when the page is not there."""
    page = Page.objects.filter(slug=INTERNAL_SLUG).first()
    if page is None:
        return None
    password = _secret("demo-internal-password")
    access = PageAccess.objects.filter(page=page).first()
    if access is None or not password_matches(access, password):
        access_update(page=page, password=password, allow_staff=True)
    return password


def demo_staff_user() -> str:
    """Create the demo staff user once; its password is kept in the var folder."""
    password = _secret("demo-password")
    user, _ = get_user_model().objects.get_or_create(username=DEMO_USERNAME)
    user.is_staff = user.is_superuser = True
    user.set_password(password)
    user.save()
    return password
