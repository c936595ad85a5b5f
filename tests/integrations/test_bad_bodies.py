"""Alert bodies with text PostgreSQL cannot store, and a body that fails half-way.

A body is validated whole before anything is written, and recorded in one
transaction: a refused or failed body leaves no trace, so the alerting tool's retry
(of the corrected body) is the only one that counts.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from incidents.models import Component, Incident
from integrations.models import Integration
from probes.models import FiringAlert, Probe, ProbeResult, RegionState
from tests.conftest import make_component
from tests.integrations.conftest import make_alert_probe, post, status_of

pytestmark = pytest.mark.django_db

Pair = tuple[Integration, str]


@pytest.fixture
def api(login: Component) -> Component:
    return make_component(name="API")


@pytest.fixture
def api_alerts(api: Component) -> Probe:
    return make_alert_probe(api, config={"matchers": {"service": "api"}})


def firing(service: str, summary: str = "It fails", **labels: str) -> dict[str, Any]:
    return {
        "status": "firing",
        "labels": {"alertname": f"{service}Down", "service": service, **labels},
        "annotations": {"summary": summary},
    }


def alertmanager_alerts(*alerts: dict[str, Any]) -> dict[str, Any]:
    return {"version": "4", "status": "firing", "alerts": list(alerts)}


def nothing_written(*components: Component) -> None:
    assert not FiringAlert.objects.exists()
    assert not ProbeResult.objects.exists()
    assert not Incident.objects.exists()
    assert all(status_of(component) == "operational" for component in components)


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        (firing("api", summary="half\u0000way"), "alerts.1.annotations"),
        (firing("api", instance="a\ud800b"), "alerts.1.labels"),
        ({**firing("api"), "labels": {"service\u0000": "api"}}, "alerts.1.labels"),
    ],
    ids=["nul-in-summary", "lone-surrogate-in-label", "nul-in-label-name"],
)
def test_it_refuses_a_whole_alertmanager_body_with_text_it_cannot_store(
    alertmanager: Pair,
    login: Component,
    login_alerts: Probe,
    api: Component,
    api_alerts: Probe,
    bad: dict[str, Any],
    field: str,
) -> None:
    integration, secret = alertmanager
    body = alertmanager_alerts(firing("auth"), bad, firing("auth", instance="2"))

    response = post(integration, body, secret=secret)

    assert response.status_code == 400
    assert response.json()["field"] == field
    assert "NUL" in response.json()["reason"]
    nothing_written(login, api)


def test_it_refuses_a_generic_body_whose_summary_holds_a_nul(
    webhook: Pair, login: Component, login_alerts: Probe
) -> None:
    integration, secret = webhook
    alert = {"status": "firing", "labels": {"service": "auth"}, "summary": "a\x00b"}

    response = post(integration, {"alerts": [firing("auth"), alert]}, secret=secret)

    assert response.status_code == 400
    assert response.json()["field"] == "alerts.1.summary"
    nothing_written(login)


def test_it_records_both_alerts_of_the_corrected_body(
    alertmanager: Pair,
    login: Component,
    login_alerts: Probe,
    api: Component,
    api_alerts: Probe,
) -> None:
    integration, secret = alertmanager
    bad = alertmanager_alerts(firing("api", summary="x\u0000"), firing("auth"))
    assert post(integration, bad, secret=secret).status_code == 400

    body = alertmanager_alerts(firing("api", summary="x"), firing("auth"))
    response = post(integration, body, secret=secret)

    assert response.status_code == 200
    assert response.json() == {"alerts": 2, "matched": 2, "probes": 2}
    assert status_of(login) == status_of(api) == "major_outage"
    assert FiringAlert.objects.filter(probe=login_alerts).count() == 1
    assert FiringAlert.objects.filter(probe=api_alerts).count() == 1


def refuse_results_of(probe: Probe) -> None:
    """A PostgreSQL trigger refusing one probe's results: a real failure of the
    database part-way through a body, after another probe's were written."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            CREATE OR REPLACE FUNCTION refuse_result() RETURNS trigger AS $$
            BEGIN
                IF NEW.probe_id = {int(probe.pk)} THEN
                    RAISE EXCEPTION 'disk full';
                END IF;
                RETURN NEW;
            END $$ LANGUAGE plpgsql;
            CREATE TRIGGER refuse_result BEFORE INSERT ON {ProbeResult._meta.db_table}
                FOR EACH ROW EXECUTE FUNCTION refuse_result();
            """
        )


def test_it_writes_nothing_of_a_body_the_database_fails_half_way(
    alertmanager: Pair,
    login: Component,
    login_alerts: Probe,
    api: Component,
    api_alerts: Probe,
) -> None:
    # The later probe (by id) fails, so the earlier one's alerts were written.
    refuse_results_of(api_alerts)
    integration, secret = alertmanager
    url = reverse(
        "integrations:alertmanager", kwargs={"public_id": integration.public_id}
    )
    body = alertmanager_alerts(firing("auth"), firing("api"))
    client = Client(raise_request_exception=False)
    try:
        response = client.post(
            url,
            body,
            content_type="application/json",
            headers={"Authorization": f"Bearer {secret}"},
        )
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                f"DROP TRIGGER refuse_result ON {ProbeResult._meta.db_table}"
            )

    assert response.status_code == 500
    nothing_written(login, api)
    assert not RegionState.objects.exclude(state="up").exists()
    Integration.objects.get(pk=integration.pk)  # still there
