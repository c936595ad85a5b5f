"""Single sign-on in headless Chromium against a real OpenID Connect provider.

The provider is panva's oidc-provider (tests/oidc/, installed by `make test`),
started on loopback for this module; its accounts carry a "groups" claim.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from accounts.models import SignInPolicy
from tests.conftest import ROOT

from .conftest import PASSWORD, make_staff, signed_in_user

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

PROVIDER_DIR = ROOT / "tests" / "oidc"
CLIENT_ID = "heliograph-test"
CLIENT_SECRET = "heliograph-test-client-secret"
ACCOUNTS = {
    "ada": {"name": "Ada", "email": "ada@acme.test", "groups": ["heliograph-admins"]},
    "bob": {"name": "Bob", "groups": ["heliograph-oncall", "everyone"]},
    "eve": {"name": "Eve", "groups": ["marketing"]},
}


class IdentityProvider:
    def __init__(self, issuer: str, accounts_file: Path) -> None:
        self.issuer = issuer
        self.accounts_file = accounts_file

    def set_groups(self, login: str, groups: list[str]) -> None:
        accounts = json.loads(self.accounts_file.read_text())
        accounts[login]["groups"] = groups
        self.accounts_file.write_text(json.dumps(accounts))


@pytest.fixture(scope="module")
def provider(
    live_server: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[IdentityProvider]:
    if not (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
        pytest.fail(
            "tests/oidc has no node_modules: run `npm ci` there (make test does)"
        )
    folder = tmp_path_factory.mktemp("oidc")
    accounts_file = folder / "accounts.json"
    accounts_file.write_text(json.dumps(ACCOUNTS))
    config = {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "redirect_uri": f"{live_server.url}/accounts/oidc/sso/login/callback/",
        "accounts_file": str(accounts_file),
    }
    log = (folder / "provider.log").open("w")
    process = subprocess.Popen(
        ["node", "provider.mjs"],
        cwd=PROVIDER_DIR,
        env={**os.environ, "OIDC_TEST_CONFIG": json.dumps(config)},
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()  # "listening <issuer>", or "" if it died
    try:
        assert line.startswith("listening "), (folder / "provider.log").read_text()
        yield IdentityProvider(line.split()[1], accounts_file)
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


@pytest.fixture(autouse=True)
def single_sign_on(provider: IdentityProvider, settings: Any) -> IdentityProvider:
    settings.OIDC_ROLE_CLAIM = "groups"
    settings.OIDC_ROLE_MAP = {
        "heliograph-admins": "admin",
        "heliograph-oncall": "responder",
        "heliograph-readers": "viewer",
    }
    settings.SOCIALACCOUNT_PROVIDERS = {
        "openid_connect": {
            "OAUTH_PKCE_ENABLED": True,
            "APPS": [
                {
                    "provider_id": "sso",
                    "name": "SSO",
                    "client_id": CLIENT_ID,
                    "secret": CLIENT_SECRET,
                    "settings": {
                        "server_url": provider.issuer,
                        "scope": ["openid", "profile", "email", "groups"],
                    },
                }
            ],
        }
    }
    return provider


def sign_in_with_sso(tab: Any, live_server: Any, login: str) -> None:
    """From the console's address, through the provider's own login and consent."""
    tab.goto(live_server.url + "/admin/")
    tab.get_by_role("button", name="Sign in with SSO").click()
    tab.fill("input[name=login]", login)
    tab.fill("input[name=password]", "any password: the provider's dev login")
    tab.get_by_role("button", name="Sign-in").click()
    tab.get_by_role("button", name="Continue").click()


def roles(username: str) -> list[str]:
    return sorted(
        User.objects.get(username=username).groups.values_list("name", flat=True)
    )


def test_it_signs_in_at_the_identity_provider_with_the_mapped_role(
    page_in_browser: Any, live_server: Any
) -> None:
    # Two-factor for everyone: the provider's own second factor stands for ours.
    SignInPolicy.objects.create(pk=1, require_two_factor_for_everyone=True)
    tab = page_in_browser

    sign_in_with_sso(tab, live_server, "ada")
    tab.wait_for_url(live_server.url + "/admin/")

    assert "Heliograph console" in tab.content()
    assert tab.get_by_text("Welcome,").is_visible()
    ada = User.objects.get(username="ada")
    assert ada.is_staff and not ada.is_superuser
    assert not ada.has_usable_password()
    assert roles("ada") == ["admin"]


def test_it_refuses_someone_whose_claim_maps_to_no_role(
    page_in_browser: Any, live_server: Any
) -> None:
    tab = page_in_browser

    sign_in_with_sso(tab, live_server, "eve")
    tab.wait_for_selector("#sso-refused")

    assert "has no role in Heliograph" in tab.text_content("#sso-refused")
    assert not User.objects.filter(username="eve").exists()
    tab.goto(live_server.url + "/admin/")
    assert tab.url.startswith(live_server.url + reverse("account_login"))


def test_it_sets_the_roles_from_the_claim_at_every_sign_in(
    browser: Any, live_server: Any, single_sign_on: IdentityProvider
) -> None:
    first = browser.new_context().new_page()
    sign_in_with_sso(first, live_server, "bob")
    first.wait_for_url(live_server.url + "/admin/")
    assert roles("bob") == ["responder"]

    single_sign_on.set_groups("bob", ["everyone"])
    second = browser.new_context().new_page()
    try:
        sign_in_with_sso(second, live_server, "bob")
        second.wait_for_selector("#sso-refused")
    finally:
        single_sign_on.set_groups("bob", ACCOUNTS["bob"]["groups"])
        first.context.close()
        second.context.close()

    bob = User.objects.get(username="bob")
    assert not bob.is_staff
    assert roles("bob") == []


def test_it_offers_only_single_sign_on_without_local_passwords(
    page_in_browser: Any, live_server: Any, settings: Any
) -> None:
    settings.LOCAL_PASSWORDS = False
    make_staff("carol")
    tab = page_in_browser

    tab.goto(live_server.url + reverse("admin:login"))
    password_fields = tab.locator("input[type=password]").count()
    sso_button = tab.get_by_role("button", name="Sign in with SSO").is_visible()
    client = Client()
    console_post = client.post(
        reverse("admin:login"), {"username": "carol", "password": PASSWORD}
    )
    form_post = client.post(
        reverse("account_login"), {"login": "carol", "password": PASSWORD}
    )
    sign_in_with_sso(tab, live_server, "ada")
    tab.wait_for_url(live_server.url + "/admin/")

    assert password_fields == 0
    assert sso_button
    assert console_post.status_code == 302
    assert "Password sign-in is turned off" in form_post.content.decode()
    assert signed_in_user(client) is None
    assert roles("ada") == ["admin"]
