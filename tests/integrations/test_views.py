"""Alert bodies POSTed to the inbound webhooks, through to components and incidents.

The bodies go through the Django test client with CSRF checks on, as an alerting
tool sends them, and then through the real probes, verdict and automation.
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from incidents import services
from incidents.models import Component, Incident, IncidentStatus, Origin
from integrations.models import Integration
from integrations.views import MAX_BODY_BYTES
from probes.automation import automatic_incidents_resolve
from probes.models import ComponentVerdict, FiringAlert, Probe, ProbeResult
from probes.results import verdicts_enforce
from probes.services import probe_update
from tests.conftest import make_component, make_maintenance
from tests.integrations.conftest import (
    HOLD,
    REGIONS,
    alertmanager_body,
    make_alert_probe,
    make_integration,
    post,
    status_of,
)

pytestmark = pytest.mark.django_db

Pair = tuple[Integration, str]


def automatic() -> Incident:
    return Incident.objects.incidents().get(origin=Origin.AUTOMATIC)


def test_it_opens_and_resolves_an_automatic_incident_from_alertmanager(
    alertmanager: Pair, login: Component, login_alerts: Probe
) -> None:
    integration, secret = alertmanager

    response = post(integration, alertmanager_body("firing"), secret=secret)

    assert response.status_code == 200
    assert response.json() == {"alerts": 2, "matched": 2, "probes": 1}
    assert status_of(login) == "major_outage"
    incident = automatic()
    assert incident.name == "Login/logout path down"
    assert incident.status == IncidentStatus.INVESTIGATING
    assert list(incident.components.all()) == [login]
    first = incident.updates.get()
    assert first.body.startswith("Our monitoring found Login/logout path down.")
    result = ProbeResult.objects.filter(probe=login_alerts).first()
    assert result is not None
    assert result.error.startswith("LoginDown: Sign-in fails for")
    assert result.error.endswith("(and 1 more)")
    assert {r.region for r in ProbeResult.objects.filter(probe=login_alerts)} == set(
        REGIONS
    )

    response = post(integration, alertmanager_body("resolved"), secret=secret)

    assert response.status_code == 200
    assert response.json() == {"alerts": 2, "matched": 2, "probes": 1}
    assert status_of(login) == "operational"
    assert automatic().status == IncidentStatus.MONITORING
    monitoring_at = automatic().monitoring_at
    assert monitoring_at is not None
    early = monitoring_at + dt.timedelta(seconds=HOLD - 5)
    assert automatic_incidents_resolve(now=early) == []
    held = monitoring_at + dt.timedelta(seconds=HOLD + 5)
    assert automatic_incidents_resolve(now=held) == [incident]
    assert automatic().status == IncidentStatus.RESOLVED
    assert not FiringAlert.objects.exists()


def test_it_keeps_the_component_down_while_one_alert_still_fires(
    alertmanager: Pair, login: Component, login_alerts: Probe
) -> None:
    integration, secret = alertmanager
    post(integration, alertmanager_body("firing"), secret=secret)
    resolved = alertmanager_body("resolved")
    resolved["alerts"] = resolved["alerts"][:1]  # auth-2 still fails

    post(integration, resolved, secret=secret)

    assert status_of(login) == "major_outage"
    assert automatic().status == IncidentStatus.INVESTIGATING
    held = FiringAlert.objects.get(probe=login_alerts)
    assert held.labels["instance"] == "auth-2.acme.internal:8080"


def test_it_takes_a_repeated_notification_as_the_same_alert(
    alertmanager: Pair, login: Component, login_alerts: Probe
) -> None:
    integration, secret = alertmanager
    post(integration, alertmanager_body("firing"), secret=secret)
    post(integration, alertmanager_body("firing"), secret=secret)  # repeat_interval

    assert FiringAlert.objects.filter(probe=login_alerts).count() == 2
    assert Incident.objects.count() == 1
    assert automatic().updates.count() == 1

    post(integration, alertmanager_body("resolved"), secret=secret)
    assert status_of(login) == "operational"


def test_it_treats_a_generic_webhook_body_as_alertmanager_does(
    webhook: Pair, login: Component, login_alerts: Probe
) -> None:
    integration, secret = webhook
    alert = {
        "status": "firing",
        "labels": {"alertname": "LoginDown", "service": "auth"},
        "summary": "Sign-in fails",
    }

    response = post(integration, {"alerts": [alert]}, secret=secret)

    assert response.status_code == 200
    assert response.json() == {"alerts": 1, "matched": 1, "probes": 1}
    assert status_of(login) == "major_outage"
    assert automatic().status == IncidentStatus.INVESTIGATING
    latest = ProbeResult.objects.filter(probe=login_alerts)[0]
    assert latest.error == "LoginDown: Sign-in fails"

    response = post(integration, {**alert, "status": "resolved"}, secret=secret)

    assert response.json() == {"alerts": 1, "matched": 1, "probes": 1}
    assert status_of(login) == "operational"
    assert automatic().status == IncidentStatus.MONITORING


def test_it_resolves_from_one_tool_what_another_fired(
    alertmanager: Pair, webhook: Pair, login: Component, login_alerts: Probe
) -> None:
    post(alertmanager[0], alertmanager_body("firing"), secret=alertmanager[1])
    for alert in alertmanager_body("resolved")["alerts"]:
        body = {"status": "resolved", "labels": alert["labels"]}
        post(webhook[0], body, secret=webhook[1])

    assert status_of(login) == "operational"


def test_it_changes_nothing_for_alerts_that_match_no_probe(
    alertmanager: Pair, login: Component
) -> None:
    make_alert_probe(login, config={"matchers": {"service": "billing"}})
    integration, secret = alertmanager

    response = post(integration, alertmanager_body("firing"), secret=secret)

    assert response.status_code == 200
    assert response.json() == {"alerts": 2, "matched": 0, "probes": 0}
    assert status_of(login) == "operational"
    assert not Incident.objects.exists()
    assert not ProbeResult.objects.exists()


def test_it_feeds_only_enabled_alert_probes(
    alertmanager: Pair, login: Component, login_alerts: Probe
) -> None:
    probe_update(probe=login_alerts, enabled=False)
    integration, secret = alertmanager

    response = post(integration, alertmanager_body("firing"), secret=secret)

    assert response.json()["matched"] == 0
    assert status_of(login) == "operational"


def test_it_degrades_on_a_warning_and_ignores_informational_alerts(
    webhook: Pair, login: Component, login_alerts: Probe
) -> None:
    integration, secret = webhook
    labels = {"service": "auth", "alertname": "Watchdog", "severity": "none"}
    response = post(integration, {"status": "firing", "labels": labels}, secret=secret)
    assert response.json()["matched"] == 0

    labels = {"service": "auth", "alertname": "LoginSlow", "severity": "warning"}
    post(integration, {"status": "firing", "labels": labels}, secret=secret)

    assert status_of(login) == "degraded_performance"
    assert automatic().name == "Login/logout path degraded"


def test_it_follows_the_probes_down_status_for_a_critical_alert(
    alertmanager: Pair, login: Component
) -> None:
    make_alert_probe(login, down_status="partial_outage")
    integration, secret = alertmanager

    post(integration, alertmanager_body("firing"), secret=secret)

    assert status_of(login) == "partial_outage"


def test_it_resolves_an_alert_a_probe_holds_after_its_matchers_changed(
    alertmanager: Pair, login: Component, login_alerts: Probe
) -> None:
    integration, secret = alertmanager
    post(integration, alertmanager_body("firing"), secret=secret)
    probe_update(probe=login_alerts, config={"matchers": {"service": "sign-in"}})

    post(integration, alertmanager_body("resolved"), secret=secret)

    assert not FiringAlert.objects.exists()
    assert status_of(login) == "operational"


def test_it_feeds_every_alert_probe_an_alert_matches(alertmanager: Pair) -> None:
    login, web = make_component(name="Login"), make_component(name="Web app")
    make_alert_probe(login)
    make_alert_probe(web, config={"matchers": {"job": "auth"}})
    integration, secret = alertmanager

    response = post(integration, alertmanager_body("firing"), secret=secret)

    assert response.json() == {"alerts": 2, "matched": 2, "probes": 2}
    assert status_of(login) == status_of(web) == "major_outage"
    assert set(automatic().components.all()) == {login, web}


def test_it_leaves_a_pinned_component_alone_until_unpinned(
    alertmanager: Pair, login: Component, login_alerts: Probe
) -> None:
    services.component_pin(component=login, pinned=True)
    integration, secret = alertmanager

    post(integration, alertmanager_body("firing"), secret=secret)

    assert status_of(login) == "operational"
    assert not Incident.objects.exists()
    assert ComponentVerdict.objects.get(component=login).status == "major_outage"
    services.component_pin(component=login, pinned=False)
    verdicts_enforce()
    assert status_of(login) == "major_outage"
    assert automatic().components.get() == login


def test_it_changes_nothing_during_maintenance(
    alertmanager: Pair, login: Component, login_alerts: Probe
) -> None:
    start = timezone.now() - dt.timedelta(minutes=5)
    make_maintenance(
        components=[login],
        scheduled_for=start,
        scheduled_until=start + dt.timedelta(hours=1),
    )
    services.maintenance_advance()
    integration, secret = alertmanager

    post(integration, alertmanager_body("firing"), secret=secret)

    assert status_of(login) == "under_maintenance"
    assert not Incident.objects.incidents().exists()


def test_it_notes_when_the_integration_was_last_heard_from(
    alertmanager: Pair,
) -> None:
    integration, secret = alertmanager
    assert integration.last_received_at is None

    post(integration, alertmanager_body("firing"), secret=secret)

    integration.refresh_from_db()
    assert integration.last_received_at is not None


# --- refusals ----------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer not-the-secret",
        "Bearer ",
        "Token the-secret",
        "Basic !!!not-base64",
    ],
)
def test_it_refuses_a_missing_or_wrong_secret(
    alertmanager: Pair, login: Component, login_alerts: Probe, authorization: Any
) -> None:
    integration, _ = alertmanager
    headers = {} if authorization is None else {"Authorization": authorization}

    response = post(integration, alertmanager_body("firing"), secret=None, **headers)

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert status_of(login) == "operational"
    assert not ProbeResult.objects.exists()


def test_it_refuses_another_integrations_secret(alertmanager: Pair) -> None:
    _, other_secret = make_integration(name="Other")

    response = post(alertmanager[0], alertmanager_body("firing"), secret=other_secret)

    assert response.status_code == 401


def test_it_takes_the_secret_as_a_basic_auth_password(
    alertmanager: Pair, login: Component, login_alerts: Probe
) -> None:
    integration, secret = alertmanager
    basic = base64.b64encode(f"alertmanager:{secret}".encode()).decode()

    response = post(
        integration,
        alertmanager_body("firing"),
        secret=None,
        Authorization=f"Basic {basic}",
    )

    assert response.status_code == 200
    assert status_of(login) == "major_outage"


def test_it_answers_404_for_an_unknown_integration(alertmanager: Pair) -> None:
    integration, secret = alertmanager
    unknown = Integration(public_id="nosuchid0000", kind="alertmanager")
    assert post(unknown, {}, secret=secret).status_code == 404
    # The address is per kind: an Alertmanager integration has no generic address.
    as_generic = Integration(public_id=integration.public_id, kind="generic")
    assert post(as_generic, {}, secret=secret).status_code == 404


def test_it_answers_403_for_a_disabled_integration(
    alertmanager: Pair, login: Component, login_alerts: Probe
) -> None:
    integration, secret = alertmanager
    Integration.objects.filter(pk=integration.pk).update(enabled=False)

    response = post(integration, alertmanager_body("firing"), secret=secret)

    assert response.status_code == 403
    assert status_of(login) == "operational"


def test_it_refuses_other_methods(client: Any, alertmanager: Pair) -> None:
    integration, secret = alertmanager
    url = f"/api/v1/integrations/alertmanager/{integration.public_id}"

    for method in (client.get, client.put, client.delete):
        response = method(url, HTTP_AUTHORIZATION=f"Bearer {secret}")
        assert response.status_code == 405
        assert response["Allow"] == "POST"


def _without(field: str) -> dict[str, Any]:
    body = alertmanager_body("firing")
    del body[field]
    return body


def _alert_with(**fields: Any) -> dict[str, Any]:
    body = alertmanager_body("firing")
    body["alerts"][1].update(fields)
    return body


@pytest.mark.parametrize(
    ("body", "raw", "field"),
    [
        (None, b"{not json", "body"),
        (None, b"\xff\xfe\x00garbage", "body"),
        (None, b"[" * 100_000 + b"]" * 100_000, "body"),
        ([1, 2], None, "body"),
        (_without("version"), None, "version"),
        ({**alertmanager_body("firing"), "version": "3"}, None, "version"),
        (_without("alerts"), None, "alerts"),
        ({**alertmanager_body("firing"), "alerts": {}}, None, "alerts"),
        ({**alertmanager_body("firing"), "alerts": ["x"]}, None, "alerts.0"),
        (_alert_with(status="pending"), None, "alerts.1.status"),
        (_alert_with(labels=None), None, "alerts.1.labels"),
        (_alert_with(labels={}), None, "alerts.1.labels"),
        (_alert_with(labels={"severity": 2}), None, "alerts.1.labels"),
        (_alert_with(annotations=["summary"]), None, "alerts.1.annotations"),
    ],
)
def test_it_refuses_a_malformed_alertmanager_body_with_the_field(
    alertmanager: Pair,
    login: Component,
    login_alerts: Probe,
    body: Any,
    raw: bytes | None,
    field: str,
) -> None:
    integration, secret = alertmanager

    response = post(integration, body, secret=secret, raw=raw)

    assert response.status_code == 400
    assert response.json()["field"] == field
    assert response.json()["reason"]
    assert status_of(login) == "operational"
    assert not FiringAlert.objects.exists()  # the first alert was not taken either


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"labels": {"service": "auth"}}, "status"),
        ({"status": "firing"}, "labels"),
        ({"status": "firing", "labels": {"a": "b"}, "summary": 5}, "summary"),
        ({"alerts": [{"status": "firing", "labels": []}]}, "alerts.0.labels"),
    ],
)
def test_it_refuses_a_malformed_generic_body_with_the_field(
    webhook: Pair, body: Any, field: str
) -> None:
    integration, secret = webhook

    response = post(integration, body, secret=secret)

    assert response.status_code == 400
    assert response.json()["field"] == field


def test_it_refuses_an_oversized_body(
    alertmanager: Pair, login: Component, login_alerts: Probe
) -> None:
    integration, secret = alertmanager
    body = alertmanager_body("firing")
    body["commonAnnotations"]["padding"] = "x" * MAX_BODY_BYTES

    response = post(integration, body, secret=secret)

    assert response.status_code == 413
    assert status_of(login) == "operational"
