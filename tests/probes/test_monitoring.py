"""Silent regions, degraded monitoring and the sweep that notices them.

Results are fed as a region's worker records them (``results_record``); the clock
is moved with time-machine so regions fall silent without waiting.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from standardwebhooks.webhooks import Webhook as Signer

from incidents.models import Component, Incident, IncidentStatus, Origin
from probes import selectors
from probes.automation import automatic_incidents_resolve
from probes.kinds.base import Outcome, ProbeOutcome, StepResult
from probes.models import ComponentVerdict, Probe
from probes.monitoring import monitoring_sweep
from probes.results import Run, results_record
from probes.scheduler import probes_dispatch
from probes.services import probe_create
from tests.conftest import make_component

pytestmark = pytest.mark.django_db

REGIONS = ["eu", "us", "ap"]
START = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)
# A 60 s probe with a 10 s timeout is silent after 3 intervals and the timeout.
SILENT = dt.timedelta(seconds=191)
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.fixture(autouse=True)
def probe_settings(settings: Any) -> None:
    settings.PROBE_REGIONS = REGIONS
    settings.AUTO_RESOLVE_AFTER_SECONDS = 300
    settings.PROBE_SILENT_AFTER_INTERVALS = 3
    settings.PROBE_SILENT_MIN_SECONDS = 30
    settings.PROBE_STREAK_MIN_SPACING_PERCENT = 50
    settings.STAFF_ALERT_EMAILS = ["oncall@example.com"]
    settings.STAFF_ALERT_WEBHOOK_URL = ""


@pytest.fixture
def clock() -> Iterator[Any]:
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def login(clock: Any) -> Component:
    return make_component(name="Login/logout path")


def make_probe(component: Component) -> Probe:
    probe, _ = probe_create(
        name=f"{component.name} check",
        kind="http",
        component=component,
        config={"url": "http://127.0.0.1:9/health"},
        regions=REGIONS,
    )
    return probe


def report(probe: Probe, clock: Any, outcome: str, *regions: str, times: int) -> None:
    """``times`` runs from each region, one interval apart, as workers record them."""
    for _ in range(times):
        clock.shift(dt.timedelta(seconds=probe.interval_seconds))
        now = timezone.now()
        for region in regions:
            step = StepResult(step="main", outcome=Outcome(outcome), latency_ms=9.0)
            run = Run(
                probe=probe, slot=now, started_at=now, outcome=ProbeOutcome([step])
            )
            results_record(region=region, runs=[run])


def status_of(component: Component) -> str:
    return Component.objects.get(pk=component.pk).status


def verdict_of(component: Component) -> ComponentVerdict:
    # Steady regions decide nothing: a component never changed has a blank verdict.
    found = ComponentVerdict.objects.filter(component=component).first()
    return found or ComponentVerdict(component=component)


def test_it_holds_the_status_and_opens_no_incident_when_only_one_region_speaks(
    clock: Any, login: Component
) -> None:
    probe = make_probe(login)
    report(probe, clock, Outcome.UP, *REGIONS, times=2)
    clock.shift(SILENT)  # the us and ap workers stop; eu sees the target down

    report(probe, clock, Outcome.DOWN, "eu", times=3)

    assert status_of(login) == "operational"  # held, not confirmed either way
    assert not Incident.objects.exists()
    current = verdict_of(login)
    assert current.monitoring_degraded
    # Marked when the eu region's third failure was decided.
    assert current.monitoring_degraded_since == timezone.now()


def test_it_never_auto_resolves_an_incident_while_regions_are_silent(
    clock: Any, login: Component
) -> None:
    """The reported outage: an incident in monitoring, two workers stop, the target
    goes hard down, and the silent regions' last "up" resolved the incident."""
    probe = make_probe(login)
    report(probe, clock, Outcome.DOWN, *REGIONS, times=3)
    assert status_of(login) == "major_outage"
    report(probe, clock, Outcome.UP, *REGIONS, times=2)
    incident = Incident.objects.get(origin=Origin.AUTOMATIC)
    assert incident.status == IncidentStatus.MONITORING
    clock.shift(SILENT)

    report(probe, clock, Outcome.DOWN, "eu", times=3)
    clock.shift(dt.timedelta(seconds=301))
    monitoring_sweep()
    automatic_incidents_resolve()

    assert Incident.objects.get(pk=incident.pk).status == IncidentStatus.MONITORING
    assert verdict_of(login).monitoring_degraded


