"""The http kind against real servers: pytest-httpserver and aiohttp apps."""

from __future__ import annotations

import asyncio

import pytest
import trustme
from aiohttp import web
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from probes.kinds import Outcome
from probes.kinds.http import Http
from probes.kinds.network import GuardedResolver, TargetRefused
from tests.probes.conftest import (
    bind_secrets,
    run_probe,
    run_validated,
    server_context,
)


def check(url, timeout=5, **config):
    return run_probe("http", {"url": url, **config}, timeout=timeout).steps[0]


def test_it_is_up_on_an_expected_status(httpserver):
    httpserver.expect_request("/health").respond_with_data("ok")

    result = check(httpserver.url_for("/health"))

    assert result.outcome is Outcome.UP
    assert result.status_code == 200
    assert result.latency_ms is not None and result.latency_ms > 0
    assert result.step == "main" and result.error == ""


def test_it_is_down_on_an_unexpected_status(httpserver):
    httpserver.expect_request("/health").respond_with_data("boom", status=500)

    result = check(httpserver.url_for("/health"))

    assert result.outcome is Outcome.DOWN
    assert result.status_code == 500
    assert result.error == "expected status 200-399, got 500"


def test_it_accepts_a_list_of_expected_statuses(httpserver):
    httpserver.expect_request("/gone").respond_with_data("", status=410)

    result = check(httpserver.url_for("/gone"), expected_status=[200, "400-410"])

    assert result.outcome is Outcome.UP


def test_it_checks_that_the_body_contains_a_text(httpserver):
    httpserver.expect_request("/").respond_with_data("<h1>Acme is running</h1>")

    assert check(httpserver.url_for("/"), body_contains="running").outcome is Outcome.UP
    failed = check(httpserver.url_for("/"), body_contains="All good")
    assert failed.outcome is Outcome.DOWN
    assert failed.error == 'response body does not contain "All good"'


def test_it_checks_the_body_against_a_regex(httpserver):
    httpserver.expect_request("/").respond_with_data("version 2.14.1 ready")

    assert (
        check(httpserver.url_for("/"), body_regex=r"version \d+\.\d+").outcome == "up"
    )
    failed = check(httpserver.url_for("/"), body_regex=r"^ok$")
    assert failed.outcome is Outcome.DOWN
    assert failed.error == "response body does not match /^ok$/"


def test_it_checks_a_json_path(httpserver):
    document = {"data": {"status": "ok"}, "items": [{"name": "db", "up": True}]}
    httpserver.expect_request("/status").respond_with_json(document)
    url = httpserver.url_for("/status")

    assert check(url, json_path="data.status", json_equals="ok").outcome == "up"
    assert check(url, json_path="items.0.up", json_equals=True).outcome == "up"
    wrong = check(url, json_path="items.0.name", json_equals="cache")
    # What came is described, never quoted: a target may echo a secret there.
    assert wrong.error == 'items.0.name was a string of 2 characters, expected "cache"'
    missing = check(url, json_path="items.3.name", json_equals="db")
    assert missing.error == "items.3.name not found in the JSON response"
    # JSON true is not 1.
    assert check(url, json_path="items.0.up", json_equals=1).outcome == "down"


def test_it_is_down_when_a_json_path_is_checked_on_html(httpserver):
    httpserver.expect_request("/").respond_with_data("<html></html>")

    result = check(httpserver.url_for("/"), json_path="status", json_equals="ok")

    assert result.error == "response is not JSON, cannot read status"


def test_it_is_degraded_when_slower_than_degraded_after_ms(aio_server):
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(0.2)
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/", slow)
    url = aio_server(app)

    result = check(url + "/", degraded_after_ms=100)

    assert result.outcome is Outcome.DEGRADED
    assert result.latency_ms >= 200
    assert result.error.startswith("slow: ") and result.error.endswith("above 100 ms")
    assert check(url + "/", degraded_after_ms=5000).outcome is Outcome.UP


def test_it_does_not_follow_redirects_unless_asked(httpserver):
    httpserver.expect_request("/old").respond_with_data(
        "", status=302, headers={"Location": "/new"}
    )
    httpserver.expect_request("/new").respond_with_data("here")

    not_followed = check(httpserver.url_for("/old"), expected_status=200)
    assert not_followed.outcome is Outcome.DOWN
    assert not_followed.error == "expected status 200, got 302"
    assert [r.path for r, _ in httpserver.log] == ["/old"]

    followed = check(
        httpserver.url_for("/old"), expected_status=200, follow_redirects=True
    )
    assert followed.outcome is Outcome.UP


