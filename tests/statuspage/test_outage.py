"""Outages of Heliograph's own PostgreSQL and Redis, with real servers and gunicorn.

The module starts a throwaway PostgreSQL and Redis (tests/servers.py), migrates,
loads a page with a component under an incident, publishes the snapshot and serves
it with gunicorn; then it stops PostgreSQL, Redis, and both, and speaks HTTP to the
same gunicorn all along: public URLs keep answering the published bytes and say
how old they are, the staff console and sign-ups answer 503, and everything works
again once the servers are back, with no restart. On a failure the report shows
gunicorn's log (tests/statuspage/conftest.py).
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import Message
from typing import Any

import pytest

from tests.servers import App, Servers
from tests.tiers import tier
from visitor.snapshot import serve
from visitor.snapshot.store import Manifest, Store

STALE_AFTER_SECONDS = 2
PASSWORD = "an-outage-proof-password"
API_PATHS = [
    "/api/v2/summary.json",
    "/api/v2/status.json",
    "/api/v2/components.json",
    "/api/v2/incidents.json",
    "/api/v2/incidents/unresolved.json",
    "/api/v2/scheduled-maintenances.json",
    "/api/v2/scheduled-maintenances/upcoming.json",
    "/api/v2/scheduled-maintenances/active.json",
]
PUBLIC_PATHS = [
    "/",
    "/history/",
    *API_PATHS,
    "/feed.atom",
    "/feed.rss",
    "/badge.svg",
    "/embed.js",
]
STALE_NOTICE = re.compile(rb'<div class="stale-notice" role="status">.*?</div>', re.S)
# One Django start-up instead of three: each costs seconds on a busy machine.
SETUP = """
import json
from django.contrib.auth.models import User
from django.core.management import call_command
from incidents import services
call_command("migrate", interactive=False, verbosity=0)
services.page_update(name="Acme", url="http://status.acme.test", time_zone="UTC")
login = services.component_create(name="Login")
api = services.component_create(name="Public API")
incident = services.incident_create(
    name="Login failures", body="Looking into it.",
    component_statuses={login: "partial_outage"},
)
User.objects.create_superuser("ada", "ada@acme.test", %r)
call_command("publish", all=True)
print(json.dumps({"incident": incident.public_id, "api": api.pk}))
"""


# Speaking HTTP ------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Message
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode()


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Browser:
    """A visitor with cookies of its own, who sees redirects rather than follows."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.cookies = http.cookiejar.CookieJar()
        self._opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirects
        )

    def get(self, path: str, **headers: str) -> Answer:
        return self._open(urllib.request.Request(self.base_url + path, headers=headers))

    def post(self, path: str, form: dict[str, str]) -> Answer:
        """A form as a browser sends it, with the CSRF token of a page seen before."""
        data = urllib.parse.urlencode({**form, "csrfmiddlewaretoken": self.csrf_token})
        request = urllib.request.Request(self.base_url + path, data=data.encode())
        return self._open(request)

    @property
    def csrf_token(self) -> str:
        return next((c.value or "" for c in self.cookies if c.name == "csrftoken"), "")

    def _open(self, request: urllib.request.Request) -> Answer:
        try:
            with self._opener.open(request, timeout=20) as response:
                return Answer(response.status, response.headers, response.read())
        except urllib.error.HTTPError as error:
            with error:
                return Answer(error.code, error.headers, error.read())


# The site -----------------------------------------------------------------------------


@dataclass
class Site:
    servers: Servers
    app: App
    snapshot: Store
    incident_path: str
    api_component_id: int
    staff: Browser

    @property
    def public_paths(self) -> list[str]:
        return [*PUBLIC_PATHS, self.incident_path]

    def published(self) -> tuple[Manifest, dict[str, bytes]]:
        """What the last publish wrote to disk, by path: the last known state."""
        manifest = self.snapshot.disk_manifest()
        assert manifest is not None, "nothing published"
        bodies = {}
        for path in self.public_paths:
            body = self.snapshot.blob(manifest.artifacts[path].etag, None)
            assert body is not None, path
            bodies[path] = body
        return manifest, bodies

    def visitor(self) -> Browser:
        return Browser(self.app.url)


def sign_in(browser: Browser) -> None:
    browser.get("/accounts/login/")  # the CSRF cookie
    answer = browser.post(
        "/accounts/login/?next=/admin/", {"login": "ada", "password": PASSWORD}
    )
    assert answer.status == 302, answer.text
    assert any(cookie.name == "sessionid" for cookie in browser.cookies)


@pytest.fixture(scope="module")
@tier("outage")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """Servers, data, a published snapshot and gunicorn, once for the module."""
    servers = Servers()
    app: App | None = None
    try:
        servers.start()
        folder = tmp_path_factory.mktemp("outage")
        app = App(
            folder,
            {
                **servers.environment(),
                "HELIOGRAPH_VAR_DIR": str(folder / "var"),
                "SNAPSHOT_DIR": str(folder / "snapshot"),
                "SNAPSHOT_REDIS_PREFIX": "outage-test:",
                "SNAPSHOT_STALE_AFTER_SECONDS": str(STALE_AFTER_SECONDS),
                "DATABASE_CONNECT_TIMEOUT": "2",
                "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
                "DEBUG": "false",
            },
        )
        output = app.manage("shell", "--command", SETUP % PASSWORD)
        seeded = json.loads(output.splitlines()[-1])
        app.start()
        staff = Browser(app.url)
        sign_in(staff)
        yield Site(
            servers=servers,
            app=app,
            snapshot=Store(folder / "snapshot", None, "outage-test:"),
            incident_path=f"/incidents/{seeded['incident']}",
            api_component_id=seeded["api"],
            staff=staff,
        )
    finally:
        try:
            if app is not None:
                app.stop()
        finally:
            servers.destroy()


