"""The demo: the Acme page loads once, the Acme product serves the sign-in journey,
and breaking one of its paths takes down only the steps that use it."""

from __future__ import annotations

import io
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from incidents.models import Component, Incident, IncidentStatus, Page
from probes.demo.journey import journey_config
from probes.demo.target import Acme
from probes.kinds import Outcome, ProbeOutcome, kind_class
from probes.models import Probe, ProbeResult
from tests.conftest import ROOT
from tests.probes.conftest import bind_secrets, run_validated

pytestmark = pytest.mark.django_db

USER, PASSWORD = "acme-probe", "correct horse battery staple"
SECRET_NAMES = ("DEMO_USER", "DEMO_PASSWORD")
STEPS = (
    "Open the sign-in form",
    "Sign in",
    "Open the signed-in page",
    "Get an API token",
    "Sign out",
)


@pytest.fixture(autouse=True)
def var_dir(settings: Any, tmp_path: Path) -> Path:
    settings.VAR_DIR = tmp_path
    settings.PROBE_REGIONS = ["local"]
    settings.PROBE_SECRETS = {"DEMO_USER": USER, "DEMO_PASSWORD": PASSWORD}
    # As bin/run binds them to its target; these are the targets the tests load.
    hosts = ("127.0.0.1:8001", "acme.test:9")
    settings.PROBE_SECRET_HOSTS = dict.fromkeys(SECRET_NAMES, hosts)
    return tmp_path


def run_demo(*args: str) -> str:
    out = io.StringIO()
    call_command("demo", *args, stdout=out)
    return out.getvalue()


# --- loading the page ---------------------------------------------------------


def test_it_loads_the_acme_page_with_history() -> None:
    run_demo("--url", "http://127.0.0.1:8123")
    page = Page.get()
    assert (page.name, page.url) == ("Acme", "http://127.0.0.1:8123")
    names = set(Component.objects.values_list("name", flat=True))
    assert {"Login/logout path", "Web app", "API", "Webhooks"} <= names
    group = Component.objects.get(name="Login/logout path").group
    assert group is not None and group.is_group
    past = Incident.objects.get(name="Users cannot sign in")
    assert past.status == IncidentStatus.POSTMORTEM
    assert past.updates.filter(shown_on=None).count() == 4
    assert Incident.objects.unresolved().get().name == "Delayed webhook deliveries"
    assert Incident.objects.upcoming().get().auto_start


def test_it_loads_the_employees_page_on_its_own_host_name(client: Client) -> None:
    output = run_demo("--url", "http://127.0.0.1:8000")
    internal = Page.objects.get(slug="internal")
    found = re.search(
        r"Employees' page \(Acme internal, private\): http://localhost:8000/ with "
        r"the password '([^']+)', or signed in as 'demo'",
        output,
    )
    assert found is not None, output
    assert internal.url == "http://localhost:8000"
    assert list(internal.hosts.values_list("name", flat=True)) == ["localhost"]
    refused = client.get("/api/v2/summary.json", HTTP_HOST="localhost:8000")
    assert refused.status_code == 401
    # The password printed lets one in; loading again keeps it (and the passes).
    signed_in = client.post(
        "/access/", {"password": found[1]}, HTTP_HOST="localhost:8000"
    )
    assert signed_in.status_code == 302
    assert found[1] in run_demo("--url", "http://127.0.0.1:8000")

    public = client.get("/api/v2/summary.json", HTTP_HOST="127.0.0.1:8000").json()
    employees = client.get("/api/v2/summary.json", HTTP_HOST="localhost:8000").json()
    public_names = {c["name"] for c in public["components"]}
    employee_names = {c["name"] for c in employees["components"]}
    assert "Session store" not in public_names
    assert employee_names == public_names | {"Internal systems", "Session store"}
    # The session store recovered with the past outage.
    [sessions] = [c for c in employees["components"] if c["name"] == "Session store"]
    assert sessions["status"] == "operational"
    past = Incident.objects.get(name="Users cannot sign in").public_id
    public_past = client.get(f"/incidents/{past}", HTTP_HOST="127.0.0.1:8000")
    employee_past = client.get(f"/incidents/{past}", HTTP_HOST="localhost:8000")
    assert "internal SAN" not in public_past.content.decode()
    assert "internal SAN" in employee_past.content.decode()


