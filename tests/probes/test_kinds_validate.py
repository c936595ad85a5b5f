"""validate(): normalised configs, and one clear message per bad field."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from probes.kinds import KINDS, ProbeKind, UnknownKind, kind_class
from tests.probes.conftest import acme_journey


def errors(kind, config):
    with pytest.raises(ValidationError) as caught:
        kind_class(kind).validate(config)
    return {field: messages[0] for field, messages in caught.value.message_dict.items()}


def test_it_finds_every_kind_through_the_registry():
    for name in KINDS:
        kind = kind_class(name)
        assert issubclass(kind, ProbeKind)
        assert kind.name == name


def test_it_names_the_known_kinds_for_an_unknown_one():
    with pytest.raises(UnknownKind, match="unknown probe kind 'ftp'; known kinds: "):
        kind_class("ftp")


def test_it_fills_http_defaults():
    config = kind_class("http").validate({"url": "https://acme.test/health"})

    assert config["method"] == "GET"
    assert config["expected_status"] == ["200-399"]
    assert config["verify_tls"] is True
    assert config["follow_redirects"] is False
    assert config["degraded_after_ms"] is None


def test_it_normalises_expected_statuses():
    config = kind_class("http").validate(
        {"url": "http://acme.test", "expected_status": ["200-204", 301, "404,410"]}
    )

    assert config["expected_status"] == ["200-204", 301, 404, 410]


def test_it_refuses_an_http_probe_without_url():
    assert errors("http", {}) == {"url": "url is required"}


@pytest.mark.parametrize(
    ("config", "field", "message"),
    [
        ({"url": "ftp://acme.test"}, "url", "url must start with http:// or https://"),
        (
            {"url": "https://"},
            "url",
            "url must name a host, e.g. https://example.com/health",
        ),
        (
            {"url": "http://169.254.169.254/latest"},
            "url",
            "url must not point at 169.254.169.254, which is a cloud metadata address "
            "(the instance metadata service of most clouds); probes may not reach it "
            "unless PROBE_ALLOWED_NETWORKS allows it",
        ),
        (
            {"url": "http://0xa9fea9fe/"},
            "url",
            "url must not point at 0xa9fea9fe (169.254.169.254), which is a cloud "
            "metadata address (the instance metadata service of most clouds); probes "
            "may not reach it unless PROBE_ALLOWED_NETWORKS allows it",
        ),
        (
            {"method": "FETCH"},
            "method",
            "method must be one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS",
        ),
        (
            {"expected_status": "ok"},
            "expected_status",
            'expected_status must be a status code, a range like "200-299", '
            "or a list of them",
        ),
        (
            {"expected_status": [200, 700]},
            "expected_status",
            'expected_status must be a status code, a range like "200-299", '
            "or a list of them",
        ),
        (
            {"body_regex": "(unclosed"},
            "body_regex",
            "body_regex is not a valid regular expression: "
            "missing ), unterminated subpattern at position 0",
        ),
        (
            {"json_path": "data.status"},
            "json_path",
            "json_path needs json_equals: the value expected at that path",
        ),
        (
            {"degraded_after_ms": "fast"},
            "degraded_after_ms",
            "degraded_after_ms must be a number",
        ),
        (
            {"degraded_after_ms": 0},
            "degraded_after_ms",
            "degraded_after_ms must be more than 0",
        ),
        ({"verify_tls": "yes"}, "verify_tls", "verify_tls must be true or false"),
        (
            {"ca_file": "ca.pem"},
            "ca_file",
            "ca_file must be an absolute path to a PEM file of CA certificates",
        ),
        (
            {"headers": {"X-Retry": 3}},
            "headers",
            'headers must be an object of strings, e.g. {"Accept": "*/*"}',
        ),
        (
            {"body": "a", "json": {"a": 1}},
            "json",
            "json cannot be combined with body; send one body",
        ),
        (
            {"headers": {"Authorization": "Bearer {{token}}"}},
            "headers",
            "headers uses {{token}}, which is not declared in secrets",
        ),
    ],
)
def test_it_refuses_bad_http_fields(config, field, message):
    assert errors("http", {"url": "https://acme.test/", **config})[field] == message


@pytest.mark.parametrize("port", ["99999", "0", "http", "-1"])
@pytest.mark.parametrize("kind", ["http", "statuspage", "journey"])
def test_it_refuses_a_url_whose_port_is_out_of_range(kind, port):
    url = f"https://acme.test:{port}/health"
    config = {"url": url, **({"component": "API"} if kind == "statuspage" else {})}
    if kind == "journey":
        config = {"steps": [{"name": "home", "url": url}]}

    found = errors(kind, config)

    field = "steps.0.url" if kind == "journey" else "url"
    assert found == {field: f"{field} has a port out of range: use 1-65535, or none"}


def test_it_accepts_a_url_with_a_port_in_range():
    for url in ("https://acme.test:1/", "http://[::1]:65535/", "http://acme.test/"):
        assert kind_class("http").validate({"url": url})["url"] == url


def test_it_refuses_unknown_fields_such_as_typos():
    found = errors("http", {"url": "https://acme.test", "expected_statuses": [200]})

    assert found["expected_statuses"].startswith(
        "expected_statuses is not a known field; use one of: body, body_contains"
    )


def test_it_reports_every_bad_field_at_once():
    found = errors(
        "http", {"url": "mailto:x", "method": "BREW", "expected_status": "x"}
    )

    assert set(found) == {"url", "method", "expected_status"}


def test_it_accepts_the_acme_journey(acme):
    config = kind_class("journey").validate(acme_journey(acme))

    assert [s["name"] for s in config["steps"]][-1] == "sign out"
    assert config["steps"][-1]["cleanup"] is True
    assert config["steps"][0]["extract"][1] == {
        "from": "cookie",
        "name": "csrftoken",
        "var": "csrftoken",
        "secret": True,
    }


def test_it_refuses_a_journey_without_steps():
    assert errors("journey", {"steps": []}) == {
        "steps": "steps must be a list with at least one step"
    }


def step(**fields):
    return {"name": "home", "url": "https://acme.test/", **fields}


@pytest.mark.parametrize(
    ("steps", "field", "message"),
    [
        ([{"url": "https://acme.test/"}], "steps.0.name", "steps.0.name is required"),
        (
            [step(), step()],
            "steps.1.name",
            "steps.1.name is already used by another step; names must be unique",
        ),
        (
            [step(url="acme.test")],
            "steps.0.url",
            "steps.0.url must start with http:// or https://",
        ),
        (
            [step(component="Web App")],
            "steps.0.component",
            "steps.0.component must be a component's public id (12 of a-z, 0-9)",
        ),
        (
            [step(extract=[{"from": "body", "pattern": "(x)"}])],
            "steps.0.extract.0.from",
            "steps.0.extract.0.from must be one of html, cookie, json, header",
        ),
        (
            [step(extract=[{"from": "html", "var": "csrf", "pattern": "value=\\w+"}])],
            "steps.0.extract.0.pattern",
            "steps.0.extract.0.pattern must have exactly "
            "one (group) around the value to take",
        ),
        (
            [step(extract=[{"from": "html", "pattern": "(x)"}])],
            "steps.0.extract.0.var",
            "steps.0.extract.0.var is required",
        ),
        (
            [step(extract=[{"from": "cookie"}])],
            "steps.0.extract.0.name",
            "steps.0.extract.0.name is required",
        ),
        (
            [step(extract={"from": "cookie"})],
            "steps.0.extract",
            "steps.0.extract must be a list, "
            'e.g. [{"from": "cookie", "name": "csrftoken"}]',
        ),
        (
            [step(url="https://acme.test/{{user}}")],
            "steps.0.url",
            "steps.0.url uses "
            "{{user}}, which is neither in secrets nor extracted by an earlier step",
        ),
        (
            [
                step(name="me", headers={"X-Token": "{{token}}"}),
                step(name="token", extract=[{"from": "json", "path": "token"}]),
            ],
            "steps.0.headers",
            "steps.0.headers uses {{token}}, which is neither in secrets nor extracted "
            "by an earlier step",
        ),
        (["GET /"], "steps.0", "steps.0 must be an object with a name and a url"),
    ],
)
def test_it_refuses_bad_journey_steps(steps, field, message):
    assert errors("journey", {"steps": steps})[field] == message


def test_it_refuses_a_bad_secret_setting_name():
    found = errors(
        "journey", {"steps": [step()], "secrets": {"password": "acme password"}}
    )

    assert found == {
        "secrets": "secrets must name a setting for 'password', e.g. ACME_PASSWORD"
    }


@pytest.mark.parametrize(
    ("config", "field", "message"),
    [
        ({"port": 22}, "host", "host is required"),
        ({"host": "db.acme.test"}, "port", "port is required (1-65535)"),
        (
            {"host": "db.acme.test", "port": 70000},
            "port",
            "port must be between 1 and 65535",
        ),
        ({"host": "db.acme.test", "port": "22"}, "port", "port must be a whole number"),
        (
            {"host": "tcp://db.acme.test", "port": 22},
            "host",
            "host must be a host name or address, not a URL",
        ),
    ],
)
def test_it_refuses_bad_tcp_configs(config, field, message):
    assert errors("tcp", config)[field] == message


def test_it_fills_tls_defaults():
    config = kind_class("tls").validate({"host": "acme.test"})

    assert config == {
        "host": "acme.test",
        "port": 443,
        "warn_days": 14,
        "ca_file": None,
    }


def test_it_refuses_bad_tls_configs():
    found = errors("tls", {"host": "acme.test", "warn_days": -1, "port": 0})

    assert found == {
        "warn_days": "warn_days must be at least 0",
        "port": "port must be between 1 and 65535",
    }


def test_it_refuses_bad_statuspage_configs():
    assert errors("statuspage", {"url": "status.up.test"}) == {
        "url": "url must start with http:// or https://",
        "component": "component is required",
    }


def test_it_refuses_bad_heartbeat_configs():
    assert errors("heartbeat", {}) == {
        "period_seconds": "period_seconds is required: "
        "how often the job pings, in seconds"
    }
    assert errors("heartbeat", {"period_seconds": 0, "grace_seconds": 1.5}) == {
        "period_seconds": "period_seconds must be at least 1",
        "grace_seconds": "grace_seconds must be a whole number",
    }
