"""Where probes may connect: every kind that connects refuses metadata, link-local and
multicast addresses in every spelling, when saved and when run; private and loopback
targets work; PROBE_ALLOWED_NETWORKS lets an admin open a range on purpose.

Names that resolve there are real: lines added to /etc/hosts for the test (the
probe code has no resolver hook, and the system resolver reads that file on every
lookup). Link-local and private targets that answer are real too: addresses added
to the loopback interface with ``ip addr`` for the test, a real server on each.
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from probes.kinds import Outcome, kind_class
from probes.kinds.network import TargetRefused, guarded_socket
from probes.models import Probe
from tests.address_spellings import (
    REFUSED,
    Spelling,
    address_on_loopback,
    ids,
    names_in_hosts_file,
)
from tests.api_helpers import api_client, body, v1
from tests.conftest import make_component
from tests.probes.conftest import LoopThread, run_validated

HINT = "probes may not reach it unless PROBE_ALLOWED_NETWORKS allows it"
CONNECTING_KINDS = ["http", "journey", "statuspage", "tcp", "tls"]


def config_for(kind: str, host: str, port: int = 80) -> tuple[dict[str, Any], str]:
    """A config of ``kind`` aimed at ``host`` (a URL's host for the URL kinds), and
    the field an error about the host is reported on."""
    url = f"http://{host}:{port}/"
    if kind == "http":
        return {"url": url}, "url"
    if kind == "journey":
        return {"steps": [{"name": "open", "url": url}]}, "steps.0.url"
    if kind == "statuspage":
        return {"url": url, "component": "API"}, "url"
    return {"host": host, "port": port}, "host"


def host_of(kind: str, spelling: Spelling) -> str:
    return spelling.host if kind in ("tcp", "tls") else spelling.url_host()


def saved_then_aimed(kind: str, host: str, port: int = 80) -> dict[str, Any]:
    """A config validated with a harmless host, then aimed at ``host``: as if saved
    before the rule, or edited in the database. The run must refuse it too."""
    harmless, _ = config_for(kind, "127.0.0.1", port)
    aimed, _ = config_for(kind, host, port)
    config = kind_class(kind).validate(harmless)
    if kind == "journey":
        config["steps"][0]["url"] = aimed["steps"][0]["url"]
    else:
        config.update(aimed)
    return config


def run_error(kind: str, config: dict[str, Any]) -> str:
    outcome = run_validated(kind, config, timeout=2)
    [step] = outcome.steps
    assert step.outcome is Outcome.DOWN
    return step.error


# --- refused when saved -------------------------------------------------------------


@pytest.mark.parametrize("spelling", REFUSED, ids=ids)
@pytest.mark.parametrize("kind", CONNECTING_KINDS)
def test_it_refuses_to_save_a_probe_aimed_at_a_refused_address(
    kind: str, spelling: Spelling
) -> None:
    config, field = config_for(kind, host_of(kind, spelling))

    with pytest.raises(ValidationError) as refused:
        kind_class(kind).validate(config)

    [message] = refused.value.message_dict[field]
    assert message.startswith(f"{field} must not point at ")
    assert spelling.reason in message and HINT in message


@pytest.mark.django_db
def test_it_answers_400_with_the_reason_to_an_api_probe_aimed_at_metadata() -> None:
    api = api_client()
    component = make_component(name="Web app")

    def refused(kind: str, config: dict[str, Any]) -> dict[str, list[str]]:
        probe = {"name": "x", "kind": kind, "component_id": component.public_id}
        response = api.post(
            v1("probes"), {"probe": probe | {"config": config}}, format="json"
        )
        assert response.status_code == 400, response.content
        return dict(body(response)["errors"])

    errors = refused("http", {"url": "http://0xa9fea9fe/latest/meta-data/"})
    [message] = errors["probe.config.url"]
    assert message.startswith("must not point at 0xa9fea9fe (169.254.169.254)")
    assert "cloud metadata address" in message and HINT in message
    errors = refused("tcp", {"host": "fe80::1%eth0", "port": 22})
    assert "is a link-local address" in errors["probe.config.host"][0]
    steps = [{"name": "meta", "url": "http://[fd00:ec2::254]/latest/"}]
    errors = refused("journey", {"steps": steps})
    assert "cloud metadata address" in errors["probe.config.steps.0.url"][0]
    assert not Probe.objects.exists()


@pytest.mark.django_db
def test_it_shows_the_reason_on_the_console_form(
    admin_client: Client, settings: Any
) -> None:
    settings.PROBE_REGIONS = ["local"]
    form = {
        "name": "Metadata",
        "kind": "tls",
        "component": make_component(name="API").pk,
        "config": json.dumps({"host": "::ffff:169.254.170.2"}),
        "down_status": "major_outage",
        "interval_seconds": 60,
        "timeout_seconds": 10,
        "failures_to_down": 3,
        "successes_to_up": 2,
        "regions": json.dumps(["local"]),
        "quorum": "",
        "enabled": "on",
    }

    response = admin_client.post(reverse("admin:probes_probe_add"), form)

    assert response.status_code == 200
    errors = str(response.context["adminform"].form.errors["config"])
    assert "host must not point at ::ffff:169.254.170.2, which leads to " in errors
    assert "169.254.170.2, a cloud metadata address" in errors
    assert not Probe.objects.exists()


# --- refused when run ---------------------------------------------------------------


@pytest.mark.parametrize("spelling", REFUSED, ids=ids)
@pytest.mark.parametrize("kind", CONNECTING_KINDS)
def test_it_refuses_to_connect_to_a_refused_address_at_run_time(
    kind: str, spelling: Spelling
) -> None:
    error = run_error(kind, saved_then_aimed(kind, host_of(kind, spelling)))

    assert spelling.reason in error and HINT in error


# Every class of refused address, both families, behind a real name.
RESOLVED = [
    ("169.254.169.254", "is a cloud metadata address"),
    ("169.254.170.2", "is a cloud metadata address"),
    ("100.100.100.200", "is a cloud metadata address"),
    ("168.63.129.16", "is a cloud metadata address"),
    ("fd00:ec2::254", "is a cloud metadata address"),
    ("fd20:ce::254", "is a cloud metadata address"),
    ("::ffff:169.254.169.254", "leads to 169.254.169.254, a cloud metadata"),
    ("64:ff9b::a9fe:a9fe", "leads to 169.254.169.254, a cloud metadata"),
    ("169.254.1.1", "is a link-local address"),
    ("fe80::1", "is a link-local address"),
    ("224.0.0.1", "is a multicast address"),
    ("ff02::1", "is a multicast address"),
]


@pytest.fixture(scope="module")
def resolving_names() -> Iterator[dict[str, str]]:
    with names_in_hosts_file([address for address, _ in RESOLVED]) as names:
        yield names


@pytest.mark.parametrize(("address", "reason"), RESOLVED)
@pytest.mark.parametrize("kind", CONNECTING_KINDS)
def test_it_refuses_a_name_that_resolves_to_a_refused_address(
    kind: str, address: str, reason: str, resolving_names: dict[str, str]
) -> None:
    name = resolving_names[address]
    assert socket.getaddrinfo(name, 80)[0][4][0] == address  # the trick works
    config, _ = config_for(kind, name)
    config = kind_class(kind).validate(config)  # a name is not looked up on save

    error = run_error(kind, config)

    assert error.startswith(f"{name} resolves to {address}, which {reason}")
    assert error.endswith(HINT)


@pytest.fixture
def redirector(aio_server: Callable[[web.Application], str]) -> Callable[[str], str]:
    """A real server whose /go answers 302 to the given Location."""

    def start(location: str) -> str:
        async def go(request: web.Request) -> web.Response:
            raise web.HTTPFound(location)

        app = web.Application()
        app.router.add_get("/go", go)
        return aio_server(app) + "/go"

    return start


@pytest.mark.parametrize("spelling", REFUSED, ids=ids)
def test_it_refuses_to_follow_a_redirect_to_a_refused_address(
    spelling: Spelling, redirector: Callable[[str], str]
) -> None:
    url = redirector(f"http://{spelling.url_host()}/latest/meta-data/")
    config = kind_class("http").validate({"url": url, "follow_redirects": True})

    error = run_error("http", config)

    assert spelling.reason in error and HINT in error


@pytest.mark.parametrize(
    "address", ["169.254.169.254", "fd00:ec2::254", "fe80::1", "::ffff:169.254.1.1"]
)
def test_it_refuses_a_socket_to_a_refused_address_as_it_connects(address: str) -> None:
    """The last guard, under the resolver and the request hooks: aiohttp makes
    every connection's socket through it, with the address about to be used."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    info = (family, socket.SOCK_STREAM, 6, "", (address, 80))

    with pytest.raises(TargetRefused, match=HINT):
        guarded_socket(info)


def test_it_makes_a_socket_to_an_address_probes_may_reach() -> None:
    info = (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 80))

    with guarded_socket(info) as made:
        assert made.family == socket.AF_INET