def test_it_loads_with_the_load_action_and_its_urls() -> None:
    output = run_demo(
        "load", "--url", "http://status.test", "--target-url", "http://acme.test:9"
    )
    assert "Loaded the Acme demo page" in output
    assert Page.get().url == "http://status.test"
    assert all(
        "http://acme.test:9/" in json.dumps(probe.config)
        for probe in Probe.objects.all()
    )


def test_it_refuses_to_load_a_journey_whose_secrets_are_bound_elsewhere() -> None:
    with pytest.raises(CommandError) as refused:
        run_demo("--target-url", "http://acme.example:8001")

    message = str(refused.value)
    assert "PROBE_SECRET_DEMO_PASSWORD_HOSTS" in message
    assert "acme.example:8001" in message
    assert not Probe.objects.exists()


def test_it_loads_three_probes_of_the_acme_product() -> None:
    run_demo("--target-url", "http://127.0.0.1:8001")
    probes = {p.name: p for p in Probe.objects.select_related("component")}
    by_component = {(p.kind, p.component.name) for p in probes.values()}
    assert by_component == {
        ("journey", "Login/logout path"),
        ("http", "Web app"),
        ("http", "API"),
    }
    assert {p.interval_seconds for p in probes.values()} == {10}
    journey = next(p for p in probes.values() if p.kind == "journey")
    steps = {s["name"]: s for s in journey.config["steps"]}
    assert list(steps) == list(STEPS)
    public_id = dict(Component.objects.values_list("name", "public_id"))
    assert steps["Open the signed-in page"]["component"] == public_id["Web app"]
    assert steps["Get an API token"]["component"] == public_id["API"]
    assert steps["Sign out"]["cleanup"]
    # The config names the credentials; their values are nowhere in the database.
    assert journey.config["secrets"] == {
        "username": "DEMO_USER",
        "password": "DEMO_PASSWORD",
    }
    assert PASSWORD not in json.dumps([p.config for p in probes.values()])


def test_it_prints_credentials_that_sign_in() -> None:
    output = run_demo()
    match = re.search(r"user '(\w+)', password '([^']+)'", output)
    assert match, output
    # Through the sign-in form: the throttle in front of the password needs a request.
    client = Client()
    answer = client.post(
        reverse("account_login"), {"login": match[1], "password": match[2]}
    )
    assert answer.status_code == 302, answer.content.decode()
    user = User.objects.get(pk=client.session["_auth_user_id"])
    assert user.is_staff


def test_it_loads_only_once_and_keeps_the_password() -> None:
    first = run_demo()
    second = run_demo("load")
    assert "already loaded" in second
    assert Component.objects.filter(name="API").count() == 1
    assert Probe.objects.count() == 3
    assert Incident.objects.count() == 3
    password = re.compile(r"password '([^']+)'")
    assert password.search(first)[1] == password.search(second)[1]  # type: ignore[index]


@pytest.mark.parametrize("args", [("--reset",), ("load", "--reset")])
def test_it_reloads_on_reset(args: tuple[str, ...]) -> None:
    run_demo()
    api = Component.objects.get(name="API")
    probe = Probe.objects.get(name="API ping")
    ProbeResult.objects.create(
        probe=probe,
        region="local",
        component=api,
        outcome="down",
        slot=probe.next_due_at,
        started_at=probe.next_due_at,
    )
    Component.objects.filter(pk=api.pk).update(name="Renamed")
    output = run_demo(*args)
    assert "Loaded the Acme demo page" in output
    assert Component.objects.filter(name="API").count() == 1
    assert not Component.objects.filter(name="Renamed").exists()
    assert Probe.objects.count() == 3
    assert not ProbeResult.objects.exists()