def test_it_marks_monitoring_degraded_when_regions_go_silent_without_results(
    clock: Any, login: Component, mailoutbox: list[Any]
) -> None:
    probe = make_probe(login)
    report(probe, clock, Outcome.UP, *REGIONS, times=2)
    monitoring_sweep()
    assert not verdict_of(login).monitoring_degraded
    assert mailoutbox == []

    clock.shift(SILENT)
    swept = monitoring_sweep()
    monitoring_sweep()  # told once, not every sweep

    assert swept.decided == [login.pk]
    assert verdict_of(login).monitoring_degraded_since == timezone.now()
    assert status_of(login) == "operational"
    assert [m.subject for m in mailoutbox] == ["Heliograph monitoring degraded"]
    assert mailoutbox[0].to == ["oncall@example.com"]
    assert "Login/logout path" in mailoutbox[0].body

    report(probe, clock, Outcome.UP, "eu", "us", times=1)  # two of three: a quorum
    monitoring_sweep()
    monitoring_sweep()

    assert not verdict_of(login).monitoring_degraded
    assert [m.subject for m in mailoutbox] == [
        "Heliograph monitoring degraded",
        "Heliograph monitoring recovered",
    ]


def test_it_reads_silent_regions_and_degraded_components_at_read_time(
    clock: Any, login: Component
) -> None:
    probe = make_probe(login)
    report(probe, clock, Outcome.UP, *REGIONS, times=1)
    last = timezone.now()
    probes_dispatch()
    clock.shift(SILENT)
    report(probe, clock, Outcome.UP, "eu", times=1)

    # No sweep has run (the beat is stopped): the overview says so by itself.
    overview = selectors.monitoring_overview()

    assert [(s.probe.pk, s.region, s.last_result_at) for s in overview.silent] == [
        (probe.pk, "us", last),
        (probe.pk, "ap", last),
    ]
    assert [(d.component_id, d.since) for d in overview.degraded] == [(login.pk, None)]
    assert overview.region_last_result_at == {
        "eu": timezone.now(),
        "us": last,
        "ap": last,
    }
    assert overview.beat_age == SILENT + dt.timedelta(seconds=60)


def test_it_fails_the_check_command_when_monitoring_is_degraded(
    clock: Any, login: Component, capsys: Any
) -> None:
    probe = make_probe(login)
    report(probe, clock, Outcome.UP, *REGIONS, times=1)
    probes_dispatch()
    call_command("monitoring_check")
    assert "Monitoring is healthy." in capsys.readouterr().out

    clock.shift(SILENT)
    with pytest.raises(CommandError) as refused:
        call_command("monitoring_check")

    assert "Monitoring degraded for Login/logout path" in str(refused.value)
    told = str(refused.value)
    assert "probes were last dispatched 191 s ago (beat, or the worker reading" in told
    assert "Silent: Login/logout path check from us" in capsys.readouterr().out


class Receiver(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]] = []

    def do_POST(self) -> None:  # noqa: N802 (the http.server API)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    Receiver.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hooks/heliograph"
    server.shutdown()
    server.server_close()


def test_it_tells_staff_by_a_signed_webhook(
    clock: Any, login: Component, receiver: str, settings: Any
) -> None:
    settings.STAFF_ALERT_EMAILS = []
    settings.STAFF_ALERT_WEBHOOK_URL = receiver
    settings.STAFF_ALERT_WEBHOOK_SECRET = SECRET
    settings.NOTIFICATIONS_ALLOW_PRIVATE_TARGETS = True
    probe = make_probe(login)
    report(probe, clock, Outcome.UP, *REGIONS, times=1)
    clock.shift(SILENT)

    monitoring_sweep()
    monitoring_sweep()

    assert len(Receiver.received) == 1
    headers, body = Receiver.received[0]
    payload = Signer(SECRET).verify(body, headers)  # raises on a bad signature
    assert payload["type"] == "monitoring.degraded"
    assert json.loads(body)["degraded"] == ["Login/logout path"]


def test_it_keeps_the_alert_to_send_again_when_the_webhook_is_refused(
    clock: Any, login: Component, settings: Any
) -> None:
    settings.STAFF_ALERT_EMAILS = []
    settings.STAFF_ALERT_WEBHOOK_URL = "http://127.0.0.1:9/hooks"
    settings.STAFF_ALERT_WEBHOOK_SECRET = SECRET
    settings.NOTIFICATIONS_ALLOW_PRIVATE_TARGETS = False  # the policy refuses it
    probe = make_probe(login)
    report(probe, clock, Outcome.UP, *REGIONS, times=1)
    clock.shift(SILENT)

    with pytest.raises(Exception, match="Only https:// URLs are allowed"):
        monitoring_sweep()

    assert not verdict_of(login).monitoring_alerted  # told next sweep


