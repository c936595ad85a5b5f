"""Private pages: each way in (password, allowed network, a sign-in link mailed to
an allowed domain, staff sign-in) lets in whom it should and nobody else, the
snapshot checks the same pass without the database, and no private byte reaches a
public answer, the export or a shared cache."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from audience import services as audience
from audience.models import PageAccess
from audience.rules import cookie_name
from audience.tasks import link_send
from incidents import services
from incidents.models import ComponentStatus, Page
from notifications.models import Subscriber
from tests.api_helpers import staff_user
from tests.conftest import make_component, make_incident, make_page
from tests.notifications.conftest import (  # noqa: F401  (fixtures)
    notifications_queue,
    queued_tasks,
    rate_limit_cache,
    smtp_server,
)
from visitor.snapshot import publish
from visitor.snapshot.export import snapshot_export

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("rate_limit_cache", "notifications_queue"),
]

PASSWORD = "correct horse battery staple"
SECRET = "Session store failover"
HOST = "localhost"
SNAPSHOT = "X-Heliograph-Snapshot-Version"


@pytest.fixture
def internal() -> Page:
    """Acme's public page, and a private one for employees on ``localhost``."""
    public = make_page(name="Acme")
    page = services.page_create(name="Acme internal", slug="internal", hosts=[HOST])
    make_component(name="Login", pages=[public, page])
    sessions = make_component(name=SECRET, pages=[page])
    make_incident(
        name="Sign-in failures",
        body="Some users cannot sign in.",
        component_statuses={sessions: ComponentStatus.MAJOR_OUTAGE},
    )
    return page


def private(page: Page, **rules: Any) -> PageAccess:
    return audience.access_update(page=page, **rules)


def get(client: Client, path: str = "/api/v2/summary.json", **extra: Any) -> Any:
    return client.get(path, HTTP_HOST=HOST, **extra)


def html(client: Client, path: str = "/", **extra: Any) -> Any:
    return client.get(path, HTTP_HOST=HOST, HTTP_ACCEPT="text/html", **extra)


def sign_in(client: Client, password: str = PASSWORD, next_: str = "/") -> Any:
    return client.post(
        reverse("audience:gate"),
        {"password": password, "next": next_},
        HTTP_HOST=HOST,
    )


# Password -----------------------------------------------------------------------------


def test_a_private_page_refuses_a_visitor_without_a_pass(
    client: Client, internal: Page
) -> None:
    private(internal, password=PASSWORD)

    api = get(client)
    page = html(client, "/history/")

    assert api.status_code == 401 and SECRET not in api.content.decode()
    assert api["Cache-Control"] == "private, no-cache"
    assert page.status_code == 302
    assert page["Location"] == "/access/?next=%2Fhistory%2F"
    gate = client.get(page["Location"], HTTP_HOST=HOST)
    assert gate.status_code == 200 and SECRET not in gate.content.decode()
    assert "This status page is private" in gate.content.decode()


def test_the_password_lets_a_browser_in_and_a_wrong_one_does_not(
    client: Client, internal: Page
) -> None:
    private(internal, password=PASSWORD)

    wrong = sign_in(client, "guess")
    assert wrong.status_code == 403 and cookie_name(internal.public_id) not in (
        wrong.cookies
    )
    right = sign_in(client, next_="/history/")
    assert right.status_code == 302 and right["Location"] == "/history/"
    cookie = right.cookies[cookie_name(internal.public_id)]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"

    body = get(client)
    assert body.status_code == 200
    assert SECRET in [c["name"] for c in json.loads(body.content)["components"]]
    assert body["Cache-Control"] == "private, no-cache"
    assert "Cookie" in body["Vary"]


def test_a_pass_stops_working_when_the_rules_change(
    client: Client, internal: Page
) -> None:
    private(internal, password=PASSWORD)
    sign_in(client)
    assert get(client).status_code == 200

    private(internal, password="a new password for everyone")

    assert get(client).status_code == 401


def test_a_pass_of_one_page_opens_no_other(
    client: Client, internal: Page, settings: Any
) -> None:
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "board.test"]
    other = services.page_create(name="Board", slug="board", hosts=["board.test"])
    private(internal, password=PASSWORD)
    private(other, password="another long password here")
    sign_in(client)
    # The browser sends the internal page's cookie to the other host too (as it
    # would on one host with path pages): it must not open that page.
    stolen = client.cookies[cookie_name(internal.public_id)].value
    client.cookies[cookie_name(other.public_id)] = stolen

    assert get(client).status_code == 200
    refused = client.get("/api/v2/summary.json", HTTP_HOST="board.test")
    assert refused.status_code == 401


