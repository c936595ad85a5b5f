"""Request bodies as clients really send them: chunked, too large, not UTF-8.

Chunked bodies are sent to the real servers Heliograph runs under (granian, as
bin/run starts it, and gunicorn), since each server hands the body over its own
way; the rest go through Django's test client.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings

from incidents.models import Component, Page
from integrations.models import Integration
from probes.models import FiringAlert
from tests.api_helpers import api_client, body, token_for, v1
from tests.conftest import ROOT, make_component, make_page, worker_database_url
from tests.integrations.conftest import make_alert_probe, make_integration, post
from tests.servers import free_port, stop_process, wait_for_port

LIMIT = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
TOO_LARGE = {"error": f"The body must be at most {LIMIT} bytes."}
FORM = "application/x-www-form-urlencoded"

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


def padded(size: int) -> bytes:
    return b'{"component": {"description": "' + b"x" * size + b'"}}'


# Too large ------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("content_type", ["application/json", FORM])
def test_it_answers_a_body_over_the_limit_with_a_json_413(content_type: str) -> None:
    make_page(name="Acme")
    component = make_component(name="API")
    data = padded(LIMIT)
    if content_type == FORM:
        data = b"component[description]=" + b"x" * LIMIT

    response = api_client().patch(
        v1(f"components/{component.public_id}"), data, content_type=content_type
    )

    assert response.status_code == 413
    assert body(response) == TOO_LARGE
    assert Component.objects.get(pk=component.pk).description == ""


@pytest.mark.django_db
def test_it_answers_an_integration_s_body_over_the_limit_with_a_json_413() -> None:
    integration, secret = make_integration()

    response = post(integration, None, secret=secret, raw=padded(LIMIT))

    assert response.status_code == 413
    assert response.json()["error"] == TOO_LARGE["error"]


# Not UTF-8 ------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "data",
    [b"component[description]=caf\xe9", b"component[description]=caf%E9"],
    ids=["raw-latin-1", "percent-encoded-latin-1"],
)
def test_it_refuses_a_form_body_that_is_not_utf8_naming_the_field(data: bytes) -> None:
    make_page(name="Acme")
    component = make_component(name="API")

    response = api_client().patch(
        v1(f"components/{component.public_id}"),
        b"component[name]=Caf%C3%A9&" + data,
        content_type=FORM,
    )

    assert response.status_code == 400
    errors = body(response)["errors"]
    assert list(errors) == ["component.description"]
    assert "UTF-8" in errors["component.description"][0]
    assert Component.objects.get(pk=component.pk).name == "API"


@pytest.mark.django_db
def test_it_still_reads_a_utf8_form_body() -> None:
    make_page(name="Acme")
    component = make_component(name="API")

    response = api_client().patch(
        v1(f"components/{component.public_id}"),
        "component[description]=Caf%C3%A9+%E2%9C%93",
        content_type=FORM,
    )

    assert response.status_code == 200, response.content
    assert Component.objects.get(pk=component.pk).description == "Café ✓"


# Chunked, on real servers ---------------------------------------------------------


@pytest.fixture
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    command = [sys.executable, *(a.format(port=port) for a in SERVERS[request.param])]
    environment = {
        "DATABASE_URL": worker_database_url(),
        "SNAPSHOT_DIR": str(tmp_path / "snapshot"),
        "LOG_LEVEL": "WARNING",
    }
    with (tmp_path / "server.log").open("ab") as output:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, **environment},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_port(port, timeout=30, process=process)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(process, signal.SIGTERM)


def send_chunked(
    url: str, method: str, path: str, chunks: list[bytes], **headers: str
) -> tuple[int, Any]:
    """Send the body in chunks with no Content-Length, as curl -T - or a proxy does."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request(
            method,
            path,
            body=iter(chunks),
            headers={"Transfer-Encoding": "chunked", **headers},
            encode_chunked=True,
        )
        answer = connection.getresponse()
        return answer.status, json.loads(answer.read() or b"null")
    finally:
        connection.close()


@pytest.mark.usefixtures("transactional_db")
@pytest.mark.parametrize("server", list(SERVERS), indirect=True)
def test_it_reads_a_chunked_body_on_a_real_server(server: str) -> None:
    make_page(name="Acme")
    component = make_component(name="API")
    token = token_for()
    path = f"/api/v1/pages/{Page.get().public_id}/components/{component.public_id}"
    api = {"Authorization": f"OAuth {token}", "Content-Type": "application/json"}
    sent = [b'{"component": ', b'{"status": "major_outage"', b"}}"]

    status, answer = send_chunked(server, "PATCH", path, sent, **api)

    assert status == 200, answer
    assert answer["status"] == "major_outage"
    assert Component.objects.get(pk=component.pk).status == "major_outage"

    form = {"Authorization": f"OAuth {token}", "Content-Type": FORM}
    sent = [b"component[description]=", b"Caf%C3%A9"]
    status, answer = send_chunked(server, "PATCH", path, sent, **form)
    assert (status, answer["description"]) == (200, "Café")

    big = [b"x" * 65536] * (LIMIT // 65536 + 2)
    status, answer = send_chunked(server, "PATCH", path, big, **api)
    assert (status, answer) == (413, TOO_LARGE)


@pytest.mark.usefixtures("transactional_db")
@pytest.mark.parametrize("server", list(SERVERS), indirect=True)
def test_it_reads_a_chunked_alert_body_on_a_real_server(server: str) -> None:
    probe = make_alert_probe(make_component(name="Login"))
    integration, secret = make_integration(kind="generic")
    path = f"/api/v1/integrations/webhook/{integration.public_id}"
    alert = {"status": "firing", "labels": {"alertname": "LoginDown"}}
    sent = [json.dumps(alert).encode()[:10], json.dumps(alert).encode()[10:]]

    status, answer = send_chunked(
        server,
        "POST",
        path,
        sent,
        Authorization=f"Bearer {secret}",
        **{"Content-Type": "application/json"},
    )

    assert status == 200, answer
    assert answer == {"alerts": 1, "matched": 1, "probes": 1}
    assert FiringAlert.objects.filter(probe=probe).count() == 1
    assert Integration.objects.get(pk=integration.pk).last_received_at is not None


# Nested too deep (the previous fix), on the endpoints it did not cover -----------


@pytest.mark.django_db
def test_it_tells_alertmanager_its_body_nests_too_deep() -> None:
    integration, secret = make_integration()
    deep = b'{"version": "4", "alerts": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"

    response = post(integration, None, secret=secret, raw=deep)

    assert response.status_code == 400
    assert response.json() == {"field": "body", "reason": "nests deeper than 64 levels"}


@pytest.mark.django_db
def test_it_refuses_a_deep_form_body_on_a_create_too() -> None:
    make_page(name="Acme")
    key = "incident" + "[x]" * 20_000 + "[name]"

    response = api_client().post(v1("incidents"), f"{key}=Outage", content_type=FORM)

    assert response.status_code == 400
    assert body(response) == {"error": "The body nests deeper than 64 levels."}