# --- private and loopback targets work ------------------------------------------------


def hello() -> web.Application:
    async def health(request: web.Request) -> web.Response:
        return web.Response(text="fine")

    app = web.Application()
    app.router.add_get("/", health)
    return app


def summary() -> web.Application:
    async def summary_json(request: web.Request) -> web.Response:
        component = {"id": "cmp000000001", "name": "API", "status": "operational"}
        return web.json_response({"components": [component]})

    app = web.Application()
    app.router.add_get("/api/v2/summary.json", summary_json)
    return app


class Served:
    """Real aiohttp servers on a given local address, counting requests."""

    def __init__(self, loop_thread: LoopThread) -> None:
        self.loop_thread = loop_thread
        self.runners: list[web.AppRunner] = []
        self.hits = 0

    def start(self, host: str, app: web.Application) -> int:
        @web.middleware
        async def count(request: web.Request, handler: Any) -> web.StreamResponse:
            self.hits += 1
            response: web.StreamResponse = await handler(request)
            return response

        app.middlewares.append(count)
        return int(self.loop_thread.call(self._start(host, app)))

    async def _start(self, host: str, app: web.Application) -> int:
        runner = web.AppRunner(app, shutdown_timeout=0.1)
        await runner.setup()
        site = web.TCPSite(runner, host, 0)
        await site.start()
        self.runners.append(runner)
        return int(runner.addresses[0][1])

    def stop(self) -> None:
        for runner in self.runners:
            self.loop_thread.call(runner.cleanup())


