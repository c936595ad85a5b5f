"""Secret tokens in paths stay out of the access log.

Subscription links (``/subscriptions/confirm/<token>``...) and heartbeat addresses
(``/heartbeat/<token>``) carry their secret in the path. The web server's own
access log is off; Heliograph's (the logger ``heliograph.access``) writes each
request with those segments replaced by ``<token>``.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from kit.access import logged_path
from notifications.models import Channel
from notifications.services.subscribers import subscriber_subscribe
from notifications.tokens import CONFIRM, MANAGE, token_for
from probes.services import probe_create
from tests.conftest import ROOT, make_component, make_page, worker_database_url
from tests.servers import free_port, stop_process, wait_for_port

# The web process as bin/run and the README start it, on one worker.
SERVERS = {
    "granian": [
        *("-m", "granian", "--interface", "wsgi", "statuspage.wsgi:application"),
        *("--host", "127.0.0.1", "--port", "{port}", "--workers", "1"),
        *("--blocking-threads", "2", "--log-level", "warning"),
    ],
    "gunicorn": [
        *("-m", "gunicorn", "statuspage.wsgi", "--bind", "127.0.0.1:{port}"),
        *("--workers", "1", "--log-level", "warning"),
    ],
}


def tokens() -> dict[str, str]:
    """A real heartbeat token and subscription links, by what they are."""
    make_page(name="Acme")
    _, heartbeat = probe_create(
        name="Nightly backup",
        kind="heartbeat",
        component=make_component(name="Backup"),
        config={"period_seconds": 86400},
    )
    subscriber, _ = subscriber_subscribe(channel=Channel.EMAIL, email="a@acme.test")
    assert heartbeat is not None
    return {
        "heartbeat": heartbeat,
        "confirm": token_for(subscriber, CONFIRM),
        "manage": token_for(subscriber, MANAGE),
    }


def paths(secret: dict[str, str]) -> list[str]:
    return [
        reverse("probes:heartbeat", args=[secret["heartbeat"]]),
        reverse("notifications:confirm", args=[secret["confirm"]]),
        reverse("notifications:manage", args=[secret["manage"]]),
        reverse("notifications:unsubscribe", args=[secret["manage"]]),
        # Matches no URL (a trailing slash): cut after the route's fixed start.
        reverse("probes:heartbeat", args=[secret["heartbeat"]]) + "/",
        "/subscriptions/confirm/" + secret["confirm"] + "/again",
    ]


@pytest.fixture
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    port = free_port()
    log = tmp_path / "server.log"
    command = [sys.executable, *(a.format(port=port) for a in SERVERS[request.param])]
    environment = {
        "DATABASE_URL": worker_database_url(),
        "SNAPSHOT_DIR": str(tmp_path / "snapshot"),
        "LOG_LEVEL": "WARNING",  # the access log is written all the same
    }
    with log.open("ab") as output:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, **environment},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_port(port, timeout=30, process=process)
        yield f"http://127.0.0.1:{port}", log, process
    finally:
        stop_process(process, signal.SIGTERM)


@pytest.mark.usefixtures("transactional_db")
@pytest.mark.parametrize("server", list(SERVERS), indirect=True)
def test_it_leaves_tokens_out_of_a_real_server_s_log(server: Any) -> None:
    url, log, process = server
    secret = tokens()

    statuses = []
    for path in paths(secret):
        try:
            with urllib.request.urlopen(url + path, timeout=10) as answer:
                statuses.append(answer.status)
        except urllib.error.HTTPError as error:
            statuses.append(error.code)
    # Gracefully (SIGTERM), as a process manager stops it: SIGINT ends gunicorn's
    # worker mid-request at times, and gunicorn logs that request's path itself.
    stop_process(process, signal.SIGTERM)

    written = log.read_text()
    assert statuses[0] == 200  # the heartbeat was taken
    for value in secret.values():
        assert value not in written
    lines = [line for line in written.splitlines() if line.startswith("GET ")]
    assert [line.rsplit(" ", 2)[0] for line in lines] == [
        "GET /heartbeat/<token>",
        "GET /subscriptions/confirm/<token>",
        "GET /subscriptions/manage/<token>",
        "GET /subscriptions/unsubscribe/<token>",
        "GET /heartbeat/<token>",
        "GET /subscriptions/confirm/<token>",
    ]
    assert [int(line.split(" ")[2]) for line in lines] == statuses


@pytest.mark.django_db
def test_it_logs_one_line_per_request_with_method_status_and_duration(
    caplog: pytest.LogCaptureFixture, client: Client
) -> None:
    make_page(name="Acme")
    caplog.set_level(logging.INFO, logger="heliograph.access")

    client.get("/history/?page=1&api_key=secret")
    client.post("/heartbeat/abc", {})

    records = [r for r in caplog.records if r.name == "heliograph.access"]
    lines = [record.getMessage() for record in records]
    assert len(lines) == 2
    assert lines[0].startswith("GET /history/ 200 ")  # no query string
    assert lines[1].startswith("POST /heartbeat/<token> ")
    assert lines[0].endswith("ms")


def test_it_keeps_ids_that_are_not_secret() -> None:
    from django.test import RequestFactory

    request = RequestFactory().get("/incidents/abc123def456")
    assert logged_path(request) == "/incidents/abc123def456"
