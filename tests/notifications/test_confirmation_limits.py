"""Confirmation mail is limited per address (in its database row) as well as per
client address (in a cache every process shares), and the visitor cannot tell."""

from __future__ import annotations

import datetime as dt
import http.cookiejar
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.test import Client

from notifications.models import Channel, Subscriber, SubscriberState
from notifications.services.subscribers import subscriber_subscribe
from statuspage.celery import app
from tests.api_helpers import api_client, body, v1
from tests.conftest import enqueued, make_page
from tests.notifications.conftest import SmtpSink
from tests.servers import App
from tests.tiers import tier
from tokens.models import TOKEN_PREFIX

ADDRESS = "ada@example.com"
NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def sign_up(client: Client, email: str, client_ip: str) -> Any:
    form = {"channel": "email", "email": email, "scope": "page"}
    return client.post("/subscribe/", form, REMOTE_ADDR=client_ip)


def answer(response: Any, email: str = ADDRESS) -> tuple[int, str]:
    """What the visitor sees, with the parts that differ per answer anyway."""
    page = response.content.decode().replace(email, "ADDRESS")
    return response.status_code, re.sub(r'nonce="[^"]*"', "", page)


def wait_for(ready: Callable[[], bool], log: Path, what: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.1)
    output = log.read_text(errors="replace") if log.exists() else ""
    pytest.fail(f"timed out waiting until {what}:\n{output[-4000:]}")


@pytest.mark.timeout(180)
@pytest.mark.usefixtures("rate_limit_cache", "notifications_queue")
def test_it_mails_a_pending_address_once_however_many_clients_sign_it_up(
    transactional_db: None,
    client: Client,
    smtp_server: SmtpSink,
    start_worker: Callable[..., Any],
    tmp_path: Path,
    settings: Any,
) -> None:
    make_page(name="Acme")
    with app.connection_for_write() as connection:
        connection.default_channel.queue_declare("notifications", passive=False)
        connection.default_channel.queue_purge("notifications")
    start_worker(
        "notifications",
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(settings.EMAIL_PORT),  # smtp_server's
    )

    answers = [answer(sign_up(client, ADDRESS, f"198.51.100.{n}")) for n in range(50)]
    # The worker takes one task at a time, in order: once this one's mail is in,
    # every confirmation queued before it was sent or never queued.
    sign_up(client, "last@example.com", "198.51.100.200")
    wait_for(
        lambda: bool(smtp_server.to("last@example.com")),
        tmp_path / "worker.log",
        "the last sign-up's confirmation arrived",
    )

    assert len(smtp_server.to(ADDRESS)) == 1
    assert set(answers) == {answers[0]} and answers[0][0] == 200
    assert Subscriber.objects.filter(email=ADDRESS).count() == 1


