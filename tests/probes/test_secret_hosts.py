"""Probe secrets go only to the hosts bound to them (PROBE_SECRET_<NAME>_HOSTS), and
no stored error quotes what a target answered, however it spelled a secret back.

Two real servers on 127.0.0.1: "acme" (bound: its host:port is in the binding) and
"elsewhere" (a host of the probe editor's choosing), each recording what reached it.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from yarl import URL

from probes.kinds import Outcome
from probes.kinds.bindings import is_bound
from probes.kinds.journey import Journey
from probes.models import Probe, ProbeResult
from probes.runner import probes_run_batch
from probes.services import probe_create
from tests.api_helpers import api_client, body, v1
from tests.conftest import ROOT, make_component
from tests.probes.conftest import LoopThread, bind_secrets, run_probe, run_validated

PASSWORD = "Tr0ub4dor-and-3"
# Every way the targets below spell the password back.
SPELLINGS = (
    PASSWORD,
    PASSWORD.upper(),
    PASSWORD.lower(),
    base64.b64encode(PASSWORD.encode()).decode(),
    PASSWORD[::-1],
)
VARIABLE = "PROBE_SECRET_ACME_PASSWORD_HOSTS"


@dataclass
class Server:
    url: str = ""
    received: list[str] = field(default_factory=list)  # each request, whole

    @property
    def host(self) -> str:
        return self.url.split("/")[2]


def server_app(server: Server) -> web.Application:
    """Records every request; answers as a careless product would."""
    routes = web.RouteTableDef()

    @web.middleware
    async def record(request: web.Request, handler: Any) -> web.StreamResponse:
        text = await request.text()
        server.received.append(f"{request.method} {request.path_qs} {text}")
        server.received[-1] += json.dumps(dict(request.headers))
        response: web.StreamResponse = await handler(request)
        return response

    @routes.post("/login")
    async def login(request: web.Request) -> web.Response:
        # Echoes the password back in every spelling: upper-cased, base64, reversed.
        password = str((await request.post()).get("password", ""))
        echo = {
            "error": f"wrong password {password.upper()}",
            "token": base64.b64encode(password.encode()).decode(),
            "hint": password[::-1],
            "plain": password,
            "next": request.query.get("next", ""),
        }
        return web.json_response(echo, status=int(request.query.get("status", 200)))

    @routes.route("*", "/redirect")
    async def redirect(request: web.Request) -> web.Response:
        status = int(request.query.get("status", 302))
        return web.Response(status=status, headers={"Location": request.query["to"]})

    @routes.route("*", "/{tail:.*}")
    async def anything(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application(middlewares=[record])
    app.add_routes(routes)
    return app


@pytest.fixture
def acme(aio_server: Callable[[web.Application], str], settings: Any) -> Server:
    server = Server()
    server.url = aio_server(server_app(server))
    settings.PROBE_SECRETS = {"ACME_PASSWORD": PASSWORD}
    bind_secrets(settings, server.url, "ACME_PASSWORD")
    return server


@pytest.fixture
def elsewhere(aio_server: Callable[[web.Application], str]) -> Server:
    server = Server()
    server.url = aio_server(server_app(server))
    return server


def journey(*steps: dict[str, Any]) -> dict[str, Any]:
    named = [{"name": f"step {n}", **step} for n, step in enumerate(steps)]
    return {"secrets": {"password": "ACME_PASSWORD"}, "steps": named}


def sign_in(acme: Server, query: str = "") -> dict[str, Any]:
    """A step that sends the password, correctly, to acme."""
    return {
        "method": "POST",
        "url": f"{acme.url}/login{query}",
        "form": {"password": "{{password}}"},
    }


def run(config: dict[str, Any]) -> list[Any]:
    return run_probe("journey", config, secrets={"password": PASSWORD}).steps


# --- at save: the console form, the management API and ``apply`` -----------


SENDS_ELSEWHERE = {
    "url": {"url": "{elsewhere}/collect?password={{password}}"},
    "json": {"method": "POST", "json": {"user": {"password": "{{password}}"}}},
    "form": {"method": "POST", "form": {"password": "{{password}}"}},
    "headers": {"headers": {"X-Api-Key": "{{password}}"}},
}


def sending_elsewhere(how: str, elsewhere: Server) -> dict[str, Any]:
    step = json.loads(json.dumps(SENDS_ELSEWHERE[how]).replace("{elsewhere}", ""))
    step.setdefault("url", "/collect")
    step["url"] = elsewhere.url + step["url"]
    return step


@pytest.mark.django_db
@pytest.mark.parametrize("how", list(SENDS_ELSEWHERE))
def test_it_refuses_to_save_a_journey_sending_a_secret_to_an_unbound_host(
    how: str, acme: Server, elsewhere: Server
) -> None:
    login = make_component(name="Login")
    config = journey(
        sign_in(acme), {"name": "leak", **sending_elsewhere(how, elsewhere)}
    )
    probe = {"name": "x", "kind": "journey", "component_id": login.public_id}

    response = api_client().post(
        v1("probes"), {"probe": {**probe, "config": config}}, format="json"
    )

    assert response.status_code == 400, response.content
    [message] = body(response)["errors"][f"probe.config.steps.1.{how}"]
    assert message == (
        f"(step 'leak') would send the secret {{{{password}}}} (ACME_PASSWORD) to "
        f"{elsewhere.host}, which {VARIABLE} ({acme.host}) does not allow; add it there"
    )
    assert not Probe.objects.exists()
    assert elsewhere.received == []


@pytest.mark.django_db
def test_it_refuses_a_secret_without_a_binding_naming_the_variable_to_set(
    acme: Server, settings: Any
) -> None:
    settings.PROBE_SECRET_HOSTS = {}

    with pytest.raises(ValidationError) as refused:
        probe_create(
            name="x",
            kind="journey",
            component=make_component(),
            config=journey(sign_in(acme)),
        )

    assert refused.value.message_dict == {
        "config": [
            "steps.0.form (step 'step 0') would send the secret {{password}} "
            f"(ACME_PASSWORD) to {acme.host}, but {VARIABLE} is not set: set it to "
            f"the hosts the secret may go to, e.g. {VARIABLE}={acme.host}"
        ]
    }


@pytest.mark.django_db
def test_it_refuses_a_secret_sent_to_a_host_written_as_a_placeholder(
    acme: Server,
) -> None:
    config = journey(
        {**sign_in(acme), "extract": [{"from": "json", "path": "next"}]},
        {"url": "http://{{next}}/collect", "headers": {"X-Key": "{{password}}"}},
    )

    with pytest.raises(ValidationError) as refused:
        probe_create(
            name="x", kind="journey", component=make_component(), config=config
        )

    messages = refused.value.message_dict["config"]
    assert "steps.1.url must name a host, e.g. https://example.com/health" in messages
    assert (
        "steps.1.headers (step 'step 1') uses the secret {{password}} (ACME_PASSWORD), "
        "but the url's host is not written out: a secret goes only to a host named in "
        f"the url and listed in {VARIABLE}" in messages
    )


@pytest.mark.django_db
def test_it_shows_the_refusal_on_the_console_form(
    admin_client: Client, acme: Server, elsewhere: Server
) -> None:
    login = make_component(name="Login")
    config = journey(sign_in(acme), sending_elsewhere("json", elsewhere))
    form = {
        "name": "Sign in",
        "kind": "journey",
        "component": login.pk,
        "config": json.dumps(config),
        "down_status": "major_outage",
        "interval_seconds": 60,
        "timeout_seconds": 10,
        "failures_to_down": 3,
        "successes_to_up": 2,
        "regions": json.dumps(["local"]),
        "enabled": "on",
    }

    response = admin_client.post(reverse("admin:probes_probe_add"), form)

    assert response.status_code == 200
    errors = str(response.context["adminform"].form.errors["config"])
    assert "steps.1.json (step &#x27;step 1&#x27;) would send the secret" in errors
    assert f"which {VARIABLE} ({acme.host}) does not allow" in errors
    assert not Probe.objects.exists()


@pytest.mark.django_db
def test_it_refuses_the_journey_in_apply_naming_the_line_and_field(
    acme: Server, elsewhere: Server, tmp_path: Path
) -> None:
    path = tmp_path / "heliograph.yaml"
    path.write_text(
        textwrap.dedent(f"""\
            version: 1
            components:
              - name: Login
            probes:
              - name: Sign in
                kind: journey
                component: Login
                config:
                  secrets: {{password: ACME_PASSWORD}}
                  steps:
                    - name: leak
                      url: {elsewhere.url}/collect?p={{{{password}}}}
            """)
    )

    with pytest.raises(CommandError) as refused:
        call_command("apply", str(path), stdout=io.StringIO())

    message = str(refused.value)
    assert (
        "probes[0].config.steps[0].url: (step 'leak') would send the secret" in message
    )
    assert VARIABLE in message
    assert not Probe.objects.exists()


@pytest.mark.django_db
def test_it_refuses_an_http_probe_sending_its_secret_elsewhere(
    acme: Server, elsewhere: Server
) -> None:
    config = {
        "url": f"{elsewhere.url}/api",
        "headers": {"Authorization": "Bearer {{token}}"},
        "secrets": {"token": "ACME_PASSWORD"},
    }

    with pytest.raises(ValidationError) as refused:
        probe_create(name="x", kind="http", component=make_component(), config=config)

    [message] = refused.value.message_dict["config"]
    assert message.startswith("headers would send the secret {{token}} (ACME_PASSWORD)")


@pytest.mark.django_db
def test_it_saves_and_passes_a_journey_whose_secrets_go_to_bound_hosts(
    acme: Server,
) -> None:
    config = journey(sign_in(acme), {"url": f"{acme.url}/app"})
    probe, _ = probe_create(
        name="Sign in", kind="journey", component=make_component(), config=config
    )

    [run] = probes_run_batch(
        region="local", items=[(probe.pk, probe.next_due_at.isoformat())]
    )

    assert [s.outcome for s in run.outcome.steps] == [Outcome.UP, Outcome.UP]
    assert any(PASSWORD in request for request in acme.received)


@pytest.mark.parametrize(
    "entry, url, bound",
    [
        ("login.acme.com", "https://login.acme.com/x", True),
        ("login.acme.com", "http://login.acme.com:80/x", True),
        ("login.acme.com", "https://login.acme.com:8443/x", False),
        ("login.acme.com", "https://acme.com/x", False),
        ("login.acme.com", "https://login.acme.com.evil.test/x", False),
        ("login.acme.com:8443", "https://login.acme.com:8443/x", True),
        ("login.acme.com:8443", "https://login.acme.com/x", False),
        ("*.acme.com", "https://eu.login.acme.com/x", True),
        ("*.acme.com", "https://acme.com/x", False),
        ("*.acme.com", "https://evilacme.com/x", False),
        ("127.0.0.1:8001", "http://127.0.0.1:8001/x", True),
        ("127.0.0.1:8001", "http://localhost:8001/x", False),
        ("[::1]:8001", "http://[0:0::1]:8001/x", True),
    ],
)
def test_it_binds_a_secret_to_exactly_the_hosts_listed(
    entry: str, url: str, bound: bool, settings: Any
) -> None:
    settings.PROBE_SECRET_HOSTS = {"ACME_PASSWORD": (entry,)}

    assert is_bound("ACME_PASSWORD", URL(url)) is bound


# --- at run time: the request as rendered, and every redirect ---------------


def test_it_does_not_send_a_secret_where_an_extracted_url_leads(
    acme: Server, elsewhere: Server
) -> None:
    first = sign_in(acme, f"?next={elsewhere.url}/collect")
    first["extract"] = [{"from": "json", "path": "next", "var": "next"}]
    second = {"method": "POST", "url": f"{acme.url}/x", "form": {"p": "{{password}}"}}
    config = Journey.validate(journey(first, second))
    # As stored before the rule existed: a placeholder host is refused at save now.
    config["steps"][1]["url"] = "{{next}}"

    steps = run_validated("journey", config, secrets={"password": PASSWORD}).steps

    assert steps[0].outcome is Outcome.UP
    assert steps[1].outcome is Outcome.DOWN
    assert steps[1].error == (
        "not sent: would send the secret {{password}} (ACME_PASSWORD) to "
        f"{elsewhere.host}, which {VARIABLE} ({acme.host}) does not allow; add it there"
    )
    assert elsewhere.received == []


@pytest.mark.parametrize("spelling", ["plain", "error", "token"])
def test_it_does_not_send_a_reflected_secret_to_another_host(
    spelling: str, acme: Server, elsewhere: Server
) -> None:
    """acme echoes the password (as is, upper-cased, base64); a later step that
    names no secret would pass it on. It is saved, but not sent."""
    first = sign_in(acme)
    first["extract"] = [
        {"from": "json", "path": spelling, "var": "echo", "secret": False}
    ]
    second = {"url": f"{elsewhere.url}/collect?x={{{{echo}}}}", "name": "pass it on"}

    steps = run(journey(first, second))

    assert steps[0].outcome is Outcome.UP
    assert steps[1].outcome is Outcome.DOWN
    assert steps[1].error.startswith(
        "not sent: would send the secret {{password}} (ACME_PASSWORD) to "
        f"{elsewhere.host}, which {VARIABLE}"
    )
    assert elsewhere.received == []


def redirect_to(acme: Server, target: str, status: int) -> str:
    return str(URL(f"{acme.url}/redirect").with_query(to=target, status=status))


@pytest.mark.parametrize("status", [302, 307])
def test_it_does_not_follow_a_redirect_to_another_host_with_a_secret_header(
    status: int, acme: Server, elsewhere: Server
) -> None:
    step = {
        "url": redirect_to(acme, f"{elsewhere.url}/collect", status),
        "headers": {"X-Api-Key": "{{password}}"},
        "follow_redirects": True,
    }

    [result] = run(journey(step))

    assert result.outcome is Outcome.DOWN
    assert result.error.startswith(
        "redirect not followed: it would send the secret {{password}} "
        f"(ACME_PASSWORD) to {elsewhere.host}, which {VARIABLE}"
    )
    assert len(acme.received) == 1
    assert elsewhere.received == []


def test_it_does_not_follow_a_307_that_would_repost_the_secret_elsewhere(
    acme: Server, elsewhere: Server
) -> None:
    step = {
        "method": "POST",
        "url": redirect_to(acme, f"{elsewhere.url}/collect", 307),
        "form": {"password": "{{password}}"},
        "follow_redirects": True,
    }

    [result] = run(journey(step))

    assert result.outcome is Outcome.DOWN
    assert result.error.startswith("redirect not followed: it would send the secret")
    assert elsewhere.received == []


def test_it_does_not_follow_a_redirect_that_reflects_the_secret_elsewhere(
    acme: Server, elsewhere: Server
) -> None:
    # The secret rightly goes to acme, in the query; acme puts it in its Location.
    target = f"{elsewhere.url}/collect?p={{{{password}}}}"
    step = {"url": f"{acme.url}/redirect?to={target}", "follow_redirects": True}

    [result] = run(journey(step))

    assert result.outcome is Outcome.DOWN
    assert result.error.startswith("redirect not followed: it would send the secret")
    assert elsewhere.received == []


def test_it_follows_a_redirect_that_leaves_the_secret_behind(
    acme: Server, elsewhere: Server
) -> None:
    """A sign-in answered with 303 to another host: the GET that follows carries no
    password, as a browser would send it, so it goes."""
    step = {
        "method": "POST",
        "url": redirect_to(acme, f"{elsewhere.url}/welcome", 303),
        "form": {"password": "{{password}}"},
        "follow_redirects": True,
    }

    [result] = run(journey(step))

    assert (result.outcome, result.status_code) == (Outcome.UP, 200), result.error
    [request] = elsewhere.received
    assert request.startswith("GET /welcome ")
    assert PASSWORD not in request


def test_it_follows_a_redirect_within_the_bound_host_with_the_secret(
    acme: Server,
) -> None:
    step = {
        "url": redirect_to(acme, "/app", 307),
        "headers": {"X-Api-Key": "{{password}}"},
        "follow_redirects": True,
    }

    [result] = run(journey(step))

    assert (result.outcome, result.status_code) == (Outcome.UP, 200), result.error
    assert acme.received[-1].startswith("GET /app ")
    assert PASSWORD in acme.received[-1]


# --- errors: described, never quoted -----------------------------------------

FAILING_ASSERTIONS = {
    "status": {"expected_status": 201},
    "json_path": {"json_path": "error", "json_equals": "signed in"},
    "json_token": {"json_path": "token", "json_equals": "x"},
    "json_hint": {"json_path": "hint", "json_equals": 1},
    "body_contains": {"body_contains": "Welcome"},
    "body_regex": {"body_regex": "^ok$"},
    "extract": {"extract": [{"from": "json", "path": "missing"}]},
}


@pytest.mark.django_db
def test_it_never_stores_a_secret_the_target_spelled_back(acme: Server) -> None:
    component = make_component(name="Login")
    probes = [
        probe_create(
            name=name,
            kind="journey",
            component=component,
            config=journey({**sign_in(acme), **assertion}),
        )[0]
        for name, assertion in FAILING_ASSERTIONS.items()
    ]

    probes_run_batch(
        region="local", items=[(p.pk, p.next_due_at.isoformat()) for p in probes]
    )

    errors = list(ProbeResult.objects.values_list("error", flat=True))
    assert len(errors) == len(FAILING_ASSERTIONS) and all(errors), errors
    api = api_client("read")
    shown = [
        api.get(v1(f"probes/{p.public_id}/results")).content.decode() for p in probes
    ]
    for spelling in SPELLINGS:
        assert not any(spelling in error for error in errors), (spelling, errors)
        assert not any(spelling in page for page in shown), spelling
    echoed = len(f"wrong password {PASSWORD}")
    assert f'error was a string of {echoed} characters, expected "signed in"' in errors


@pytest.fixture
def garbled(loop_thread: LoopThread, settings: Any) -> Iterator[str]:
    """A bound server whose status line spells the password back reversed: aiohttp's
    parse error would quote that line."""

    async def answer(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await reader.read(65536)
        writer.write(f"HTTP/1.1 2x0 {PASSWORD[::-1]}\r\n\r\n".encode())
        await writer.drain()
        writer.close()

    async def start() -> asyncio.Server:
        return await asyncio.start_server(answer, "127.0.0.1", 0)

    server = loop_thread.call(start())
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    settings.PROBE_SECRET_HOSTS = {"ACME_PASSWORD": (url.split("/")[2],)}

    async def stop() -> None:
        server.close()
        await server.wait_closed()

    yield url
    loop_thread.call(stop())


def test_it_describes_a_garbled_answer_without_quoting_it(garbled: str) -> None:
    step = {"method": "POST", "url": f"{garbled}/login", "form": {"p": "{{password}}"}}

    [result] = run(journey(step))

    assert result.outcome is Outcome.DOWN
    assert result.error == "the response was not valid HTTP"


def settings_in_a_process(**env: str) -> subprocess.CompletedProcess[str]:
    script = (
        "from django.conf import settings; "
        "print(settings.PROBE_SECRETS, settings.PROBE_SECRET_HOSTS)"
    )
    return subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_it_reads_bindings_beside_their_secrets() -> None:
    result = settings_in_a_process(
        PROBE_SECRET_ACME_PASSWORD="pw",
        PROBE_SECRET_ACME_PASSWORD_HOSTS=" Login.Acme.com. ,127.0.0.1:8001,[::1]:8001",
    )

    assert result.returncode == 0, result.stderr
    secrets, hosts = result.stdout.strip().split("} {")
    assert "'ACME_PASSWORD': 'pw'" in secrets and "_HOSTS" not in secrets
    expected = "('login.acme.com', '127.0.0.1:8001', '[::1]:8001')"
    assert f"'ACME_PASSWORD': {expected}" in hosts


@pytest.mark.parametrize("entry", ["*.com", "*.0.0.1", "acme.com:0", "http://a.test"])
def test_it_refuses_a_binding_that_is_not_a_host(entry: str) -> None:
    result = settings_in_a_process(PROBE_SECRET_ACME_PASSWORD_HOSTS=f"a.test,{entry}")

    assert result.returncode != 0
    assert f"PROBE_SECRET_ACME_PASSWORD_HOSTS: {entry!r} is not a host" in result.stderr