def test_it_keeps_the_old_demo_when_a_reload_fails() -> None:
    run_demo("--url", "http://first.test")
    with pytest.raises(CommandError):
        run_demo("--reset", "--url", "not a url")
    assert Page.get().url == "http://first.test"
    assert Probe.objects.count() == 3
    assert Incident.objects.count() == 3


# --- breaking and mending ----------------------------------------------------


def state(var_dir: Path) -> list[str]:
    return json.loads((var_dir / "demo-target.json").read_text())["broken"]


def test_it_breaks_and_mends_paths_in_the_state_file(var_dir: Path) -> None:
    assert "broken paths: login." in run_demo("break", "login")
    assert state(var_dir) == ["login"]
    assert "broken paths: api, login." in run_demo("break", "api")
    assert state(var_dir) == ["api", "login"]
    assert "broken paths: api." in run_demo("mend", "login")
    assert state(var_dir) == ["api"]
    run_demo("break", "web")
    assert "broken paths: none." in run_demo("mend", "all")
    assert state(var_dir) == []


def test_it_refuses_an_unknown_path() -> None:
    with pytest.raises(CommandError):
        run_demo("break", "database")


# --- the Acme product and the journey that watches it -----------------------


@pytest.fixture
def acme_url(
    aio_server: Callable[[web.Application], str], var_dir: Path, settings: Any
) -> str:
    acme = Acme(
        username=USER, password=PASSWORD, state_file=var_dir / "demo-target.json"
    )
    url = aio_server(acme.app())
    bind_secrets(settings, url, *SECRET_NAMES)
    return url


def run_journey(acme_url: str) -> dict[str, Any]:
    """Run the demo's journey as loaded, the way a worker does."""
    run_demo("--target-url", acme_url)
    probe = Probe.objects.get(kind="journey")
    outcome: ProbeOutcome = run_validated(
        "journey",
        probe.config,
        timeout=5,
        secrets={"username": USER, "password": PASSWORD},
    )
    return {step.step: step for step in outcome.steps}


def outcomes(steps: dict[str, Any]) -> dict[str, Outcome]:
    return {name: step.outcome for name, step in steps.items()}


def test_it_passes_every_step_of_the_journey_when_healthy(acme_url: str) -> None:
    steps = run_journey(acme_url)
    assert outcomes(steps) == dict.fromkeys(STEPS, Outcome.UP)
    assert steps["Sign in"].status_code == 302


def test_it_runs_the_journey_config_through_the_journey_kind(acme_url: str) -> None:
    web_app, api = (
        Component(public_id="webapp000001"),
        Component(public_id="api000000001"),
    )
    config = kind_class("journey").validate(
        journey_config(acme_url, webapp=web_app, api=api)
    )
    outcome = run_validated(
        "journey", config, secrets={"username": USER, "password": PASSWORD}
    )
    assert [s.outcome for s in outcome.steps] == [Outcome.UP] * 5
    assert [s.component for s in outcome.steps] == [
        None,
        None,
        "webapp000001",
        "api000000001",
        None,
    ]


def test_it_fails_sign_in_when_login_is_broken(acme_url: str) -> None:
    run_demo("break", "login")
    steps = run_journey(acme_url)
    assert outcomes(steps) == {
        "Open the sign-in form": Outcome.UP,
        "Sign in": Outcome.DOWN,
        "Open the signed-in page": Outcome.SKIPPED,
        "Get an API token": Outcome.SKIPPED,
        "Sign out": Outcome.DOWN,  # it ran (the login path is broken, so it fails)
    }
    assert steps["Sign in"].status_code == 503
    assert steps["Sign in"].component is None  # feeds the probe's Login/logout path
    assert steps["Sign out"].status_code == 503
    assert PASSWORD not in " ".join(s.error for s in steps.values())


def test_it_blames_the_api_when_the_api_is_broken(acme_url: str) -> None:
    run_demo("break", "api")
    steps = run_journey(acme_url)
    assert outcomes(steps) == {
        "Open the sign-in form": Outcome.UP,
        "Sign in": Outcome.UP,
        "Open the signed-in page": Outcome.UP,
        "Get an API token": Outcome.DOWN,
        "Sign out": Outcome.UP,
    }
    api = Component.objects.get(name="API")
    assert steps["Get an API token"].component == api.public_id
    assert steps["Get an API token"].status_code == 503