@pytest.mark.django_db
def test_it_mails_again_after_the_interval_and_at_most_the_days_share(
    django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.NOTIFICATIONS_CONFIRM_INTERVAL_SECONDS = 300
    settings.NOTIFICATIONS_CONFIRM_PER_DAY = 3

    def mails_at(minutes: float) -> int:
        with (
            time_machine.travel(NOW + dt.timedelta(minutes=minutes), tick=False),
            django_capture_on_commit_callbacks() as queued,
        ):
            subscriber_subscribe(channel=Channel.EMAIL, email=ADDRESS)
        return len(enqueued(queued))

    sent = {minute: mails_at(minute) for minute in (0, 1, 4.9, 5, 9, 10, 15, 30)}
    next_day = {minute: mails_at(minute) for minute in (24 * 60, 24 * 60 + 1)}

    assert sent == {0: 1, 1: 0, 4.9: 0, 5: 1, 9: 0, 10: 1, 15: 0, 30: 0}
    assert next_day == {24 * 60: 1, 24 * 60 + 1: 0}


@pytest.mark.django_db
@pytest.mark.usefixtures("rate_limit_cache")
def test_it_answers_the_same_whether_or_not_a_mail_went_out(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    make_page(name="Acme")
    Subscriber.objects.create(
        channel=Channel.EMAIL, email="grace@example.com", state=SubscriberState.ACTIVE
    )

    with django_capture_on_commit_callbacks() as queued:
        mailed = sign_up(client, ADDRESS, "198.51.100.1")
        limited = sign_up(client, ADDRESS, "198.51.100.2")
        subscribed = sign_up(client, "grace@example.com", "198.51.100.3")

    assert len(queued) == 1
    assert answer(mailed) == answer(limited)
    assert answer(mailed) == answer(subscribed, "grace@example.com")
    assert "at most one such message every 5 minutes" in mailed.content.decode()


@pytest.mark.django_db
def test_it_limits_the_api_resend_and_create_and_says_when_the_next_may_go(
    django_capture_on_commit_callbacks: Any,
) -> None:
    api = api_client()
    created = api.post(v1("subscribers"), {"email": ADDRESS}, format="json")
    pending = Subscriber.objects.get(email=ADDRESS)
    resend = v1(f"subscribers/{pending.public_id}/resend_confirmation")

    with time_machine.travel(timezone_now(pending, minutes=2), tick=False):
        with django_capture_on_commit_callbacks() as queued:
            again = api.post(v1("subscribers"), {"email": ADDRESS}, format="json")
            refused = api.post(resend)
    with time_machine.travel(timezone_now(pending, minutes=5), tick=False):
        with django_capture_on_commit_callbacks() as later:
            accepted = api.post(resend)

    assert (created.status_code, again.status_code) == (201, 201)
    assert refused.status_code == 429
    assert refused["Retry-After"] == "180"
    assert body(refused)["error"] == (
        "A confirmation was mailed to this address recently: at most one goes every "
        "300 seconds and 5 a day. Expected available in 180 seconds."
    )
    assert queued == []
    assert accepted.status_code == 201 and len(later) == 1


def timezone_now(subscriber: Subscriber, *, minutes: int) -> dt.datetime:
    subscriber.refresh_from_db()
    assert subscriber.confirmation_sent_at is not None
    return subscriber.confirmation_sent_at + dt.timedelta(minutes=minutes)


# --- the embedded setup: two processes, SQLite, no Redis --------------------


@pytest.fixture
@tier("database")
def embedded(tmp_path: Path) -> Iterator[list[App]]:
    """Two gunicorn servers of one embedded install (SQLite and the cache in var/),
    as separate processes as granian's workers and the Celery worker are."""
    var = tmp_path / "var"
    for folder in ("broker/processed", "broker/control"):
        (var / folder).mkdir(parents=True)
    environment = {
        "HELIOGRAPH_VAR_DIR": str(var),
        "SUBSCRIBE_RATE": "3/d",
        "API_RATE_LIMIT_PER_MINUTE": "2",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    }
    apps = [App(tmp_path, environment) for _ in range(2)]
    for server in apps:
        for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"):
            server.environment.pop(name, None)
    apps[0].manage("migrate", "--noinput")
    try:
        for server in apps:
            server.start(workers=1)
        yield apps
    finally:
        for server in apps:
            server.stop()


def sign_up_over_http(base: str, email: str) -> int:
    """The visitor's way: the form (and its CSRF cookie), then the POST."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    form = opener.open(f"{base}/subscribe/", timeout=10).read().decode()
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)
    assert match, form[:2000]
    fields = {
        "csrfmiddlewaretoken": match[1],
        "channel": "email",
        "email": email,
        "scope": "page",
    }
    data = urllib.parse.urlencode(fields).encode()
    try:
        with opener.open(f"{base}/subscribe/", data=data, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def api_status(base: str, token: str) -> int:
    request = urllib.request.Request(
        f"{base}/api/v1/pages", headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


TOKENS_SCRIPT = """
from django.contrib.auth.models import Group, User
from tokens.services import token_create
user = User.objects.create(username="deploy-bot", is_staff=True)
user.groups.add(Group.objects.get(name="viewer"))
for name in ("first", "spare"):
    print(token_create(user=user, name=name, scope="read")[1])
"""


@pytest.mark.timeout(180)
def test_it_counts_a_clients_sign_ups_across_the_processes_of_an_embedded_install(
    embedded: list[App],
) -> None:
    first, second = embedded

    statuses = [
        sign_up_over_http(embedded[n % 2].url, f"user{n}@example.com") for n in range(4)
    ]

    assert statuses == [200, 200, 200, 429], first.log() + second.log()


@pytest.mark.timeout(180)
def test_it_counts_an_api_tokens_requests_across_the_processes_of_an_embedded_install(
    embedded: list[App],
) -> None:
    output = embedded[0].manage("shell", "-c", TOKENS_SCRIPT)
    tokens = [word for word in output.split() if word.startswith(TOKEN_PREFIX)]
    for token in tokens:
        window = int(time.time() // 60)
        statuses = [api_status(embedded[n % 2].url, token) for n in range(3)]
        if int(time.time() // 60) == window:
            break  # all three in one minute, the throttle's window; else the spare

    assert statuses == [200, 200, 429]