@contextlib.contextmanager
def outage(site: Site, *, postgres: bool, redis: bool) -> Iterator[None]:
    """Stop the servers named, and start them again however the block ends."""
    try:
        if postgres:
            site.servers.postgres.stop()
        if redis:
            site.servers.redis.stop()
        yield
    finally:
        if not site.servers.postgres.is_running():
            site.servers.postgres.start()
        if not site.servers.redis.is_running():
            site.servers.redis.start()


def wait_until_stale(manifest: Manifest) -> None:
    """Past ``SNAPSHOT_STALE_AFTER_SECONDS``, the pages say how old they are."""
    time.sleep(max(0.0, manifest.rendered_at + STALE_AFTER_SECONDS + 1 - time.time()))


def eventually(check: Callable[[], bool], *, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return check()


def assert_last_known_state(site: Site, *, must_be_stale: bool) -> None:
    """Every public URL answers 200 with the published bytes and their age; pages
    past ``STALE_AFTER_SECONDS`` carry the stale notice and nothing else new."""
    published = site.published()[1]
    visitor = site.visitor()
    for path in site.public_paths:
        answer = visitor.get(path)
        assert answer.status == 200, f"{path}: {answer.status} {answer.text[:300]}"
        age = int(answer.headers[serve.AGE_HEADER])
        assert age > STALE_AFTER_SECONDS or not must_be_stale, f"{path}: {age} s"
        body = published[path]
        if serve.PLACEHOLDER in body and age > STALE_AFTER_SECONDS:
            assert b"This page may be out of date" in answer.body, path
            assert STALE_NOTICE.sub(serve.PLACEHOLDER, answer.body, 1) == body, path
        else:
            assert answer.body == body, path


def assert_unavailable(answer: Answer, *words: str) -> None:
    assert answer.status == 503, f"{answer.status}: {answer.text[:500]}"
    assert answer.headers["Retry-After"], "no Retry-After"
    assert "Traceback" not in answer.text and "Error at /" not in answer.text
    for word in words:
        assert word in answer.text, f"{word!r} not in {answer.text[:500]}"


def sign_up(site: Site) -> Answer:
    visitor = site.visitor()
    # The CSRF cookie a browser keeps from an earlier visit: the form itself needs
    # the database, so it cannot hand one out now.
    visitor.cookies.set_cookie(_cookie("csrftoken", "t" * 32))
    return visitor.post("/subscribe/", {"channel": "email", "email": "ada@example.com"})


def _cookie(name: str, value: str) -> http.cookiejar.Cookie:
    return http.cookiejar.Cookie(
        0, name, value, None, False, "127.0.0.1", False, False, "/", True,
        False, None, False, None, None, {},
    )  # fmt: skip


# The tests ----------------------------------------------------------------------------


def test_it_serves_every_public_url_from_the_snapshot(site: Site) -> None:
    # Fresh or already stale: setting up takes seconds on a busy machine.
    assert_last_known_state(site, must_be_stale=False)
    assert site.staff.get("/admin/").status == 200


@pytest.mark.parametrize(
    ("postgres", "redis", "server"),
    [
        (True, False, "the database (PostgreSQL)"),
        (False, True, "Redis"),
        (True, True, "the database (PostgreSQL)"),
    ],
    ids=["postgresql-stopped", "redis-stopped", "both-stopped"],
)
def test_it_keeps_the_public_side_up_and_answers_503_elsewhere(
    site: Site, postgres: bool, redis: bool, server: str
) -> None:
    wait_until_stale(site.published()[0])
    with outage(site, postgres=postgres, redis=redis):
        assert_last_known_state(site, must_be_stale=True)
        console = site.staff.get("/admin/")
        console_json = site.staff.get("/admin/", Accept="application/json")
        signing_in = site.visitor().get("/admin/login/")
        sign_up_answer = sign_up(site)

    assert_unavailable(console, "The staff console is unavailable", server)
    assert_unavailable(signing_in, "The staff console is unavailable", server)
    assert_unavailable(sign_up_answer, "Subscribing to updates is unavailable")
    assert "still shows the last known state" in console.text
    assert_unavailable(console_json, server)
    assert set(json.loads(console_json.body)) == {"error", "detail"}
    # Back with no restart: the same gunicorn reconnects on the next request.
    assert eventually(lambda: site.staff.get("/admin/").status == 200, timeout=10)


def test_it_publishes_a_change_made_once_the_servers_are_back(
    site: Site, start_worker: Callable[..., Any]
) -> None:
    with outage(site, postgres=True, redis=True):
        assert site.staff.get("/admin/").status == 503
    before = site.visitor().get("/").headers[serve.VERSION_HEADER]
    site.staff.get("/admin/incidents/component/")  # a fresh CSRF token

    answer = site.staff.post(
        "/admin/incidents/component/",
        {
            "action": "set_major_outage",
            "_selected_action": str(site.api_component_id),
            "index": "0",
        },
    )
    assert answer.status == 302, answer.text[:500]
    # The change asked for a publish on the broker: a worker takes it from there.
    start_worker(
        "default", **{k: v for k, v in site.app.environment.items() if _is_ours(k)}
    )

    def published() -> bool:
        summary = site.visitor().get("/api/v2/summary.json")
        return summary.status == 200 and b'"major_outage"' in summary.body

    assert eventually(published, timeout=20)
    page = site.visitor().get("/")
    assert page.headers[serve.VERSION_HEADER] != before
    assert '"status status--major_outage"' in page.text


def _is_ours(name: str) -> bool:
    return name.startswith(("DATABASE_", "REDIS_", "CELERY_", "SNAPSHOT_"))
