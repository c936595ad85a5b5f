"""Staff sign in with a password and then a code from an authenticator app."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.contrib.auth.signals import (
    user_logged_in,
    user_logged_out,
    user_login_failed,
)
from django.test import Client
from django.urls import reverse

from accounts.models import SignInPolicy
from tests.api_helpers import api_client

from .conftest import (
    PASSWORD,
    enrol,
    enter_code,
    make_staff,
    sign_in,
    sign_out,
    signed_in_user,
    totp,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def enrolled(client: Client) -> tuple[User, str, list[str]]:
    """ada, signed out, with an authenticator app (its secret) and recovery codes."""
    user = make_staff("ada")
    assert sign_in(client).status_code == 302
    secret, codes = enrol(client)
    sign_out(client)
    return user, secret, codes


def test_it_asks_for_the_code_after_the_password(
    client: Client, enrolled: tuple[User, str, list[str]]
) -> None:
    _, secret, _ = enrolled

    password = sign_in(client)
    between = client.get("/admin/")
    wrong = enter_code(client, "000000" if totp(secret) != "000000" else "111111")
    right = enter_code(client, totp(secret))

    assert password.status_code == 302
    assert password["Location"] == reverse("mfa_authenticate")
    assert between.status_code == 302  # not signed in with the password alone
    assert wrong.status_code == 200
    assert "Incorrect code." in wrong.content.decode()
    assert right.status_code == 302
    assert right["Location"] == reverse("admin:index")
    assert signed_in_user(client) == "ada"
    assert client.get("/admin/").status_code == 200


def test_it_takes_a_recovery_code_once(
    client: Client, enrolled: tuple[User, str, list[str]]
) -> None:
    _, _, codes = enrolled

    sign_in(client)
    first = enter_code(client, codes[0])
    sign_out(client)
    sign_in(client)
    again = enter_code(client, codes[0])

    assert first.status_code == 302
    assert again.status_code == 200
    assert "Incorrect code." in again.content.decode()
    assert signed_in_user(client) is None


def test_it_shows_the_recovery_codes_once_and_makes_new_ones(
    client: Client, enrolled: tuple[User, str, list[str]]
) -> None:
    _, secret, codes = enrolled
    sign_in(client)
    enter_code(client, totp(secret))

    shown_again = client.get(reverse("mfa_view_recovery_codes"))
    generated = client.post(reverse("mfa_generate_recovery_codes"))
    new_page = client.get(reverse("mfa_view_recovery_codes")).content.decode()
    sign_out(client)
    sign_in(client)
    old_code = enter_code(client, codes[1])

    assert shown_again.status_code == 200
    assert not {code for code in codes if code in shown_again.content.decode()}
    assert "Generate new codes" in shown_again.content.decode()
    assert generated.status_code == 302
    assert codes[1] not in new_page and "<li><code>" in new_page
    assert old_code.status_code == 200
    assert signed_in_user(client) is None


def test_it_shows_the_secret_as_text_and_as_a_qr_code(client: Client) -> None:
    make_staff("ada")
    sign_in(client)

    page = client.get(reverse("mfa_activate_totp")).content.decode()
    image = client.get(reverse("accounts_totp_qr_code"))

    assert 'id="totp-secret"' in page
    assert f'src="{reverse("accounts_totp_qr_code")}"' in page
    assert "data:" not in page
    assert image.status_code == 200
    assert image["Content-Type"] == "image/svg+xml"
    assert image.content.startswith(b"<?xml") and b"<svg" in image.content


@pytest.mark.parametrize(
    "fields",
    [
        {"username": "ada", "password": PASSWORD},
        {"login": "ada", "password": PASSWORD},
    ],
    ids=["admin-form", "allauth-form"],
)
def test_it_signs_nobody_in_at_the_console_login_address(
    client: Client, enrolled: tuple[User, str, list[str]], fields: dict[str, str]
) -> None:
    answer = client.post(reverse("admin:login") + "?next=/admin/", fields)

    assert answer.status_code == 302
    assert answer["Location"] == reverse("account_login") + "?next=%2Fadmin%2F"
    assert signed_in_user(client) is None
    assert client.get("/admin/").status_code == 302


@pytest.fixture
def heard() -> Iterator[list[tuple[str, Any]]]:
    """The sign-in signals sent during the test, with their credentials or user."""
    signals: list[tuple[str, Any]] = []
    receivers = {
        user_logged_in: lambda **kw: signals.append(("in", kw["user"].username)),
        user_logged_out: lambda **kw: signals.append(("out", kw["user"].username)),
        user_login_failed: lambda **kw: signals.append(("failed", kw["credentials"])),
    }
    for signal, receiver in receivers.items():
        signal.connect(receiver)
    yield signals
    for signal, receiver in receivers.items():
        signal.disconnect(receiver)


def test_it_counts_wrong_codes_as_failed_sign_ins(
    client: Client,
    enrolled: tuple[User, str, list[str]],
    heard: list[tuple[str, Any]],
) -> None:
    """A stolen password leaves a few guesses at the code, not a million."""
    _, secret, _ = enrolled
    sign_in(client)
    wrong = "000000" if totp(secret) != "000000" else "111111"

    answers = [enter_code(client, wrong) for _ in range(5)]
    right = enter_code(client, totp(secret))

    assert [a.status_code for a in answers] == [200] * 4 + [429]
    assert right.status_code == 429
    assert "Too many failed sign-ins for this account" in right.content.decode()
    assert signed_in_user(client) is None
    assert ("failed", {"username": "ada"}) in heard


def test_it_sends_the_signals_the_audit_log_hears(
    client: Client,
    enrolled: tuple[User, str, list[str]],
    heard: list[tuple[str, Any]],
) -> None:
    _, secret, _ = enrolled

    sign_in(client, password="wrong")
    sign_in(client)
    heard.append(("password accepted", None))  # and no sign-in yet
    enter_code(client, totp(secret))
    sign_out(client)

    assert heard[0][0] == "failed" and heard[0][1]["username"] == "ada"
    assert heard[1:] == [("password accepted", None), ("in", "ada"), ("out", "ada")]


def test_it_sends_a_staff_user_the_policy_requires_to_enrol_first(
    client: Client,
) -> None:
    make_staff("ada")
    SignInPolicy.objects.create(pk=1, require_two_factor_for_everyone=True)
    sign_in(client)

    console = client.get("/admin/")
    deeper = client.get(reverse("admin:incidents_incident_changelist"))
    enrol(client)
    after = client.get("/admin/")

    assert console.status_code == 302
    assert console["Location"] == reverse("mfa_activate_totp")
    assert deeper["Location"] == reverse("mfa_activate_totp")
    assert after.status_code == 200


def test_it_requires_two_factor_per_role(client: Client) -> None:
    make_staff("ada", roles=("responder",))
    make_staff("bob", roles=("viewer",))
    policy = SignInPolicy.objects.create(pk=1)
    policy.require_two_factor_for_roles.add(Group.objects.get(name="responder"))

    sign_in(client, "ada")
    ada = client.get("/admin/")
    bob_client = Client()
    sign_in(bob_client, "bob")
    bob = bob_client.get("/admin/")

    assert ada.status_code == 302
    assert ada["Location"] == reverse("mfa_activate_totp")
    assert bob.status_code == 200


def test_it_leaves_api_tokens_alone(client: Client) -> None:
    SignInPolicy.objects.create(pk=1, require_two_factor_for_everyone=True)
    User.objects.create_user("deploy-bot", is_staff=True)

    answer = api_client("read", "deploy-bot").get("/api/v1/pages")

    assert answer.status_code == 200


def test_it_lets_only_holders_of_the_permission_edit_the_policy(
    client: Client,
) -> None:
    editor = make_staff("ada")
    editor.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["view_signinpolicy", "change_signinpolicy"]
        )
    )
    make_staff("bob")
    change = reverse("admin:accounts_signinpolicy_change", args=[1])
    form = {"require_two_factor_for_everyone": "on"}

    other = Client()
    sign_in(other, "bob")
    refused = other.post(change, form)
    sign_in(client, "ada")
    listed = client.get(reverse("admin:accounts_signinpolicy_changelist"))
    saved = client.post(change, form)

    assert refused.status_code == 403
    assert listed["Location"] == change
    assert saved.status_code == 302
    assert SignInPolicy.get().require_two_factor_for_everyone