def test_a_forged_or_expired_pass_is_refused(
    client: Client, internal: Page, settings: Any
) -> None:
    private(internal, password=PASSWORD)
    client.cookies[cookie_name(internal.public_id)] = "forged:value"
    assert get(client).status_code == 401

    with time_machine.travel(dt.datetime.now(dt.UTC), tick=False) as clock:
        sign_in(client)
        assert get(client).status_code == 200
        clock.shift(settings.AUDIENCE_PASS_MAX_AGE_SECONDS + 5)
        assert get(client).status_code == 401


def test_password_tries_are_limited_per_address(
    client: Client, internal: Page, settings: Any
) -> None:
    settings.AUDIENCE_RATE = "3/h"
    private(internal, password=PASSWORD)
    for _ in range(3):
        assert sign_in(client, "guess").status_code == 403

    assert sign_in(client).status_code == 429  # even the right one, for a while


def test_a_short_or_common_password_is_refused_and_nothing_written(
    internal: Page,
) -> None:
    with pytest.raises(Exception, match="password"):
        private(internal, password="abc")
    assert not PageAccess.objects.filter(page=internal).exists()


# Allowed networks ---------------------------------------------------------------------


def test_an_allowed_network_sees_the_page_without_signing_in(
    client: Client, internal: Page
) -> None:
    private(internal, ip_allowlist="10.1.0.0/16\n2001:db8::/32")

    inside = get(client, REMOTE_ADDR="10.1.2.3")
    v6 = get(client, REMOTE_ADDR="2001:db8::7")
    outside = get(client, REMOTE_ADDR="10.2.0.1")

    assert inside.status_code == v6.status_code == 200
    assert outside.status_code == 401


def test_a_wrong_network_is_refused_with_the_reason(internal: Page) -> None:
    with pytest.raises(Exception, match="'10.1.0.0/33' is not an address"):
        private(internal, ip_allowlist="10.1.0.0/33")


# Sign-in links ------------------------------------------------------------------------


def queued_links() -> list[dict[str, Any]]:
    """The sign-in mails waiting on the broker (reading takes them off)."""
    return [kwargs for _, kwargs in queued_tasks("audience.tasks.link_send")]


def ask_for_link(client: Client, email: str) -> Any:
    return client.post(reverse("audience:link"), {"email": email}, HTTP_HOST=HOST)


def test_an_address_at_an_allowed_domain_gets_a_link_that_signs_in_once(
    client: Client,
    internal: Page,
    smtp_server: Any,  # noqa: F811
) -> None:
    private(internal, email_domains="acme.test")
    queued_links()

    answer = ask_for_link(client, "Ada@ACME.test")
    [queued] = queued_links()
    link_send(**queued)
    [mail] = smtp_server.to("ada@acme.test")
    url = next(w for w in mail.get_content().split() if "/access/enter?token=" in w)
    path = url.split(HOST, 1)[1]

    assert answer.status_code == 200 and "a sign-in link is on its way" in (
        answer.content.decode()
    )
    # Opening the link asks to confirm: a mail scanner's GET lets nobody in.
    confirm = client.get(path, HTTP_HOST=HOST)
    assert confirm.status_code == 200 and get(client).status_code == 401
    token = path.split("token=", 1)[1]
    entered = client.post(reverse("audience:enter"), {"token": token}, HTTP_HOST=HOST)
    assert entered.status_code == 302
    assert get(client).status_code == 200

    again = Client().post(reverse("audience:enter"), {"token": token}, HTTP_HOST=HOST)
    assert again.status_code == 403 and "used already" in again.content.decode()


def test_an_address_at_another_domain_gets_the_same_answer_and_no_mail(
    client: Client, internal: Page
) -> None:
    private(internal, email_domains="acme.test")
    queued_links()

    allowed = ask_for_link(client, "ada@acme.test")
    refused = ask_for_link(client, "eve@evil.test")

    def words(response: Any) -> str:
        return re.sub(
            r'name="csrfmiddlewaretoken" value="[^"]*"', "", response.content.decode()
        )

    assert refused.status_code == allowed.status_code == 200
    assert words(refused) == words(allowed)
    assert [link["email"] for link in queued_links()] == ["ada@acme.test"]


def test_an_expired_link_is_refused(
    client: Client, internal: Page, settings: Any
) -> None:
    private(internal, email_domains="acme.test")
    queued_links()
    with time_machine.travel(dt.datetime.now(dt.UTC), tick=False) as clock:
        ask_for_link(client, "ada@acme.test")
        [queued] = queued_links()
        token = queued["url"].split("token=", 1)[1]
        clock.shift(settings.AUDIENCE_LINK_MAX_AGE_SECONDS + 1)
        late = client.post(reverse("audience:enter"), {"token": token}, HTTP_HOST=HOST)

    assert late.status_code == 403 and "expired" in late.content.decode()
    assert get(client).status_code == 401