def test_it_passes_again_after_mending_all(acme_url: str) -> None:
    run_demo("break", "login")
    run_demo("break", "api")
    run_demo("break", "web")
    assert Outcome.DOWN in outcomes(run_journey(acme_url)).values()
    run_demo("mend", "all")
    assert outcomes(run_journey(acme_url)) == dict.fromkeys(STEPS, Outcome.UP)


def sign_in(url: str, *, password: str = PASSWORD, send_csrf: bool = True) -> int:
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(CookieJar())
    )
    with opener.open(f"{url}/login", timeout=5) as response:
        form = response.read().decode()
    csrf = re.search(r'name="csrf" value="([^"]+)"', form)
    assert csrf, form
    fields = {"username": USER, "password": password}
    if send_csrf:
        fields["csrf"] = csrf[1]
    body = urllib.parse.urlencode(fields).encode()
    try:
        with opener.open(f"{url}/login", data=body, timeout=5) as response:
            assert "Welcome back" in response.read().decode()  # followed to /app
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def test_it_signs_in_at_the_target(acme_url: str) -> None:
    assert sign_in(acme_url) == 200


def test_it_refuses_a_wrong_password_at_the_target(acme_url: str) -> None:
    assert sign_in(acme_url, password="guess") == 401


def test_it_refuses_a_sign_in_without_csrf_at_the_target(acme_url: str) -> None:
    assert sign_in(acme_url, send_csrf=False) == 403


def test_it_refuses_a_non_ascii_password_at_the_target(acme_url: str) -> None:
    assert sign_in(acme_url, password="pässwörd") == 401


# --- 'demo target' as bin/run starts it --------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def target_process(tmp_path: Path, settings: Any) -> Iterator[str]:
    port = free_port()
    bind_secrets(settings, f"http://127.0.0.1:{port}", *SECRET_NAMES)
    env = {
        **os.environ,
        "HELIOGRAPH_VAR_DIR": str(tmp_path),
        "PROBE_SECRET_DEMO_USER": USER,
        "PROBE_SECRET_DEMO_PASSWORD": PASSWORD,
    }
    command = [sys.executable, "manage.py", "demo", "target", "--port", str(port)]
    log = (tmp_path / "target.log").open("wb")
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/ping", timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail((tmp_path / "target.log").read_text())
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(10)
        log.close()


def test_it_serves_the_target_from_the_command(
    target_process: str, var_dir: Path
) -> None:
    steps = run_journey(target_process)
    assert outcomes(steps) == dict.fromkeys(STEPS, Outcome.UP)
    assert sign_in(target_process, password="guess") == 401
    run_demo("break", "web")  # the same state file: settings.VAR_DIR is tmp_path
    steps = run_journey(target_process)
    assert steps["Open the signed-in page"].outcome is Outcome.DOWN
    assert steps["Sign out"].outcome is Outcome.UP


def test_it_keeps_the_targets_requests_out_of_its_output(
    target_process: str, tmp_path: Path
) -> None:
    # The probes ask every 10 s; a line each buried the credentials bin/run prints.
    for path in ("/api/ping", "/login", "/"):
        urllib.request.urlopen(f"{target_process}{path}", timeout=5).close()
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(f"{target_process}/api/me", timeout=5)
    time.sleep(0.5)  # let a line the server would write reach the file
    output = (tmp_path / "target.log").read_text()
    assert "Acme demo product on http://127.0.0.1:" in output
    assert "GET /" not in output, output


def test_it_refuses_to_serve_the_target_without_credentials(settings: Any) -> None:
    settings.PROBE_SECRETS = {}
    with pytest.raises(CommandError, match="PROBE_SECRET_DEMO_PASSWORD"):
        run_demo("target", "--port", str(free_port()))