def test_it_shows_staff_silent_regions_and_a_stopped_beat_on_the_console(
    admin_client: Any, clock: Any, login: Component
) -> None:
    probe = make_probe(login)
    report(probe, clock, Outcome.UP, *REGIONS, times=1)
    probes_dispatch()
    assert 'data-monitoring="' not in admin_client.get("/admin/").content.decode()

    clock.shift(SILENT)
    report(probe, clock, Outcome.UP, "eu", times=1)
    pages = [
        admin_client.get(url).content.decode()
        for url in (
            "/admin/",
            "/admin/probes/probe/",
            f"/admin/probes/probe/{probe.pk}/change/",
        )
    ]

    for page in pages:
        assert (
            "Probes were last dispatched 4\xa0minutes ago (beat, or the worker" in page
        )
        assert "Region us is silent for Login/logout path check" in page
        assert "Region ap is silent for Login/logout path check" in page
        assert "Monitoring of Login/logout path is degraded" in page


# A journey stopped at an earlier step -------------------------------------------


def journey_run(probe: Probe, steps: list[tuple[str, str, Component]]) -> Run:
    now = timezone.now()
    results = [
        StepResult(
            step=name,
            outcome=Outcome(outcome),
            latency_ms=None if outcome == Outcome.SKIPPED else 9.0,
            component=component.public_id,
        )
        for name, outcome, component in steps
    ]
    return Run(probe=probe, slot=now, started_at=now, outcome=ProbeOutcome(results))


def report_journey(
    clock: Any, journey: Probe, ping: Probe, steps: Any, *, times: int
) -> None:
    """``times`` runs of the journey's ``steps`` (sign in, then the app) and of the
    app's own ping (up), from every region, one interval apart."""
    for _ in range(times):
        clock.shift(dt.timedelta(seconds=journey.interval_seconds))
        for region in REGIONS:
            results_record(region=region, runs=[journey_run(journey, steps)])
            report_now(ping, Outcome.UP, region)


def report_now(probe: Probe, outcome: str, region: str) -> None:
    now = timezone.now()
    step = StepResult(step="main", outcome=Outcome(outcome), latency_ms=9.0)
    run = Run(probe=probe, slot=now, started_at=now, outcome=ProbeOutcome([step]))
    results_record(region=region, runs=[run])


def test_it_says_nothing_of_missing_monitoring_when_a_journey_stops_at_sign_in(
    clock: Any, login: Component
) -> None:
    # Seen in the demo: with sign-in failing, the journey skips its later steps, and
    # the app they feed was reported as "monitoring degraded" though every region
    # ran the journey and the app's own ping was up throughout.
    app = make_component(name="Web app")
    journey, ping = make_probe(login), make_probe(app)
    working = [("sign in", "up", login), ("open the app", "up", app)]
    report_journey(clock, journey, ping, working, times=2)

    failing = [("sign in", "down", login), ("open the app", "skipped", app)]
    report_journey(clock, journey, ping, failing, times=5)  # past the silence window

    assert status_of(login) == "major_outage"
    assert status_of(app) == "operational"
    assert not verdict_of(app).monitoring_degraded
    assert not verdict_of(login).monitoring_degraded
    swept = monitoring_sweep()
    assert (swept.degraded, swept.decided) == ([], [])
    assert selectors.monitoring_overview().silent == []
    # The app's own ping speaks for it: its evidence is fresh.
    assert selectors.components_evidence(timezone.now())[app.pk].delayed_since is None


def test_it_holds_a_failing_step_s_outage_while_the_journey_skips_it(
    clock: Any, login: Component
) -> None:
    app = make_component(name="Web app")
    journey, ping = make_probe(login), make_probe(app)
    broken_app = [("sign in", "up", login), ("open the app", "down", app)]
    report_journey(clock, journey, ping, broken_app, times=3)
    assert status_of(app) == "major_outage"

    failing = [("sign in", "down", login), ("open the app", "skipped", app)]
    report_journey(clock, journey, ping, failing, times=5)

    # The app's ping is up, but the step that found it down has not run since:
    # no recovery on that, and no claim that the monitoring is missing either.
    assert status_of(app) == "major_outage"
    assert not verdict_of(app).monitoring_degraded


def test_it_says_a_component_only_a_skipped_step_checks_is_not_checked_now(
    clock: Any, login: Component
) -> None:
    app = make_component(name="Web app")
    journey = make_probe(login)
    working = [("sign in", "up", login), ("open the app", "up", app)]
    failing = [("sign in", "down", login), ("open the app", "skipped", app)]
    for steps, times in [(working, 2), (failing, 5)]:
        for _ in range(times):
            clock.shift(dt.timedelta(seconds=journey.interval_seconds))
            for region in REGIONS:
                results_record(region=region, runs=[journey_run(journey, steps)])

    evidence = selectors.components_evidence(timezone.now())[app.pk]
    # Held as it was, but not as a fresh verdict: nothing has checked it since the
    # journey started stopping at sign-in, and the page says since when.
    assert status_of(app) == "operational"
    assert evidence.delayed_since is not None
    assert evidence.delayed_since <= timezone.now()
    assert not verdict_of(app).monitoring_degraded  # the monitor itself works