def test_a_link_stops_working_when_its_domain_is_removed(
    client: Client, internal: Page
) -> None:
    private(internal, email_domains="acme.test")
    queued_links()
    ask_for_link(client, "ada@acme.test")
    [queued] = queued_links()
    private(internal, email_domains="", password=PASSWORD)

    token = queued["url"].split("token=", 1)[1]
    late = client.post(reverse("audience:enter"), {"token": token}, HTTP_HOST=HOST)

    assert late.status_code == 403


def test_links_to_one_address_are_limited(
    client: Client, internal: Page, settings: Any
) -> None:
    settings.AUDIENCE_LINKS_PER_ADDRESS = 2
    private(internal, email_domains="acme.test")
    queued_links()
    for _ in range(4):
        ask_for_link(client, "ada@acme.test")

    assert len(queued_links()) == 2


# Staff --------------------------------------------------------------------------------


def test_signed_in_staff_see_the_page_when_the_page_lets_them(
    client: Client, internal: Page
) -> None:
    private(internal, allow_staff=True)
    assert get(client).status_code == 401

    client.force_login(staff_user("oncall", "responder"))
    seen = get(client)

    assert seen.status_code == 200
    assert cookie_name(internal.public_id) in seen.cookies  # the snapshot's pass
    private(internal, allow_staff=False, password=PASSWORD)
    assert get(client).status_code == 401


# Subscribing --------------------------------------------------------------------------


def test_signing_up_to_a_private_page_needs_a_way_in(
    client: Client, internal: Page
) -> None:
    private(internal, password=PASSWORD)
    form = {"channel": "email", "email": "ada@acme.test", "scope": "page"}

    refused = client.post(reverse("notifications:subscribe"), form, HTTP_HOST=HOST)
    assert refused.status_code == 401 and not Subscriber.objects.exists()

    sign_in(client)
    client.post(reverse("notifications:subscribe"), form, HTTP_HOST=HOST)
    assert Subscriber.objects.get().page == internal


# The snapshot -------------------------------------------------------------------------


def test_the_snapshot_serves_a_private_page_only_with_a_pass_and_no_query(
    client: Client,
    internal: Page,
    isolated_snapshot: Any,
    django_assert_num_queries: Any,
) -> None:
    private(internal, password=PASSWORD)
    manifest = publish.snapshot_publish()
    assert manifest is not None and set(manifest.page_access) == {"internal"}

    refused = get(client)
    assert SNAPSHOT not in refused.headers and refused.status_code == 401
    sign_in(client)
    get(client)  # warm the reader
    with django_assert_num_queries(0):
        served = get(client)

    assert served.status_code == 200 and SNAPSHOT in served.headers
    assert served["Cache-Control"] == "private, no-cache"
    assert "Cookie" in served["Vary"]
    assert SECRET in served.content.decode()
    # The public page is still public, and cached as such.
    public = client.get("/api/v2/summary.json", HTTP_HOST="127.0.0.1")
    assert public["Cache-Control"].startswith("public")


def test_no_private_byte_reaches_the_export_or_a_public_answer(
    client: Client, internal: Page, isolated_snapshot: Any, tmp_path: Path
) -> None:
    private(internal, password=PASSWORD)
    manifest = publish.snapshot_publish()
    assert manifest is not None
    written = snapshot_export(to=tmp_path / "export")

    assert not any(name.startswith("p/internal") for name in written)
    for file in (tmp_path / "export").rglob("*"):
        if file.is_file():
            assert SECRET.encode() not in file.read_bytes(), file
    for key in manifest.artifacts:
        if key.startswith("/p/internal"):
            continue
        body = Client().get(key, HTTP_HOST="127.0.0.1").content
        assert SECRET.encode() not in body, key


def test_a_private_default_page_keeps_its_heartbeats_and_console_open(
    client: Client,
) -> None:
    page = make_page(name="Acme")
    private(page, password=PASSWORD)

    assert client.get("/api/v2/status.json").status_code == 401
    assert client.get("/admin/login/").status_code in (200, 302)
    assert client.get("/heartbeat/unknown-token").status_code != 401


# What the review found --------------------------------------------------------------


