"""/metrics: what Prometheus reads from the database, and who may read it."""

from __future__ import annotations

import datetime as dt
import ipaddress
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families

from incidents import services
from incidents.models import Component
from notifications.models import Channel, Delivery, Event, Subscriber
from probes.kinds.base import Outcome, ProbeOutcome, StepResult
from probes.models import Probe
from probes.results import Run, results_record
from probes.services import probe_create
from statuspage import settings as heliograph_settings
from tests.conftest import make_component, make_group, make_incident, make_maintenance
from tokens.models import ApiToken
from tokens.services import token_create, token_revoke

pytestmark = pytest.mark.django_db

METRICS = "/metrics"
Families = dict[str, list[Any]]


@pytest.fixture(autouse=True)
def regions(settings: Any) -> None:
    settings.PROBE_REGIONS = ["eu", "us"]


@pytest.fixture
def allow_local(settings: Any) -> None:
    settings.METRICS_ALLOWED_IPS = [ipaddress.ip_network("127.0.0.1/32")]


def make_token(scope: str = "read") -> tuple[ApiToken, str]:
    user = User.objects.create_user(f"scraper{User.objects.count()}", is_staff=True)
    user.groups.add(Group.objects.get(name="viewer"))
    return token_create(user=user, name="prometheus", scope=scope)


def make_probe(component: Component, **overrides: Any) -> Probe:
    fields: dict[str, Any] = {
        "name": f"{component.name} check",
        "kind": "http",
        "component": component,
        "config": {"url": "http://127.0.0.1:9/"},
        "regions": ["eu", "us"],
    }
    fields.update(overrides)
    probe, _ = probe_create(**fields)
    return probe


def record(
    probe: Probe,
    outcome: Outcome,
    *,
    region: str = "eu",
    latency_ms: float | None = 100.0,
    ago: dt.timedelta = dt.timedelta(),
) -> None:
    """One run of ``probe``, stored the way a worker stores it."""
    started_at = timezone.now() - ago
    step = StepResult(step="main", outcome=outcome, latency_ms=latency_ms)
    run = Run(probe, started_at, started_at, ProbeOutcome(steps=[step]))
    results_record(region=region, runs=[run])


def make_subscriber(**overrides: Any) -> Subscriber:
    fields: dict[str, Any] = {
        "channel": Channel.WEBHOOK,
        "email": "ops@acme.test",
        "url": "https://hooks.acme.test/status",
        "state": "active",
    }
    fields.update(overrides)
    return Subscriber.objects.create(**fields)


def make_delivery(subscriber: Subscriber, **overrides: Any) -> Delivery:
    event = Event.objects.create(
        kind="incident.created", subject="[Acme] Elevated error rates", payload={}
    )
    return Delivery.objects.create(event=event, subscriber=subscriber, **overrides)


def scrape(client: Client, **headers: Any) -> Families:
    """The exposition, parsed: family name -> its samples."""
    response = client.get(METRICS, **headers)
    assert response.status_code == 200, response.content
    families = text_string_to_metric_families(response.content.decode())
    return {family.name: family.samples for family in families}


def matching(families: Families, name: str, **labels: str) -> list[float]:
    """The values of ``name``'s samples whose labels include ``labels``."""
    return [
        float(sample.value)
        for sample in families[name]
        if labels.items() <= sample.labels.items()
    ]


def value(families: Families, name: str, **labels: str) -> float:
    (only,) = matching(families, name, **labels)
    return only


def test_it_shows_each_components_current_status_one_hot(
    client: Client, allow_local: None
) -> None:
    group = make_group(name="Acme product")
    api = make_component(name="API", group=group)
    make_component(name="Web")
    gone = make_component(name="Legacy")
    services.component_delete(component=gone)
    services.component_set_status(component=api, status="major_outage", source="api")

    families = scrape(client)

    status = "heliograph_component_status"
    assert value(families, status, component_id=api.public_id, status="major_outage")
    assert not value(families, status, component_id=api.public_id, status="operational")
    labels = {"component": "API", "group": "Acme product", "status": "major_outage"}
    assert value(families, status, **labels) == 1
    assert value(families, status, component="Web", group="", status="operational")
    assert {s.labels["component"] for s in families[status]} == {"API", "Web"}
    assert len(families[status]) == 2 * 5  # every status of every live component
    group_status = "heliograph_component_group_status"
    assert value(
        families, group_status, group_id=group.public_id, status="major_outage"
    )