@pytest.fixture
def served(loop_thread: LoopThread) -> Iterator[Served]:
    servers = Served(loop_thread)
    yield servers
    servers.stop()


def run_up(kind: str, host: str, port: int) -> None:
    config, _ = config_for(kind, host, port)
    if kind == "tls":
        pytest.fail("tls needs a certificate; use tcp for a bare address")
    outcome = run_validated(kind, kind_class(kind).validate(config), timeout=5)
    assert outcome.outcome is Outcome.UP, outcome.steps


@pytest.mark.parametrize("kind", ["http", "journey", "statuspage", "tcp"])
@pytest.mark.parametrize(
    ("listen", "target"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("127.0.0.1", "localhost"),
        ("::1", "::1"),
    ],
)
def test_it_reaches_loopback_targets(
    kind: str, listen: str, target: str, served: Served
) -> None:
    port = served.start(listen, summary() if kind == "statuspage" else hello())
    if ":" in target and kind != "tcp":
        target = f"[{target}]"

    run_up(kind, target, port)


@pytest.mark.parametrize("target", ["2130706433", "0x7f.1", "::ffff:127.0.0.1"])
def test_it_reaches_loopback_spelled_oddly_with_tcp(
    target: str, served: Served
) -> None:
    """URLs must spell addresses plainly (aiohttp refuses 2130706433 as a URL's
    host); a tcp host goes to the system resolver, which reads these spellings."""
    port = served.start("127.0.0.1", hello())

    run_up("tcp", target, port)


