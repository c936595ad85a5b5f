"""503 while PostgreSQL or Redis is out, 500 for anything else, through the test client.

The outages here are simulated in this process; tests/statuspage/test_outage.py stops
real servers under a real gunicorn.
"""

from __future__ import annotations

import socket
from typing import Any
from unittest import mock

import pytest
import redis
from django.contrib.auth.models import User
from django.db import OperationalError
from django.test import Client, RequestFactory
from kombu.exceptions import OperationalError as BrokerError

from kit import errors
from tests.conftest import make_component, make_page

pytestmark = pytest.mark.django_db

DATABASE_DOWN = OperationalError("connection to server at 127.0.0.1 failed")


@pytest.fixture
def client() -> Client:
    # As a browser sees it: the error page, not the exception re-raised in the test.
    return Client(raise_request_exception=False)


@pytest.fixture
def staff_client(client: Client) -> Client:
    staff = User.objects.create(username="ada", is_staff=True)
    client.force_login(staff)
    return client


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def assert_unavailable(response: Any, *words: str) -> str:
    body = response.content.decode()
    assert response.status_code == 503, body
    assert response["Retry-After"] == str(errors.RETRY_AFTER_SECONDS)
    assert "no-store" in response["Cache-Control"]
    assert "Traceback" not in body and "OperationalError" not in body
    for word in words:
        assert word in body
    return body


def test_it_answers_503_when_the_console_cannot_load_the_session(
    staff_client: Client,
) -> None:
    with mock.patch(
        "django.contrib.sessions.backends.db.SessionStore.load",
        side_effect=DATABASE_DOWN,
    ):
        response = staff_client.get("/admin/")

    body = assert_unavailable(response, "The staff console is unavailable")
    assert "the database (PostgreSQL)" in body
    assert "still shows the last known state" in body
    assert response["Content-Type"].startswith("text/html")


def test_it_shows_no_sign_in_form_while_the_database_is_out(client: Client) -> None:
    with mock.patch(
        "django.db.connection.ensure_connection", side_effect=DATABASE_DOWN
    ):
        response = client.get("/admin/login/")

    assert_unavailable(response, "The staff console is unavailable")


def test_it_closes_the_console_while_redis_is_out(
    staff_client: Client, settings: Any
) -> None:
    settings.REDIS_URL = f"redis://127.0.0.1:{closed_port()}/0"

    response = staff_client.get("/admin/")

    assert_unavailable(response, "The staff console is unavailable", "Redis")


def test_it_answers_json_under_api(client: Client) -> None:
    with mock.patch("visitor.api.views.PublicState.load", side_effect=DATABASE_DOWN):
        response = client.get("/api/v2/summary.json")

    assert_unavailable(response)
    assert response.json() == {
        "error": "database unavailable",
        "detail": "The API is unavailable for now: the database (PostgreSQL) cannot "
        "be reached. The public status page still shows the last known state.",
    }


def test_it_answers_json_to_a_client_that_prefers_it(staff_client: Client) -> None:
    with mock.patch(
        "django.contrib.sessions.backends.db.SessionStore.load",
        side_effect=DATABASE_DOWN,
    ):
        response = staff_client.get("/admin/", headers={"Accept": "application/json"})

    assert_unavailable(response)
    assert response.json()["error"] == "database unavailable"


def test_it_answers_503_to_a_sign_up_while_redis_is_out(
    client: Client, settings: Any
) -> None:
    make_page()
    make_component(name="API")
    # The rate limit counts sign-ups in the cache: a Redis nobody listens for.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
        }
    }

    response = client.post(
        "/subscribe/", {"channel": "email", "email": "ada@example.com"}
    )

    body = assert_unavailable(response, "Subscribing to updates is unavailable")
    assert "Redis" in body


def test_it_answers_other_errors_with_a_plain_500(client: Client) -> None:
    with mock.patch(
        "visitor.api.views.PublicState.load", side_effect=RuntimeError("a bug")
    ):
        response = client.get("/api/v2/summary.json")

    body = response.content.decode()
    assert response.status_code == 500
    assert response.json() == {"error": "Internal server error."}
    assert "a bug" not in body and "Traceback" not in body

    request = RequestFactory().get("/history/")
    try:
        raise RuntimeError("a bug")
    except RuntimeError:
        page = errors.server_error(request)
    assert page.status_code == 500
    assert "Something went wrong" in page.content.decode()


def test_it_answers_without_a_query_a_session_or_a_user(
    django_assert_num_queries: Any,
) -> None:
    # A bare request: it has no ``session`` or ``user``, so touching either raises.
    request = RequestFactory().get("/admin/incidents/incident/")
    with django_assert_num_queries(0):
        try:
            raise DATABASE_DOWN
        except OperationalError:
            response = errors.server_error(request)

    assert_unavailable(response, "The staff console is unavailable")


def test_it_finds_the_server_behind_wrapped_errors() -> None:
    def broker_error() -> BrokerError:
        try:
            raise redis.ConnectionError("Connection refused")
        except redis.ConnectionError as cause:
            try:
                raise BrokerError("cannot publish") from cause
            except BrokerError as error:
                return error

    assert errors.outage_of(broker_error()) is errors.REDIS
    assert errors.outage_of(redis.TimeoutError()) is errors.REDIS
    assert errors.outage_of(DATABASE_DOWN) is errors.DATABASE
    assert errors.outage_of(ValueError("not an outage")) is None
    assert errors.outage_of(None) is None