def test_it_counts_open_incidents_by_impact_and_all_by_kind_and_status(
    client: Client, allow_local: None
) -> None:
    api = make_component(name="API")
    make_incident(component_statuses={api: "major_outage"})
    make_incident(name="Slow pages", impact_override="minor")
    resolved = make_incident(name="Earlier outage")
    services.incident_post_update(incident=resolved, status="resolved", body="Fixed.")
    make_maintenance()

    families = scrape(client)

    unresolved = "heliograph_incidents_open"
    assert value(families, unresolved, impact="critical") == 1  # a major outage
    assert value(families, unresolved, impact="minor") == 1
    assert value(families, unresolved, impact="major") == 0
    assert value(families, unresolved, impact="none") == 0  # resolved: not open
    incidents = "heliograph_incidents"
    assert value(families, incidents, kind="incident", status="investigating") == 2
    assert value(families, incidents, kind="incident", status="resolved") == 1
    assert value(families, incidents, kind="maintenance", status="scheduled") == 1
    assert value(families, incidents, kind="maintenance", status="completed") == 0


def test_it_shows_each_probes_last_latency_and_recent_outcomes(
    client: Client, allow_local: None
) -> None:
    probe = make_probe(make_component(name="API"))
    record(probe, Outcome.UP, latency_ms=90, ago=dt.timedelta(hours=2))
    record(probe, Outcome.UP, latency_ms=120, ago=dt.timedelta(minutes=2))
    record(probe, Outcome.DOWN, latency_ms=None, ago=dt.timedelta(minutes=1))
    record(probe, Outcome.UP, latency_ms=250, region="us")
    last_eu = probe.results.filter(region="eu").latest("started_at").started_at

    families = scrape(client)

    us = {"probe_id": probe.public_id, "region": "us", "step": "main"}
    eu = {**us, "region": "eu"}
    assert value(families, "heliograph_probe_latency_seconds", **us) == 0.25
    # The last run in eu timed out: no latency rather than an old one.
    assert matching(families, "heliograph_probe_latency_seconds", **eu) == []
    last = "heliograph_probe_last_result_timestamp_seconds"
    assert value(families, last, **eu) == pytest.approx(last_eu.timestamp())
    results = "heliograph_probe_results_last_hour"
    assert value(families, results, **eu, outcome="up") == 1  # not the one 2 h ago
    assert value(families, results, **eu, outcome="down") == 1
    assert value(families, results, **us, outcome="up") == 1
    assert value(families, results, **us, outcome="degraded") == 0


def test_it_leaves_out_disabled_probes(client: Client, allow_local: None) -> None:
    probe = make_probe(make_component(name="API"))
    record(probe, Outcome.UP)
    Probe.objects.filter(pk=probe.pk).update(enabled=False)

    families = scrape(client)

    assert families["heliograph_probe_latency_seconds"] == []
    assert families["heliograph_probe_results_last_hour"] == []


def test_it_leaves_alert_probes_out_of_latency_and_last_result(
    client: Client, allow_local: None
) -> None:
    from probes.services import PushedAlert, alerts_record

    make_probe(
        make_component(name="Login"),
        kind="alert",
        config={"matchers": {"alertname": "LoginDown"}},
    )
    alerts_record(alerts=[PushedAlert("f1", {"alertname": "LoginDown"}, firing=True)])

    families = scrape(client)

    assert families["heliograph_probe_latency_seconds"] == []
    assert families["heliograph_probe_last_result_timestamp_seconds"] == []
    outcomes = families["heliograph_probe_results_last_hour"]
    assert any(sample.value == 1 for sample in outcomes)