def test_it_is_down_promptly_when_the_target_hangs(aio_server):
    """Down on its own timeout, without waiting for the target's answer (how long
    that takes is a figure: bench/timings.py prints it)."""
    answered = []

    async def hang(request: web.Request) -> web.Response:
        await asyncio.sleep(30)
        answered.append(request.path)
        return web.Response(text="too late")

    app = web.Application()
    app.router.add_get("/", hang)
    url = aio_server(app)

    result = check(url + "/", timeout=0.5)

    assert answered == []  # it did not wait for the target
    assert result.outcome is Outcome.DOWN
    assert result.error == "timed out after 0.5 s"
    assert result.latency_ms is None


def test_it_is_down_when_the_connection_is_refused(closed_port):
    result = check(f"http://127.0.0.1:{closed_port}/")

    assert result.outcome is Outcome.DOWN
    assert result.error.startswith(f"could not connect to 127.0.0.1:{closed_port}")
    assert result.error.endswith("connection refused")


def test_it_is_down_when_the_host_does_not_resolve():
    result = check("http://no-such-host.invalid/", timeout=3)

    assert result.outcome is Outcome.DOWN
    assert result.error


def test_it_sends_method_headers_and_body(httpserver):
    httpserver.expect_request(
        "/hook", method="POST", headers={"X-Check": "1"}, json={"ping": True}
    ).respond_with_data("", status=204)

    result = check(
        httpserver.url_for("/hook"),
        method="post",
        headers={"X-Check": "1"},
        json={"ping": True},
    )

    assert result.outcome is Outcome.UP
    assert result.status_code == 204


def test_it_fills_secrets_into_headers_and_keeps_them_out_of_errors(
    httpserver, settings
):
    token = "s3cr3t-api-token"
    bind_secrets(settings, httpserver.url_for("/"), "ACME_API_TOKEN")

    def echo(request: Request) -> Response:
        # Fails, and tells what it got, the way some APIs do.
        return Response(f'{{"detail": "{request.headers["Authorization"]}"}}', 401)

    httpserver.expect_request("/me").respond_with_handler(echo)
    config = {
        "url": httpserver.url_for("/me"),
        "headers": {"Authorization": "Bearer {{token}}"},
        "secrets": {"token": "ACME_API_TOKEN"},
        "expected_status": "200-499",
        "json_path": "detail",
        "json_equals": "ok",
    }

    result = run_probe("http", config, secrets={"token": token}).steps[0]

    assert result.outcome is Outcome.DOWN
    assert result.error == 'detail was a string of 23 characters, expected "ok"'
    assert httpserver.log[0][0].headers["Authorization"] == f"Bearer {token}"


def test_it_refuses_cloud_metadata_addresses_at_run_time_too():
    # As if saved before the rule existed: validate() would refuse it now.
    config = Http.validate({"url": "http://example.com/"})
    config["url"] = "http://[::ffff:169.254.169.254]/latest/meta-data/"

    result = run_validated("http", config).steps[0]

    assert result.outcome is Outcome.DOWN
    assert "cloud metadata" in result.error


def test_it_refuses_names_that_resolve_to_cloud_metadata():
    # 2852039166 is 169.254.169.254 as one decimal number; the resolver reads it so.
    async def resolve() -> None:
        await GuardedResolver().resolve("2852039166", 80)

    with pytest.raises(TargetRefused, match="cloud metadata"):
        asyncio.run(resolve())


def test_it_refuses_a_redirect_to_cloud_metadata(httpserver):
    httpserver.expect_request("/").respond_with_data(
        "", status=302, headers={"Location": "http://169.254.169.254/latest/"}
    )

    result = check(httpserver.url_for("/"), follow_redirects=True, timeout=2)

    assert result.outcome is Outcome.DOWN
    assert "cloud metadata" in result.error


# --- TLS ---------------------------------------------------------------------


@pytest.fixture
def https_server(ca):
    leaf = ca.issue_cert("127.0.0.1", "localhost")
    server = HTTPServer(host="127.0.0.1", ssl_context=server_context(leaf))
    server.expect_request("/").respond_with_data("secure")
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


def test_it_is_down_on_an_untrusted_certificate(https_server):
    result = check(https_server.url_for("/"))

    assert result.outcome is Outcome.DOWN
    assert result.error.startswith("TLS certificate not accepted: ")


def test_it_trusts_a_private_ca_from_ca_file(https_server, ca_file):
    assert check(https_server.url_for("/"), ca_file=ca_file).outcome is Outcome.UP


def test_it_skips_tls_verification_when_asked(https_server):
    assert check(https_server.url_for("/"), verify_tls=False).outcome is Outcome.UP


def test_it_is_down_when_the_certificate_names_another_host(ca, ca_file):
    leaf: trustme.LeafCert = ca.issue_cert("other.example")
    server = HTTPServer(host="127.0.0.1", ssl_context=server_context(leaf))
    server.expect_request("/").respond_with_data("secure")
    server.start()
    try:
        result = check(server.url_for("/"), ca_file=ca_file)
    finally:
        server.stop()

    assert result.outcome is Outcome.DOWN
    assert "mismatch" in result.error
