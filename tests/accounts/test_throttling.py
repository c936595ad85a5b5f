"""Failed sign-ins lock an account, or a client address, out for a while."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from axes.models import AccessAttempt
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from .conftest import PASSWORD, make_staff, sign_in, signed_in_user

pytestmark = pytest.mark.django_db

ACCOUNT_LOCKED = "Too many failed sign-ins for this account; try again in 15 minutes."
ADDRESS_LOCKED = (
    "Too many failed sign-ins from your network address; try again in 15 minutes."
)


def test_it_refuses_even_the_right_password_from_the_fifth_failure_on(
    client: Client,
) -> None:
    make_staff("ada")

    answers = [sign_in(client, "ada", f"guess {n}") for n in range(39)]
    right = sign_in(client, "ada", PASSWORD)

    assert [a.status_code for a in answers[:4]] == [200] * 4
    assert "Please enter a correct username" not in answers[0].content.decode()
    assert "not correct" in answers[0].content.decode()
    assert {a.status_code for a in answers[4:]} == {429}
    assert right.status_code == 429
    assert ACCOUNT_LOCKED in right.content.decode()
    assert right["Retry-After"] == "900"
    assert signed_in_user(client) is None
    assert client.get("/admin/").status_code == 302


def test_it_locks_the_account_from_every_address(client: Client) -> None:
    make_staff("ada")
    for n in range(5):
        sign_in(client, "ada", "wrong", address=f"198.51.100.{n}")

    elsewhere = sign_in(Client(), "ada", PASSWORD, address="203.0.113.9")

    assert elsewhere.status_code == 429
    assert ACCOUNT_LOCKED in elsewhere.content.decode()


def test_it_counts_an_account_whatever_the_case_of_its_name(client: Client) -> None:
    make_staff("ada")
    for name in ("ada", "ADA", "Ada", " aDa", "adA"):
        sign_in(client, name, "wrong")

    assert sign_in(client, "ada", PASSWORD).status_code == 429


def test_it_locks_out_an_address_that_tries_many_accounts(client: Client) -> None:
    make_staff("ada")
    attacker = Client()
    answers = [
        sign_in(attacker, f"user{n}", "wrong", address="198.51.100.7")
        for n in range(20)
    ]

    from_there = sign_in(attacker, "ada", PASSWORD, address="198.51.100.7")
    from_ada = sign_in(client, "ada", PASSWORD, address="203.0.113.9")

    assert {a.status_code for a in answers[:19]} == {200}
    assert answers[19].status_code == 429
    assert from_there.status_code == 429
    assert ADDRESS_LOCKED in from_there.content.decode()
    assert from_ada.status_code == 302
    assert signed_in_user(client) == "ada"


def test_it_lets_the_account_in_again_after_the_cool_off(client: Client) -> None:
    make_staff("ada")
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for _ in range(5):
            sign_in(client, "ada", "wrong")

    with time_machine.travel(start + dt.timedelta(minutes=14, seconds=59), tick=False):
        still_locked = sign_in(client, "ada", PASSWORD)
    # A try while locked out starts the cool-off again.
    later = start + dt.timedelta(minutes=14, seconds=59)
    with time_machine.travel(later + dt.timedelta(minutes=15, seconds=1), tick=False):
        after = sign_in(client, "ada", PASSWORD)

    assert still_locked.status_code == 429
    assert after.status_code == 302
    assert signed_in_user(client) == "ada"


def test_it_uses_the_client_address_django_ratelimit_uses(
    client: Client, settings: Any
) -> None:
    """Behind a proxy every request comes from the proxy: the address is the
    header RATELIMIT_IP_META_KEY names, for subscriptions and sign-ins alike."""
    settings.RATELIMIT_IP_META_KEY = "HTTP_X_REAL_IP"
    make_staff("ada")
    for n in range(20):
        sign_in(
            client,
            f"user{n}",
            "wrong",
            address="10.0.0.2",
            HTTP_X_REAL_IP="198.51.100.7",
        )

    other_client = sign_in(
        Client(), "ada", PASSWORD, address="10.0.0.2", HTTP_X_REAL_IP="203.0.113.9"
    )
    same_client = sign_in(
        Client(), "ada", PASSWORD, address="10.0.0.2", HTTP_X_REAL_IP="198.51.100.7"
    )

    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {
        "198.51.100.7"
    }
    assert other_client.status_code == 302
    assert same_client.status_code == 429


def test_it_lifts_a_lockout_with_axes_reset(client: Client) -> None:
    make_staff("ada")
    for _ in range(5):
        sign_in(client, "ada", "wrong")
    assert sign_in(client, "ada", PASSWORD).status_code == 429

    call_command("axes_reset_username", "ada")

    assert sign_in(client, "ada", PASSWORD).status_code == 302


def test_it_lifts_a_lockout_from_the_console(
    client: Client, admin_client: Client
) -> None:
    make_staff("ada")
    for _ in range(5):
        sign_in(client, "ada", "wrong")
    assert sign_in(client, "ada", PASSWORD).status_code == 429
    attempts = list(AccessAttempt.objects.values_list("pk", flat=True))

    deleted = admin_client.post(
        reverse("admin:axes_accessattempt_changelist"),
        {"action": "delete_selected", "_selected_action": attempts, "post": "yes"},
    )

    assert deleted.status_code == 302
    assert not AccessAttempt.objects.exists()
    assert sign_in(client, "ada", PASSWORD).status_code == 302