def test_it_counts_deliveries_and_subscribers_by_channel_and_state(
    client: Client, allow_local: None
) -> None:
    hook = make_subscriber()
    make_delivery(hook, state="failed", attempts=5)
    make_delivery(hook, state="delivered")
    make_delivery(make_subscriber(url="https://b.acme.test/"), state="failed")
    make_subscriber(
        channel=Channel.EMAIL, email="ada@acme.test", url="", state="pending"
    )

    families = scrape(client)

    deliveries = "heliograph_deliveries"
    assert value(families, deliveries, channel="webhook", state="failed") == 2
    assert value(families, deliveries, channel="webhook", state="delivered") == 1
    assert value(families, deliveries, channel="email", state="failed") == 0
    assert len(families[deliveries]) == 4 * 5  # every channel and state, zero or not
    subscribers = "heliograph_subscribers"
    assert value(families, subscribers, channel="webhook", state="active") == 2
    assert value(families, subscribers, channel="email", state="pending") == 1


@pytest.mark.parametrize("keyword", ["Bearer", "OAuth"])
def test_it_admits_a_live_token_of_read_scope(client: Client, keyword: str) -> None:
    make_component(name="API")
    _, plaintext = make_token()

    families = scrape(client, HTTP_AUTHORIZATION=f"{keyword} {plaintext}")

    assert value(families, "heliograph_component_status", status="operational") == 1


def test_it_admits_an_allow_listed_address_without_a_token(
    client: Client, settings: Any
) -> None:
    settings.METRICS_ALLOWED_IPS = [ipaddress.ip_network("10.1.0.0/16")]

    assert client.get(METRICS, REMOTE_ADDR="10.1.2.3").status_code == 200
    # A dual-stack socket reports an IPv4 client as an IPv4-mapped IPv6 address.
    assert client.get(METRICS, REMOTE_ADDR="::ffff:10.1.2.3").status_code == 200
    assert client.get(METRICS, REMOTE_ADDR="10.2.0.1").status_code == 401


def test_it_refuses_a_request_with_neither_token_nor_allowed_address(
    client: Client, settings: Any
) -> None:
    settings.METRICS_ALLOWED_IPS = []

    response = client.get(METRICS, HTTP_X_FORWARDED_FOR="127.0.0.1")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert response.content == b"Authentication credentials were not provided.\n"
    assert "no-store" in response["Cache-Control"]


@pytest.mark.parametrize(
    ("authorization", "reason"),
    [
        ("Bearer hg_not-a-token", "Unknown API token."),
        ("Bearer two words", "Malformed Authorization header"),
        ("Basic YWRhOnNlY3JldA==", "Authentication credentials were not provided."),
    ],
)
def test_it_refuses_a_bad_authorization_header(
    client: Client, authorization: str, reason: str
) -> None:
    response = client.get(METRICS, HTTP_AUTHORIZATION=authorization)

    assert response.status_code == 401
    assert response.content.decode().startswith(reason)


def test_it_refuses_a_revoked_token(client: Client) -> None:
    token, plaintext = make_token()
    token_revoke(token=token)

    response = client.get(METRICS, HTTP_AUTHORIZATION=f"Bearer {plaintext}")

    assert response.status_code == 401
    assert response.content == b"This API token has been revoked.\n"


def test_it_answers_get_only_with_prometheus_content_and_no_caching(
    client: Client, allow_local: None
) -> None:
    response = client.get(METRICS)

    assert response["Content-Type"] == CONTENT_TYPE_LATEST
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]
    assert client.post(METRICS).status_code == 405
    assert client.put(METRICS).status_code == 405


def populate(scale: int) -> None:
    """``scale`` groups of components with probes, incidents and deliveries."""
    for number in range(scale):
        group = make_group(name=f"Group {number}")
        subscriber = make_subscriber(url=f"https://hooks{number}.acme.test/")
        for part in range(3):
            component = make_component(name=f"Part {number}.{part}", group=group)
            probe = make_probe(component)
            for region in ("eu", "us"):
                down = {"latency_ms": None, "ago": dt.timedelta(minutes=1)}
                record(probe, Outcome.DOWN, region=region, **down)
                record(probe, Outcome.UP, region=region)
            make_incident(name=f"Outage {number}.{part}")
            make_delivery(subscriber, state="delivered")