@pytest.mark.parametrize("snapshot", [False, True])
def test_another_site_cannot_read_a_network_allowed_private_page(
    client: Client, internal: Page, isolated_snapshot: Any, snapshot: bool
) -> None:
    private(internal, ip_allowlist="10.0.0.0/8")
    if snapshot:
        publish.snapshot_publish()

    answer = get(client, REMOTE_ADDR="10.1.2.3", HTTP_ORIGIN="https://evil.example")

    assert answer.status_code == 200
    assert ("X-Heliograph-Snapshot-Version" in answer.headers) is snapshot
    assert "Access-Control-Allow-Origin" not in answer.headers
    assert "Cross-Origin-Resource-Policy" not in answer.headers
    public = client.get("/api/v2/summary.json", HTTP_HOST="127.0.0.1")
    assert public["Access-Control-Allow-Origin"] == "*"


def test_a_change_of_the_rules_stops_news_to_those_it_no_longer_lets_in(
    client: Client, internal: Page
) -> None:
    from notifications.models import Channel, Event
    from notifications.services.delivery import subscribers_for
    from notifications.services.subscribers import subscriber_subscribe

    private(internal, password=PASSWORD, email_domains="acme.test")
    outsider, _ = subscriber_subscribe(
        channel=Channel.EMAIL,
        email="ex-employee@example.com",
        page=internal,
        skip_confirmation=True,
    )
    employee, _ = subscriber_subscribe(
        channel=Channel.EMAIL,
        email="ada@acme.test",
        page=internal,
        skip_confirmation=True,
    )

    private(internal, password="a brand new long passphrase")
    sessions = internal.components.get(name=SECRET)
    make_incident(
        name="Internal only",
        component_statuses={sessions: ComponentStatus.PARTIAL_OUTAGE},
    )
    event = Event.objects.filter(page=internal, incident__name="Internal only").first()

    assert event is not None
    assert list(subscribers_for(event)) == [employee]
    assert Subscriber.objects.filter(pk=outsider.pk).exists()  # kept, not told


def test_making_a_page_private_takes_effect_in_the_snapshot_at_once(
    client: Client,
    internal: Page,
    isolated_snapshot: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    publish.snapshot_publish()
    assert get(client).status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        private(internal, password=PASSWORD)
    refused = get(client)

    assert refused.status_code == 401 and SECRET not in refused.content.decode()
    sign_in(client)
    with django_capture_on_commit_callbacks(execute=True):
        private(internal, password="the new staff passphrase 2026")
    assert get(client).status_code == 401  # the old password's pass is void


def test_an_ipv6_allowlist_matches_the_address_not_its_network(
    client: Client, internal: Page
) -> None:
    private(internal, ip_allowlist="2001:db8::1/128\n2001:db8:1::/120")

    assert get(client, REMOTE_ADDR="2001:db8::1").status_code == 200
    assert get(client, REMOTE_ADDR="2001:db8::2").status_code == 401
    assert get(client, REMOTE_ADDR="2001:db8:1::dead:beef").status_code == 401


def test_a_proxy_header_holding_a_list_or_missing_lets_nobody_in_and_breaks_nothing(
    client: Client, internal: Page, settings: Any
) -> None:
    settings.RATELIMIT_IP_META_KEY = "HTTP_X_REAL_IP"
    private(internal, ip_allowlist="10.0.0.0/8")

    listed = get(client, HTTP_X_REAL_IP="203.0.113.9, 10.0.0.5", REMOTE_ADDR="10.0.0.1")
    missing = get(client, REMOTE_ADDR="10.0.0.1")  # the proxy's own address
    inside = get(client, HTTP_X_REAL_IP="10.9.9.9", REMOTE_ADDR="10.0.0.1")

    assert listed.status_code == missing.status_code == 401
    assert inside.status_code == 200


def test_a_private_pages_path_on_another_host_tells_nothing_of_its_host(
    client: Client, internal: Page
) -> None:
    private(internal, password=PASSWORD)

    answer = client.get("/p/internal/", HTTP_HOST="127.0.0.1")

    assert answer.status_code == 404 and HOST not in answer.get("Location", "")


def test_a_link_opened_on_another_page_is_refused_and_not_spent(
    client: Client, internal: Page, settings: Any
) -> None:
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "board.test"]
    board = services.page_create(name="Board", slug="board", hosts=["board.test"])
    private(board, password="another long password here")
    private(internal, email_domains="acme.test")
    queued_links()
    ask_for_link(client, "ada@acme.test")
    [queued] = queued_links()
    token = queued["url"].split("token=", 1)[1]

    elsewhere = client.post(
        reverse("audience:enter"), {"token": token}, HTTP_HOST="board.test"
    )
    here = client.post(reverse("audience:enter"), {"token": token}, HTTP_HOST=HOST)

    assert elsewhere.status_code == 403 and "another page" in elsewhere.content.decode()
    assert here.status_code == 302
