"""The tcp and tls kinds against real sockets and trustme certificates."""

from __future__ import annotations

import datetime as dt

from probes.kinds import Outcome
from tests.probes.conftest import run_probe


def tcp(**config):
    return run_probe("tcp", {"host": "127.0.0.1", **config}).steps[0]


def tls(port, ca_file, **config):
    config = {"host": "127.0.0.1", "port": port, "ca_file": ca_file, **config}
    return run_probe("tls", config).steps[0]


def test_it_is_up_when_a_tcp_port_accepts(listening_port):
    result = tcp(port=listening_port)

    assert result.outcome is Outcome.UP
    assert result.latency_ms is not None


def test_it_is_down_when_a_tcp_port_is_closed(closed_port):
    result = tcp(port=closed_port)

    assert result.outcome is Outcome.DOWN
    assert result.error == "connection refused"


def test_it_is_degraded_when_a_tcp_connect_is_slow(listening_port):
    result = tcp(port=listening_port, degraded_after_ms=0.001)

    assert result.outcome is Outcome.DEGRADED
    assert result.error.startswith("slow: ")


def test_it_is_up_when_the_certificate_is_valid_for_long(ca, ca_file, tls_server):
    port = tls_server(ca.issue_cert("127.0.0.1"))

    result = tls(port, ca_file)

    assert result.outcome is Outcome.UP
    assert result.error == ""


def test_it_is_degraded_when_the_certificate_expires_soon(ca, ca_file, tls_server):
    not_after = dt.datetime.now(dt.UTC) + dt.timedelta(days=5, hours=1)
    port = tls_server(ca.issue_cert("127.0.0.1", not_after=not_after))

    result = run_probe(
        "tls",
        {"host": "127.0.0.1", "port": port, "ca_file": ca_file},
        now=dt.datetime.now(dt.UTC),
    ).steps[0]

    assert result.outcome is Outcome.DEGRADED
    assert result.error == "certificate expires in 5 days"


def test_it_honours_warn_days(ca, ca_file, tls_server):
    not_after = dt.datetime.now(dt.UTC) + dt.timedelta(days=5, hours=1)
    port = tls_server(ca.issue_cert("127.0.0.1", not_after=not_after))
    config = {"host": "127.0.0.1", "port": port, "ca_file": ca_file, "warn_days": 3}

    result = run_probe("tls", config, now=dt.datetime.now(dt.UTC)).steps[0]

    assert result.outcome is Outcome.UP


def test_it_is_down_when_the_certificate_has_expired(ca, ca_file, tls_server):
    now = dt.datetime.now(dt.UTC)
    leaf = ca.issue_cert(
        "127.0.0.1",
        not_before=now - dt.timedelta(days=90),
        not_after=now - dt.timedelta(days=1),
    )

    result = tls(tls_server(leaf), ca_file)

    assert result.outcome is Outcome.DOWN
    assert result.error == "TLS certificate not accepted: certificate has expired"


def test_it_is_down_when_the_certificate_names_another_host(ca, ca_file, tls_server):
    result = tls(tls_server(ca.issue_cert("status.acme.test")), ca_file)

    assert result.outcome is Outcome.DOWN
    assert "mismatch" in result.error


def test_it_is_down_when_the_certificate_is_not_trusted(ca, tls_server):
    port = tls_server(ca.issue_cert("127.0.0.1"))

    result = run_probe("tls", {"host": "127.0.0.1", "port": port}).steps[0]

    assert result.outcome is Outcome.DOWN
    assert result.error.startswith("TLS certificate not accepted: ")
    assert "issuer" in result.error


def test_it_is_down_when_nothing_speaks_tls(closed_port, ca_file):
    result = tls(closed_port, ca_file)

    assert result.outcome is Outcome.DOWN
    assert result.error == "connection refused"
