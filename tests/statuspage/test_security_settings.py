"""Production defaults: a strong SECRET_KEY or no start, HSTS for a year on HTTPS."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from django.test import Client

from tests.conftest import make_page
from tests.statuspage.test_settings import _manage
from visitor.snapshot import publish
from visitor.snapshot.serve import VERSION_HEADER

GENERATE = "python -c 'import secrets; print(secrets.token_urlsafe(50))'"


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("test-only-secret-key", "it has 20 characters, fewer than 50"),
        ("ab" * 40, "it has 2 different characters, fewer than 5"),
        ("django-insecure-" + "k3y" * 20, "it starts with 'django-insecure-'"),
    ],
)
def test_it_refuses_to_start_with_a_weak_secret_key(key: str, reason: str) -> None:
    result = _manage("check", SECRET_KEY=key)

    assert result.returncode != 0
    assert (
        f"SECRET_KEY is too weak for production (DEBUG=false): {reason}. Use at least "
        f"50 random characters; generate one with: {GENERATE}"
    ) in result.stderr


def test_it_starts_with_a_generated_key_or_any_key_in_debug() -> None:
    generated = _manage("check", SECRET_KEY=secrets.token_urlsafe(50))
    debug = _manage("check", SECRET_KEY="short", DEBUG="true")

    assert generated.returncode == 0, generated.stderr
    assert debug.returncode == 0, debug.stderr


@pytest.mark.django_db
def test_it_sends_hsts_for_a_year_over_https_only(client: Client) -> None:
    make_page(name="Acme")

    live_https = client.get("/history/", secure=True)
    live_http = client.get("/history/")
    publish.snapshot_publish()
    snapshot_https = client.get("/history/", secure=True)
    snapshot_http = client.get("/history/")

    assert VERSION_HEADER not in live_https and VERSION_HEADER in snapshot_https
    for answer in (live_https, snapshot_https):
        assert answer["Strict-Transport-Security"] == "max-age=31536000"
    for answer in (live_http, snapshot_http):
        assert "Strict-Transport-Security" not in answer


@pytest.mark.django_db
def test_it_adds_subdomains_and_preload_when_asked(
    client: Client, settings: Any
) -> None:
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True
    make_page(name="Acme")
    publish.snapshot_publish()

    answer = client.get("/", secure=True)

    assert answer["Strict-Transport-Security"] == (
        "max-age=31536000; includeSubDomains; preload"
    )
