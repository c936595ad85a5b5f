"""Probes in the staff console: saved through the service, results shown, no secrets."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp import web
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from incidents.models import Component
from probes.models import Probe, ProbeResult
from probes.runner import probes_run_batch
from probes.services import probe_create
from tests.conftest import make_component
from tests.probes.conftest import bind_secrets

pytestmark = pytest.mark.django_db

ADD = reverse("admin:probes_probe_add")
LIST = reverse("admin:probes_probe_changelist")
SECRET = "hunter2-secret"


@pytest.fixture(autouse=True)
def probe_settings(settings: Any) -> None:
    settings.PROBE_REGIONS = ["local"]
    settings.PROBE_SECRETS = {"DEMO_PASSWORD": SECRET}


def change_url(probe: Probe) -> str:
    return reverse("admin:probes_probe_change", args=[probe.pk])


def probe_form(component: Component, **overrides: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "name": "Front page",
        "kind": "http",
        "component": component.pk,
        "config": json.dumps({"url": "http://acme.test/"}),
        "down_status": "major_outage",
        "interval_seconds": 60,
        "timeout_seconds": 10,
        "failures_to_down": 3,
        "successes_to_up": 2,
        "regions": json.dumps(["local"]),
        "quorum": "",
        "enabled": "on",
    }
    form.update(overrides)
    return form


def test_it_creates_a_probe_from_the_add_form(admin_client: Client) -> None:
    api = make_component(name="API")
    assert admin_client.get(ADD).status_code == 200
    response = admin_client.post(ADD, probe_form(api))
    assert response.status_code == 302, response.content.decode()[:2000]
    probe = Probe.objects.get()
    assert (probe.name, probe.kind, probe.component) == ("Front page", "http", api)
    assert probe.config["method"] == "GET"  # normalised by the service's check


def test_it_shows_a_repeated_region_on_the_form(admin_client: Client) -> None:
    api = make_component(name="API")
    form = probe_form(api, regions=json.dumps(["local", "local"]), quorum="2")
    response = admin_client.post(ADD, form)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "local is repeated" in str(errors["regions"])
    assert not Probe.objects.exists()


def test_it_shows_a_bad_config_on_the_form(admin_client: Client) -> None:
    api = make_component(name="API")
    form = probe_form(api, config=json.dumps({"method": "GET"}))
    response = admin_client.post(ADD, form)
    assert response.status_code == 200
    assert "url is required" in response.content.decode()
    assert "url is required" in str(response.context["adminform"].form.errors["config"])
    assert not Probe.objects.exists()


def test_it_shows_a_missing_step_component_on_the_form(admin_client: Client) -> None:
    login = make_component(name="Login")
    config = {"steps": [{"name": "x", "url": "http://acme.test/", "component": "Nope"}]}
    response = admin_client.post(
        ADD, probe_form(login, kind="journey", config=json.dumps(config))
    )
    assert response.status_code == 200
    assert "steps.0.component: no component" in response.content.decode()
    assert not Probe.objects.exists()


def test_it_shows_an_unknown_region_on_the_form(admin_client: Client) -> None:
    api = make_component(name="API")
    response = admin_client.post(ADD, probe_form(api, regions='["mars"]'))
    assert response.status_code == 200
    assert "mars" in str(response.context["adminform"].form.errors["regions"])
    assert not Probe.objects.exists()


def test_it_shows_the_heartbeat_url_once(admin_client: Client) -> None:
    backup = make_component(name="Backups")
    form = probe_form(
        backup, kind="heartbeat", config=json.dumps({"period_seconds": 3600})
    )
    response = admin_client.post(ADD, form, follow=True)
    assert response.status_code == 200
    shown = " ".join(str(m) for m in get_messages(response.wsgi_request))
    text = response.content.decode()
    match = re.search(r"http://testserver/heartbeat/([\w-]+)", text)
    assert match, shown
    token = match[1]
    assert Client().post(f"/heartbeat/{token}").status_code == 200
    probe = Probe.objects.get()
    change = admin_client.get(change_url(probe)).content.decode()
    assert token not in change
    assert "Shown once" in change


def test_it_changes_a_probe_through_the_service(admin_client: Client) -> None:
    api = make_component(name="API")
    probe, _ = probe_create(
        name="API ping", kind="http", component=api, config={"url": "http://a.test/"}
    )
    form = probe_form(api, name="API ping", interval_seconds=30)
    form["config"] = json.dumps({"url": "http://b.test/"})
    response = admin_client.post(change_url(probe), form)
    assert response.status_code == 302, response.content.decode()[:2000]
    probe.refresh_from_db()
    assert (probe.interval_seconds, probe.config["url"]) == (30, "http://b.test/")
    form["config"] = json.dumps({"url": "gopher://b.test/"})
    response = admin_client.post(change_url(probe), form)
    assert response.status_code == 200
    probe.refresh_from_db()
    assert probe.config["url"] == "http://b.test/"


def test_it_saves_the_change_form_unchanged(admin_client: Client) -> None:
    api = make_component(name="API")
    probe, _ = probe_create(
        name="API ping", kind="http", component=api, config={"url": "http://a.test/"}
    )
    response = admin_client.get(change_url(probe))
    form = response.context["adminform"].form
    data = {name: form[name].value() for name in form.fields}
    data = {k: v for k, v in data.items() if v is not None and v is not False}
    response = admin_client.post(change_url(probe), data)
    errors = response.context["adminform"].form.errors if response.context else {}
    assert response.status_code == 302, errors


def test_it_shows_recent_results_on_the_change_page(admin_client: Client) -> None:
    api = make_component(name="API")
    probe, _ = probe_create(
        name="API ping", kind="http", component=api, config={"url": "http://a.test/"}
    )
    ProbeResult.objects.create(
        probe=probe,
        region="local",
        outcome="down",
        latency_ms=12.3,
        status_code=503,
        error="expected status 200-399, got 503",
        slot=probe.next_due_at,
        started_at=probe.next_due_at,
    )
    text = admin_client.get(change_url(probe)).content.decode()
    assert "Recent results" in text
    assert "expected status 200-399, got 503" in text
    assert "12 ms" in text
    assert "down (local)" in admin_client.get(LIST).content.decode()


def test_it_lists_probes_in_a_constant_number_of_queries(
    admin_client: Client,
) -> None:
    def list_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert admin_client.get(LIST).status_code == 200
        return len(queries)

    api = make_component(name="API")
    probe_create(name="p0", kind="http", component=api, config={"url": "http://a/"})
    few = list_queries()
    for number in range(1, 6):
        probe, _ = probe_create(
            name=f"p{number}", kind="http", component=api, config={"url": "http://a/"}
        )
        ProbeResult.objects.create(
            probe=probe,
            region="local",
            outcome="up",
            slot=probe.next_due_at,
            started_at=probe.next_due_at,
        )
    assert list_queries() == few


def echo_app(received: list[str]) -> web.Application:
    """A careless product: it answers 500 and echoes the posted form back."""

    async def echo(request: web.Request) -> web.Response:
        form = dict(await request.post())
        received.append(json.dumps(form))
        return web.json_response(
            {"form": form, "headers": dict(request.headers)}, status=500
        )

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", echo)
    return app


def test_it_never_shows_a_secret_value(
    admin_client: Client, aio_server: Callable[[web.Application], str], settings: Any
) -> None:
    received: list[str] = []
    url = aio_server(echo_app(received))
    bind_secrets(settings, url, "DEMO_PASSWORD")
    login = make_component(name="Login/logout path")
    journey = {
        "secrets": {"password": "DEMO_PASSWORD"},
        "steps": [
            {
                "name": "Sign in",
                "method": "POST",
                "url": f"{url}/login",
                "form": {"username": "demo", "password": "{{password}}"},
                "expected_status": [500],
                "json_path": "form.password",
                "json_equals": "not this",
            },
            {
                "name": "Sign out",
                "method": "POST",
                "url": f"{url}/out",
                "cleanup": True,
            },
        ],
    }
    http = {
        "secrets": {"token": "DEMO_PASSWORD"},
        "url": f"{url}/api",
        "headers": {"Authorization": "Bearer {{token}}"},
    }
    probes = [
        probe_create(name="Sign in", kind="journey", component=login, config=journey)[
            0
        ],
        probe_create(name="API", kind="http", component=login, config=http)[0],
    ]
    probes_run_batch(
        region="local",
        items=[(p.pk, p.next_due_at.isoformat()) for p in probes],
    )

    assert any(SECRET in body for body in received)  # the secret was really sent
    errors = list(ProbeResult.objects.values_list("error", flat=True))
    assert any("form.password was a string" in error for error in errors), errors
    assert any("got 500" in error for error in errors), errors
    assert not any(SECRET in error for error in errors), errors
    pages = [admin_client.get(change_url(p)).content.decode() for p in probes]
    pages.append(admin_client.get(LIST).content.decode())
    assert "DEMO_PASSWORD" in pages[0]  # the name is shown, never the value
    assert "form.password was a string" in pages[0]
    assert not any(SECRET in page for page in pages)
