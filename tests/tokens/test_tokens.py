"""API tokens: hashed storage, DRF authentication and scope, the console."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from tokens import services
from tokens.models import ApiToken

pytestmark = pytest.mark.django_db

TOKENS = reverse("admin:tokens_apitoken_changelist")
ADD = reverse("admin:tokens_apitoken_add")


class Probe(APIView):
    """A stand-in for a management API view, on the project's DRF defaults."""

    def permissions_needed(self, request: Any) -> list[str]:
        if request.method == "GET":
            return ["incidents.view_component"]
        return ["incidents.change_component"]

    def get(self, request: Any) -> Response:
        return Response({"user": request.user.username, "token": request.auth.pk})

    def post(self, request: Any) -> Response:
        return Response({"written": True}, status=201)


def make_user(role: str | None = "admin", **overrides: Any) -> User:
    fields: dict[str, Any] = {"username": "ada", "is_staff": True}
    fields.update(overrides)
    user = User.objects.create_user(**fields)
    if role is not None:
        user.groups.add(Group.objects.get(name=role))
    return user


def make_token(**overrides: Any) -> tuple[ApiToken, str]:
    fields: dict[str, Any] = {"name": "deploy", "scope": "write"}
    fields.update(overrides)
    if "user" not in fields:
        fields["user"] = make_user()
    return services.token_create(**fields)


def call(method: str = "get", authorization: str | None = None) -> Response:
    headers = {} if authorization is None else {"HTTP_AUTHORIZATION": authorization}
    request = getattr(APIRequestFactory(), method)("/probe", **headers)
    return Probe.as_view()(request)


def test_it_stores_a_hash_and_never_the_plaintext() -> None:
    token, plaintext = make_token()

    row = ApiToken.objects.values().get(pk=token.pk)
    assert plaintext.startswith("hg_") and len(plaintext) > 40
    assert plaintext not in [str(value) for value in row.values()]
    assert row["hash"] == hashlib.sha256(plaintext.encode()).hexdigest()
    assert row["prefix"] == plaintext[:8]


@pytest.mark.parametrize("keyword", ["OAuth", "Bearer", "bearer"])
def test_it_authenticates_oauth_and_bearer_headers(keyword: str) -> None:
    token, plaintext = make_token()

    response = call(authorization=f"{keyword} {plaintext}")

    assert response.status_code == 200
    assert response.data == {"user": "ada", "token": token.pk}


@pytest.mark.parametrize(
    ("authorization", "message"),
    [
        (None, "Authentication credentials were not provided."),
        ("Bearer", "Malformed Authorization header"),
        ("Bearer a b", "Malformed Authorization header"),
        ("OAuth hg_unknown", "Unknown API token."),
    ],
)
def test_it_refuses_missing_malformed_and_unknown_tokens(
    authorization: str | None, message: str
) -> None:
    make_token()

    response = call(authorization=authorization)

    assert response.status_code == 401
    assert str(response.data["error"]).startswith(message)
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_it_refuses_a_revoked_token() -> None:
    token, plaintext = make_token()
    services.token_revoke(token=token)

    response = call(authorization=f"Bearer {plaintext}")

    assert response.status_code == 401
    assert response.data["error"] == "This API token has been revoked."


def test_it_refuses_a_token_of_an_inactive_user() -> None:
    _, plaintext = make_token(user=make_user(is_active=False))

    response = call(authorization=f"Bearer {plaintext}")

    assert response.status_code == 401
    assert response.data["error"] == "This API token's user is inactive."


def test_it_lets_read_scope_read_but_not_write() -> None:
    _, plaintext = make_token(scope="read")

    assert call("get", f"Bearer {plaintext}").status_code == 200
    refused = call("post", f"Bearer {plaintext}")

    assert refused.status_code == 403
    assert "read scope" in str(refused.data["error"])


def test_it_lets_write_scope_write() -> None:
    _, plaintext = make_token(scope="write")

    assert call("post", f"Bearer {plaintext}").status_code == 201


def test_it_records_last_use_at_most_once_a_minute(
    django_assert_num_queries: Any,
) -> None:
    token, plaintext = make_token()
    start = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)

    with time_machine.travel(start, tick=False):
        call(authorization=f"Bearer {plaintext}")
    token.refresh_from_db()
    assert token.last_used_at == start

    with time_machine.travel(start + dt.timedelta(seconds=59), tick=False):
        # The lookup and the owner's permissions (their own and their roles'),
        # no write.
        with django_assert_num_queries(2):
            call(authorization=f"Bearer {plaintext}")
    token.refresh_from_db()
    assert token.last_used_at == start

    later = start + dt.timedelta(seconds=61)
    with time_machine.travel(later, tick=False):
        call(authorization=f"Bearer {plaintext}")
    token.refresh_from_db()
    assert token.last_used_at == later


def test_it_keeps_the_first_revocation_time() -> None:
    token, _ = make_token()
    first = services.token_revoke(token=token).revoked_at

    assert first is not None
    assert services.token_revoke(token=token).revoked_at == first


def test_it_shows_a_created_token_once_in_the_console(admin_client: Client) -> None:
    user = make_user()

    response = admin_client.post(ADD, {"user": user.pk, "name": "CI", "scope": "read"})

    assert response.status_code == 200
    token = ApiToken.objects.get(name="CI")
    page = response.content.decode()
    plaintext = page.split('<code id="api-token">')[1].split("</code>")[0]
    assert token.hash == hashlib.sha256(plaintext.encode()).hexdigest()
    assert "will not be shown again" in page
    assert "no-store" in response["Cache-Control"]
    for url in [TOKENS, reverse("admin:tokens_apitoken_change", args=[token.pk])]:
        shown = admin_client.get(url).content.decode()
        assert token.prefix in shown
        assert plaintext not in shown
        assert token.hash not in shown


def test_it_shows_no_form_to_edit_a_token(admin_client: Client) -> None:
    token, _ = make_token()
    change = reverse("admin:tokens_apitoken_change", args=[token.pk])

    admin_client.post(change, {"user": token.user.pk, "name": "x", "scope": "write"})

    token.refresh_from_db()
    assert token.name == "deploy"


def test_it_revokes_tokens_from_the_console(admin_client: Client) -> None:
    token, plaintext = make_token()
    kept, _ = make_token(user=token.user, name="kept")

    response = admin_client.post(
        TOKENS, {"action": "revoke", "_selected_action": [token.pk]}, follow=True
    )

    assert "Revoked 1 token(s)." in response.content.decode()
    token.refresh_from_db()
    kept.refresh_from_db()
    assert token.revoked_at is not None and kept.revoked_at is None
    assert call(authorization=f"Bearer {plaintext}").status_code == 401