def test_it_reads_a_fixed_number_of_queries_whatever_the_rows(
    client: Client, allow_local: None, django_assert_max_num_queries: Any
) -> None:
    populate(1)
    with CaptureQueriesContext(connection) as few:
        scrape(client)
    populate(10)

    with django_assert_max_num_queries(len(few.captured_queries)):
        families = scrape(client)

    # Six, and the monitoring's own: states, probes, the beat's last dispatch,
    # the dropped slots.
    assert len(few.captured_queries) <= 10
    assert len(families["heliograph_component_status"]) == 33 * 5
    assert len(families["heliograph_probe_latency_seconds"]) == 33 * 2


def test_it_reads_the_allow_list_and_refuses_malformed_entries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "METRICS_ALLOWED_IPS", " 10.0.0.5, 192.168.0.0/16,2001:db8::/32 "
    )
    assert heliograph_settings.env_networks("METRICS_ALLOWED_IPS") == [
        ipaddress.ip_network("10.0.0.5/32"),
        ipaddress.ip_network("192.168.0.0/16"),
        ipaddress.ip_network("2001:db8::/32"),
    ]
    monkeypatch.setenv("METRICS_ALLOWED_IPS", "10.0.0.0/8,prometheus.internal")
    with pytest.raises(ImproperlyConfigured, match="'prometheus.internal'"):
        heliograph_settings.env_networks("METRICS_ALLOWED_IPS")
    monkeypatch.delenv("METRICS_ALLOWED_IPS")
    assert heliograph_settings.env_networks("METRICS_ALLOWED_IPS") == []


def test_it_shows_silent_regions_degraded_monitoring_and_the_beats_age(
    client: Client, allow_local: None
) -> None:
    from probes.scheduler import probes_dispatch

    web = make_component(name="Web app")
    probe = make_probe(web)
    hour = dt.timedelta(hours=1)
    record(probe, Outcome.UP, region="eu", ago=hour)  # the eu worker stopped then
    record(probe, Outcome.UP, region="us")
    probes_dispatch(now=timezone.now() - dt.timedelta(minutes=10))  # the beat's last

    families = scrape(client)

    silent = "heliograph_region_silent"
    assert value(families, silent, probe_id=probe.public_id, region="eu") == 1
    assert value(families, silent, probe_id=probe.public_id, region="us") == 0
    # Two regions, a majority of two: one speaking is too few to decide.
    degraded = "heliograph_monitoring_degraded"
    assert value(families, degraded, component_id=web.public_id) == 1
    age = "heliograph_region_last_result_age_seconds"
    assert 3600 <= value(families, age, region="eu") < 3660
    assert value(families, age, region="us") < 60
    assert 600 <= value(families, "heliograph_beat_last_tick_age_seconds") < 660

    record(probe, Outcome.UP, region="eu")
    families = scrape(client)
    assert value(families, silent, probe_id=probe.public_id, region="eu") == 0
    assert value(families, degraded, component_id=web.public_id) == 0


def test_it_counts_the_slots_each_region_dropped_as_too_late(
    client: Client, allow_local: None
) -> None:
    from probes import runner

    families = scrape(client)
    dropped = "heliograph_probe_slots_dropped"  # samples: ..._total
    # Each listed region is there from 0, so increase() sees its first drops.
    assert value(families, dropped, region="eu") == 0
    assert value(families, dropped, region="us") == 0

    probe = make_probe(make_component(name="Web app"), interval_seconds=60)
    long_ago = timezone.now() - dt.timedelta(minutes=5)
    slots = [
        (probe.pk, (long_ago + dt.timedelta(seconds=n)).isoformat()) for n in (0, 1)
    ]
    assert runner.probes_run_batch(region="eu", items=slots) == []
    assert runner.probes_run_batch(region="us", items=slots[:1]) == []
    assert runner.probes_run_batch(region="eu", items=slots[1:]) == []

    families = scrape(client)

    assert value(families, dropped, region="eu") == 3
    assert value(families, dropped, region="us") == 1
    last = value(
        families, "heliograph_probe_slots_last_dropped_timestamp_seconds", region="eu"
    )
    assert abs(last - timezone.now().timestamp()) < 60
    assert not Probe.objects.get(pk=probe.pk).results.exists()
