"""The pieces of signing in that no page shows on its own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.models import User
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, RequestFactory
from django.urls import reverse

from accounts import sso
from statuspage import settings as project_settings
from tests.conftest import ROOT

from .conftest import PASSWORD, make_staff

MAP = {"heliograph-admins": "admin", "heliograph-oncall": "responder"}


@pytest.mark.django_db
def test_it_refuses_every_password_without_local_passwords(settings: Any) -> None:
    make_staff("ada")
    request = RequestFactory().post("/accounts/login/", REMOTE_ADDR="127.0.0.1")

    settings.LOCAL_PASSWORDS = False
    refused = authenticate(request, username="ada", password=PASSWORD)
    settings.LOCAL_PASSWORDS = True
    accepted = authenticate(request, username="ada", password=PASSWORD)

    assert refused is None
    assert accepted is not None and accepted.username == "ada"


@pytest.mark.django_db
def test_it_tells_a_signed_in_user_without_staff_status_it_has_no_access(
    client: Client,
) -> None:
    client.force_login(User.objects.create_user("reader"))

    answer = client.get(reverse("admin:login"))

    assert answer.status_code == 403


@pytest.mark.parametrize(
    ("claim", "roles"),
    [
        (["heliograph-admins", "heliograph-oncall", "other"], {"admin", "responder"}),
        ("heliograph-oncall", {"responder"}),
        (["marketing"], set()),
        (None, set()),
        ({"heliograph-admins": True}, set()),
    ],
    ids=["list", "string", "unmapped", "missing", "not-a-list"],
)
def test_it_maps_the_role_claim(settings: Any, claim: Any, roles: set[str]) -> None:
    settings.OIDC_ROLE_CLAIM = "groups"
    settings.OIDC_ROLE_MAP = MAP

    assert sso.roles_from_claims({"sub": "ada", "groups": claim}) == roles


def test_it_reads_the_claim_from_the_id_token_or_userinfo() -> None:
    claims = sso.claims_of(
        {"id_token": {"sub": "ada", "groups": ["a"]}, "userinfo": {"sub": "ada"}}
    )

    assert claims == {"sub": "ada", "groups": ["a"]}


@pytest.mark.parametrize(
    "value", ["heliograph-admins:root", "heliograph-admins", ":admin"]
)
def test_it_names_a_bad_role_map(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("OIDC_ROLE_MAP", value)

    with pytest.raises(ImproperlyConfigured, match="OIDC_ROLE_MAP: .* should be"):
        project_settings._role_map("OIDC_ROLE_MAP")


def test_it_reads_a_role_map(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "OIDC_ROLE_MAP", "heliograph-admins:admin, urn:acme:ops:responder"
    )

    assert project_settings._role_map("OIDC_ROLE_MAP") == {
        "heliograph-admins": "admin",
        "urn:acme:ops": "responder",
    }


SHOW_SECRET = (
    "from django.conf import settings; "
    "print(settings.SOCIALACCOUNT_PROVIDERS['openid_connect']['APPS'][0]['secret'])"
)


def check(*command: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``manage.py check`` (or another command) with these settings on top of the
    test run's."""
    return subprocess.run(
        [sys.executable, "manage.py", *(command or ["check"])],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"LOCAL_PASSWORDS": "false"},
            "LOCAL_PASSWORDS=false needs single sign-on: set OIDC_SERVER_URL",
        ),
        (
            {"OIDC_SERVER_URL": "https://id.acme.test", "OIDC_CLIENT_ID": "h"},
            "OIDC_SERVER_URL is set: set OIDC_CLIENT_ID and OIDC_CLIENT_SECRET",
        ),
        (
            {"SIGNIN_ACCOUNT_FAILURE_LIMIT": "0"},
            "SIGNIN_ACCOUNT_FAILURE_LIMIT=0: expected 1 or more",
        ),
        ({"SIGNIN_LOCKOUT_MINUTES": "soon"}, "SIGNIN_LOCKOUT_MINUTES='soon'"),
    ],
    ids=["no-way-in", "no-secret", "zero-limit", "not-a-number"],
)
def test_it_names_a_sign_in_setting_that_cannot_work(
    env: dict[str, str], message: str
) -> None:
    result = check(**env)

    assert result.returncode != 0
    assert message in result.stderr


def test_it_reads_the_client_secret_from_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "oidc_client_secret"
    secret.write_text("from-a-file\n")

    result = check(
        "shell",
        "-c",
        SHOW_SECRET,
        OIDC_SERVER_URL="https://id.acme.test",
        OIDC_CLIENT_ID="heliograph",
        OIDC_CLIENT_SECRET_FILE=str(secret),
        LOCAL_PASSWORDS="false",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "from-a-file"