@pytest.fixture
def private_address() -> Iterator[str]:
    with address_on_loopback("10.255.77.7/32") as address:
        yield address


@pytest.mark.parametrize("kind", ["http", "journey", "statuspage", "tcp"])
def test_it_reaches_a_private_target(
    kind: str, private_address: str, served: Served
) -> None:
    port = served.start(private_address, summary() if kind == "statuspage" else hello())

    run_up(kind, private_address, port)

    assert served.hits == (0 if kind == "tcp" else 1)


# --- PROBE_ALLOWED_NETWORKS ---------------------------------------------------------


@pytest.fixture
def link_local_address() -> Iterator[str]:
    with address_on_loopback("169.254.77.7/32") as address:
        yield address


@pytest.mark.parametrize("kind", ["http", "journey", "statuspage", "tcp"])
def test_it_reaches_a_link_local_target_only_when_probe_allowed_networks_lists_it(
    kind: str, link_local_address: str, served: Served, settings: Any
) -> None:
    port = served.start(
        link_local_address, summary() if kind == "statuspage" else hello()
    )
    config, field = config_for(kind, link_local_address, port)
    with pytest.raises(ValidationError) as refused:
        kind_class(kind).validate(config)
    assert "is a link-local address" in refused.value.message_dict[field][0]
    error = run_error(kind, saved_then_aimed(kind, link_local_address, port))
    assert error == f"169.254.77.7 is a link-local address; {HINT}"
    assert served.hits == 0  # the control: refused, nothing reached the server

    settings.PROBE_ALLOWED_NETWORKS = [ipaddress.ip_network("169.254.77.0/24")]

    run_up(kind, link_local_address, port)
    assert served.hits == (0 if kind == "tcp" else 1)


def test_it_reaches_an_allowed_link_local_target_by_name(
    link_local_address: str, served: Served, settings: Any
) -> None:
    port = served.start(link_local_address, hello())
    settings.PROBE_ALLOWED_NETWORKS = [ipaddress.ip_network("169.254.77.7/32")]
    with names_in_hosts_file([link_local_address]) as names:
        run_up("http", f"{names[link_local_address]}", port)
        settings.PROBE_ALLOWED_NETWORKS = [ipaddress.ip_network("10.0.0.0/8")]
        error = run_error(
            "http", saved_then_aimed("http", names[link_local_address], port)
        )
    assert "resolves to 169.254.77.7, which is a link-local address" in error
    assert served.hits == 1


def test_it_keeps_the_metadata_address_refused_inside_an_allowed_range(
    settings: Any,
) -> None:
    settings.PROBE_ALLOWED_NETWORKS = [ipaddress.ip_network("169.254.0.0/16")]

    error = run_error("http", saved_then_aimed("http", "169.254.169.254"))

    assert "is a cloud metadata address" in error
    assert kind_class("http").validate({"url": "http://169.254.10.1/"})


def settings_in_a_fresh_process(**env: str) -> subprocess.CompletedProcess[str]:
    code = "from django.conf import settings; print(settings.PROBE_ALLOWED_NETWORKS)"
    return subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_it_reads_probe_allowed_networks_from_the_environment() -> None:
    read = settings_in_a_fresh_process(
        PROBE_ALLOWED_NETWORKS="169.254.10.0/24, fe80::/64"
    )
    refused = settings_in_a_fresh_process(PROBE_ALLOWED_NETWORKS="169.254.10.0/33")

    assert read.returncode == 0, read.stderr
    assert "IPv4Network('169.254.10.0/24'), IPv6Network('fe80::/64')" in read.stdout
    assert refused.returncode != 0
    assert (
        "PROBE_ALLOWED_NETWORKS: '169.254.10.0/33' is not an IP address or a CIDR "
        "network" in refused.stderr
    )
