"""Management API v1: probes, their latest state per region, and their results."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from pytest_httpserver import HTTPServer

from incidents.models import Component
from probes import runner
from probes.kinds.base import Outcome, ProbeOutcome, StepResult
from probes.models import Probe, ProbeResult
from probes.results import Run, results_record
from probes.services import probe_create
from tests.api_helpers import api_client, body, v1
from tests.conftest import make_component, make_group

pytestmark = pytest.mark.django_db

REGIONS = ["eu", "us"]


@pytest.fixture(autouse=True)
def probe_regions(settings: Any) -> None:
    settings.PROBE_REGIONS = REGIONS


def make_probe(component: Component | None = None, **fields: Any) -> Probe:
    values: dict[str, Any] = {
        "name": "Front page",
        "kind": "http",
        "config": {"url": "http://127.0.0.1:9/health"},
    }
    values.update(fields)
    probe, _ = probe_create(component=component or make_component(), **values)
    return probe


def report(
    probe: Probe, region: str, outcome: str, at: dt.datetime, latency: float = 12.5
) -> None:
    """One run of ``probe`` from ``region``, recorded as the worker records it."""
    step = StepResult(step="main", outcome=Outcome(outcome), latency_ms=latency)
    run = Run(probe=probe, slot=at, started_at=at, outcome=ProbeOutcome(steps=[step]))
    results_record(region=region, runs=[run])


def count_queries(api: Any, path: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert api.get(path).status_code == 200
    return len(captured)


def test_it_creates_an_http_probe_that_checks_a_real_server_and_reads_it_back(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request("/health").respond_with_data("fine")
    web = make_component(name="Web app")
    api = api_client()
    wrapped = {
        "probe": {
            "name": "Front page",
            "kind": "http",
            "component_id": web.public_id,
            "config": {"url": httpserver.url_for("/health"), "body_contains": "fine"},
            "interval_seconds": 30,
            "regions": ["eu"],
        }
    }
    response = api.post(v1("probes"), wrapped, format="json")
    assert response.status_code == 201, response.content
    created = body(response)
    assert created["component_id"] == web.public_id
    assert created["config"]["method"] == "GET"  # normalised by the kind
    assert created["interval_seconds"] == 30 and created["enabled"] is True
    assert "heartbeat_url" not in created and "heartbeat_token" not in created
    [silent] = created["latest"]
    assert silent["region"] == "eu" and silent["state"] == "up"
    assert silent["checked_at"] is None
    assert silent["silent"] is True

    probe = Probe.objects.get(public_id=created["id"])
    runner.probes_run_batch(
        region="eu", items=[(probe.pk, probe.next_due_at.isoformat())]
    )

    read = body(api.get(v1(f"probes/{created['id']}")))
    [eu] = read["latest"]
    assert eu["step"] == "main" and eu["outcome"] == "up"
    assert eu["latency_ms"] > 0 and eu["checked_at"] is not None
    assert eu["silent"] is False
    assert eu["consecutive_successes"] == 1 and eu["consecutive_failures"] == 0
    assert read["name"] == "Front page" and read["kind"] == "http"


def test_it_answers_400_naming_the_config_field_the_kind_refuses() -> None:
    web = make_component(name="Web app")
    api = api_client()

    def refused(probe: dict[str, Any]) -> dict[str, list[str]]:
        fields = {
            "name": "x",
            "kind": "http",
            "component_id": web.public_id,
            "config": {"url": "http://127.0.0.1:9/"},
        }
        response = api.post(v1("probes"), {"probe": fields | probe}, format="json")
        assert response.status_code == 400, response.content
        return dict(body(response)["errors"])

    errors = refused({"config": {"method": "FETCH"}})
    assert errors["probe.config.url"] == ["is required"]
    assert errors["probe.config.method"][0].startswith("must be one of GET")
    journey = {"steps": [{"name": "sign in", "url": "ftp://acme.test/"}]}
    errors = refused({"kind": "journey", "config": journey})
    assert "probe.config.steps.0.url" in errors
    errors = refused({"kind": "journey", "config": {"steps": [{"component": "Nope"}]}})
    assert "probe.config.steps.0.component" in errors
    assert "probe.config" in refused({"config": ["not", "an", "object"]})
    assert "probe.component_id" in refused({"component_id": "nosuchcompo"})
    assert "probe.regions" in refused({"regions": ["mars"]})
    repeated = refused({"regions": ["eu", "eu", "eu"], "quorum": 3})
    assert repeated["probe.regions"] == ["List each region once: eu is repeated."]
    assert "probe.quorum" in refused({"regions": ["eu"], "quorum": 2})
    assert "probe.kind" in refused({"kind": "carrier-pigeon"})
    assert not Probe.objects.exists()


def test_it_shows_a_heartbeat_token_once_and_never_again() -> None:
    api = api_client()
    response = api.post(
        v1("probes"),
        {
            "name": "Nightly backup",
            "kind": "heartbeat",
            "component_id": make_component(name="Backups").public_id,
            "config": {"period_seconds": 86400},
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    created = body(response)
    token = created["heartbeat_token"]
    assert created["heartbeat_url"].endswith(f"/heartbeat/{token}")
    assert Client().post(f"/heartbeat/{token}").status_code == 200

    later = api.get(v1(f"probes/{created['id']}"))
    assert "heartbeat_token" not in body(later) and "heartbeat_url" not in body(later)
    assert token not in later.content.decode()
    assert token not in api.get(v1("probes")).content.decode()


def test_it_changes_the_interval_and_disables_a_probe() -> None:
    probe = make_probe()
    api = api_client()
    response = api.patch(
        v1(f"probes/{probe.public_id}"),
        {"probe": {"interval_seconds": 300}},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert body(response)["interval_seconds"] == 300
    response = api.put(
        v1(f"probes/{probe.public_id}"), {"enabled": False}, format="json"
    )
    assert response.status_code == 200, response.content
    probe.refresh_from_db()
    assert (probe.interval_seconds, probe.enabled) == (300, False)
    assert probe.config["url"] == "http://127.0.0.1:9/health"  # left as it was

    for interval in (0, "300"):  # out of range; not a JSON number
        response = api.patch(
            v1(f"probes/{probe.public_id}"),
            {"interval_seconds": interval},
            format="json",
        )
        assert response.status_code == 400
        assert "probe.interval_seconds" in body(response)["errors"]
    response = api.patch(
        v1(f"probes/{probe.public_id}"), {"kind": "heartbeat"}, format="json"
    )
    assert response.status_code == 400
    assert "probe.kind" in body(response)["errors"]


def test_it_deletes_a_probe_and_answers_404_after() -> None:
    probe = make_probe()
    api = api_client()
    assert api.delete(v1(f"probes/{probe.public_id}")).status_code == 204
    assert not Probe.objects.filter(pk=probe.pk).exists()
    assert api.get(v1(f"probes/{probe.public_id}")).status_code == 404
    assert api.get(v1(f"probes/{probe.public_id}/results")).status_code == 404
    missing = api.patch(v1("probes/nosuchprobe1"), {"enabled": False}, format="json")
    assert missing.status_code == 404
    assert "error" in body(missing)


def test_it_shows_each_region_as_the_verdict_counts_it() -> None:
    probe = make_probe(regions=REGIONS, failures_to_down=2)
    start = timezone.now() - dt.timedelta(minutes=5)
    report(probe, "eu", "down", start, latency=900)
    report(probe, "eu", "down", start + dt.timedelta(minutes=1), latency=950)
    report(probe, "us", "up", start)

    latest = body(api_client("read").get(v1(f"probes/{probe.public_id}")))["latest"]

    eu, us = latest
    assert (eu["region"], eu["state"], eu["consecutive_failures"]) == ("eu", "down", 2)
    assert eu["outcome"] == "down" and eu["latency_ms"] == 950
    assert eu["state_since"] is not None
    assert (us["region"], us["state"], us["outcome"]) == ("us", "up", "up")


def test_it_lists_results_newest_first_with_filters() -> None:
    probe = make_probe(regions=REGIONS)
    start = timezone.now() - dt.timedelta(hours=1)
    for minute, (region, outcome) in enumerate(
        [("eu", "up"), ("us", "down"), ("eu", "down"), ("us", "up")]
    ):
        report(probe, region, outcome, start + dt.timedelta(minutes=minute))
    api = api_client("read")
    path = v1(f"probes/{probe.public_id}/results")

    response = api.get(path)
    assert response.status_code == 200
    rows = body(response)
    assert [(r["region"], r["outcome"]) for r in rows] == [
        ("us", "up"),
        ("eu", "down"),
        ("us", "down"),
        ("eu", "up"),
    ]
    assert rows[0]["component_id"] == probe.component.public_id
    assert response["X-Total-Count"] == "4"

    def listed(query: str) -> list[tuple[str, str]]:
        return [(r["region"], r["outcome"]) for r in body(api.get(f"{path}?{query}"))]

    assert listed("region=eu") == [("eu", "down"), ("eu", "up")]
    assert listed("outcome=down") == [("eu", "down"), ("us", "down")]
    since = (start + dt.timedelta(minutes=2)).isoformat()
    assert listed(f"since={since.replace('+', '%2B')}") == [
        ("us", "up"),
        ("eu", "down"),
    ]
    paged = api.get(f"{path}?per_page=1&page=2")
    assert [r["outcome"] for r in body(paged)] == ["down"]
    assert 'rel="next"' in paged["Link"]
    for bad in ("outcome=sideways", "since=yesterday", "per_page=0"):
        response = api.get(f"{path}?{bad}")
        assert response.status_code == 400, bad
        assert bad.split("=")[0] in body(response)["errors"]


def test_it_filters_probes_by_component_kind_and_enabled() -> None:
    web, api_component = make_component(name="Web"), make_component(name="API")
    make_probe(web, name="Front page")
    make_probe(api_component, name="Port", kind="tcp", config={"host": "a", "port": 1})
    make_probe(api_component, name="Old", enabled=False)
    api = api_client("read")

    def names(query: str) -> list[str]:
        response = api.get(f"{v1('probes')}?{query}")
        assert response.status_code == 200, response.content
        return [row["name"] for row in body(response)]

    assert names("") == ["Front page", "Old", "Port"]
    assert names(f"component_id={api_component.public_id}") == ["Old", "Port"]
    assert names("kind=tcp") == ["Port"]
    assert names("enabled=false") == ["Old"]
    assert names("enabled=true&kind=http") == ["Front page"]
    assert names("component_id=nosuchcompo") == []
    for bad in ("kind=pigeon", "enabled=maybe"):
        response = api.get(f"{v1('probes')}?{bad}")
        assert response.status_code == 400
        assert bad.split("=")[0] in body(response)["errors"]


def test_it_lets_a_read_token_read_but_not_write() -> None:
    probe = make_probe()
    api = api_client("read", username="dashboard")
    assert api.get(v1("probes")).status_code == 200
    assert api.get(v1(f"probes/{probe.public_id}/results")).status_code == 200
    created = api.post(
        v1("probes"),
        {"name": "x", "kind": "http", "component_id": probe.component.public_id},
        format="json",
    )
    assert created.status_code == 403
    path = v1(f"probes/{probe.public_id}")
    assert api.patch(path, {"enabled": False}, format="json").status_code == 403
    assert api.delete(path).status_code == 403
    probe.refresh_from_db()
    assert probe.enabled and Probe.objects.count() == 1


def test_it_lists_probes_in_a_constant_number_of_queries() -> None:
    api = api_client("read")
    group = make_group(name="Acme")
    now = timezone.now()

    def add_probe(index: int) -> None:
        component = make_component(name=f"c{index}", group=group)
        probe = make_probe(component, name=f"p{index}", regions=REGIONS)
        for region in REGIONS:
            report(probe, region, "up", now)

    add_probe(0)
    count_queries(api, v1("probes"))  # the token's first use writes last_used_at
    few = count_queries(api, v1("probes"))
    for index in range(1, 16):
        add_probe(index)
    assert count_queries(api, v1("probes")) == few
    assert len(body(api.get(v1("probes")))[15]["latest"]) == 2


def test_it_lists_results_in_a_constant_number_of_queries() -> None:
    api = api_client("read")
    probe = make_probe(regions=REGIONS)
    path = v1(f"probes/{probe.public_id}/results")
    start = timezone.now() - dt.timedelta(hours=1)
    report(probe, "eu", "up", start)
    count_queries(api, path)  # the token's first use writes last_used_at
    few = count_queries(api, path)
    for minute in range(1, 21):
        report(probe, REGIONS[minute % 2], "up", start + dt.timedelta(minutes=minute))
    assert count_queries(api, path) == few
    assert ProbeResult.objects.filter(probe=probe).count() == 21


def test_it_answers_400_not_500_for_configs_the_kinds_cannot_read() -> None:
    web = make_component(name="Web app")
    api = api_client()
    journey_step = {"name": "a", "url": "http://a/", "extract": [{"from": ["html"]}]}
    cases = [
        ("http", {"url": "http://[::1/health"}, "probe.config.url"),
        ("journey", {"steps": [journey_step]}, "probe.config.steps.0.extract.0.from"),
        ("http", {"url": "http://a/", "headers": {"X": "a\x00b"}}, "probe.config"),
    ]
    for kind, config, field in cases:
        probe = {"name": "x", "kind": kind, "component_id": web.public_id}
        response = api.post(
            v1("probes"), {"probe": probe | {"config": config}}, format="json"
        )
        assert response.status_code == 400, response.content
        assert field in body(response)["errors"]
    assert api.get(v1("probes/a%00b")).status_code == 404
