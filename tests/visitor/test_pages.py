"""Several pages in one install: each answers on its own host name (or under
``/p/<slug>/``) with its own components, incidents, updates and subscribers, and no
page shows another's."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from incidents import services
from incidents.models import ComponentStatus, Page
from notifications.models import Event, Scope, Subscriber, SubscriberState
from notifications.services.delivery import subscribers_for
from tests.api_helpers import token_for
from tests.conftest import make_component, make_incident, make_page
from tests.probes.conftest import run_probe
from visitor.snapshot import publish

pytestmark = pytest.mark.django_db

PUBLIC_WORDS = "Some users cannot sign in."
INTERNAL_WORDS = "The session store's primary is out of memory; failing over."


@pytest.fixture
def two_pages() -> dict[str, Any]:
    """Acme's public page (the default, on every other host) and its employees'
    page on ``localhost``, with a component each sees alone and one both see."""
    public = make_page(name="Acme", url="https://status.acme.test")
    internal = services.page_create(
        name="Acme internal",
        slug="internal",
        hosts=["localhost"],
        url="http://localhost",
    )
    login = make_component(name="Login", pages=[public, internal])
    make_component(name="Public API", pages=[public])
    sessions = make_component(name="Session store", pages=[internal])
    incident = make_incident(
        name="Sign-in failures",
        body=PUBLIC_WORDS,
        component_statuses={login: ComponentStatus.PARTIAL_OUTAGE},
    )
    services.incident_post_update(
        incident=incident,
        status="investigating",
        body=INTERNAL_WORDS,
        component_statuses={sessions: ComponentStatus.MAJOR_OUTAGE},
        shown_on=[internal],
    )
    return {
        "public": public,
        "internal": internal,
        "login": login,
        "sessions": sessions,
        "incident": incident,
    }


def summary(client: Client, host: str, prefix: str = "") -> dict[str, Any]:
    response = client.get(f"{prefix}/api/v2/summary.json", HTTP_HOST=host)
    assert response.status_code == 200
    return json.loads(response.content)


def names(body: dict[str, Any]) -> list[str]:
    return [component["name"] for component in body["components"]]


def test_each_host_name_gets_its_own_page(
    client: Client, two_pages: dict[str, Any]
) -> None:
    public = summary(client, "127.0.0.1")
    internal = summary(client, "localhost")

    assert public["page"]["id"] == two_pages["public"].public_id
    assert internal["page"]["id"] == two_pages["internal"].public_id
    assert names(public) == ["Login", "Public API"]
    assert names(internal) == ["Login", "Session store"]
    assert all(c["page_id"] == internal["page"]["id"] for c in internal["components"])


def test_an_incident_on_both_pages_tells_each_its_own_updates(
    client: Client, two_pages: dict[str, Any]
) -> None:
    [public] = summary(client, "127.0.0.1")["incidents"]
    [internal] = summary(client, "localhost")["incidents"]

    assert public["id"] == internal["id"] == two_pages["incident"].public_id
    assert [u["body"] for u in public["incident_updates"]] == [PUBLIC_WORDS]
    assert [u["body"] for u in internal["incident_updates"]] == [
        INTERNAL_WORDS,
        PUBLIC_WORDS,
    ]
    # The public page names only the component it shows, in the body and in the
    # affected components of each update.
    assert [c["name"] for c in public["components"]] == ["Login"]
    assert [c["name"] for c in internal["components"]] == ["Login", "Session store"]
    affected = [
        entry["name"]
        for update in internal["incident_updates"]
        for entry in update["affected_components"] or ()
    ]
    assert affected == ["Session store", "Login"]
    assert public["incident_updates"][0]["affected_components"][0]["name"] == "Login"


def test_no_public_answer_carries_a_byte_of_the_internal_page(
    client: Client, two_pages: dict[str, Any]
) -> None:
    incident = two_pages["incident"].public_id
    login = two_pages["login"].public_id
    paths = [
        reverse("public:index"),
        reverse("public:history"),
        reverse("public:incident", args=[incident]),
        reverse("public:component", args=[login]),
        reverse("public:feed-atom"),
        reverse("public:feed-rss"),
        reverse("public:compact"),
        reverse("public:embed-js"),
        reverse("public:badge"),
        *(
            reverse(f"api_v2:{name}")
            for name in (
                "summary",
                "status",
                "components",
                "incidents",
                "incidents-unresolved",
                "scheduled-maintenances",
            )
        ),
    ]
    for path in paths:
        body = client.get(path, HTTP_HOST="127.0.0.1").content.decode()
        for secret in ("Session store", "session store", "Acme internal"):
            assert secret not in body, f"{path} shows {secret!r}"

    internal = client.get(reverse("public:index"), HTTP_HOST="localhost")
    assert "Session store" in internal.content.decode()
    assert "failing over" in internal.content.decode()


def test_the_public_page_has_no_page_for_an_internal_component(
    client: Client, two_pages: dict[str, Any]
) -> None:
    sessions = two_pages["sessions"].public_id
    public = client.get(reverse("public:component", args=[sessions]))
    badge = client.get(reverse("public:component-badge", args=[sessions]))
    internal = client.get(
        reverse("public:component", args=[sessions]), HTTP_HOST="localhost"
    )

    assert public.status_code == badge.status_code == 404
    assert internal.status_code == 200


def test_an_internal_incident_is_on_the_internal_page_alone(
    client: Client, two_pages: dict[str, Any]
) -> None:
    failover = make_incident(
        name="Failover drill",
        component_statuses={
            two_pages["sessions"]: ComponentStatus.DEGRADED_PERFORMANCE
        },
    )

    assert list(failover.pages.all()) == [two_pages["internal"]]
    public = client.get(reverse("public:incident", args=[failover.public_id]))
    assert public.status_code == 404
    internal = summary(client, "localhost")["incidents"]
    assert failover.public_id in [i["id"] for i in internal]


def test_a_page_without_a_host_name_is_under_its_path(client: Client) -> None:
    make_page(name="Acme")
    europe = services.page_create(name="Acme Europe", slug="europe")
    make_component(name="Frankfurt", pages=[europe])

    body = summary(client, "127.0.0.1", prefix="/p/europe")
    index = client.get("/p/europe/")

    assert body["page"]["name"] == "Acme Europe"
    assert names(body) == ["Frankfurt"]
    # The page's links stay under its path; the static files stay at the root.
    html = index.content.decode()
    assert 'href="/p/europe/history/"' in html
    assert 'href="/static/' in html and "/p/europe/static/" not in html
    assert client.get("/p/europe").status_code == 302
    assert client.get("/p/nowhere/").status_code == 404
    assert client.get("/p/europe/admin/").status_code == 404
    assert names(summary(client, "127.0.0.1")) == []  # the default page's


def test_a_page_with_a_host_name_sends_its_path_there(
    client: Client, two_pages: dict[str, Any]
) -> None:
    response = client.get("/p/internal/history/?page=2", HTTP_HOST="127.0.0.1:8000")

    assert response.status_code == 302
    assert response["Location"] == "http://localhost:8000/history/?page=2"


def test_a_host_name_belongs_to_one_page(two_pages: dict[str, Any]) -> None:
    with pytest.raises(Exception, match="Another page answers on localhost"):
        services.page_create(name="Other", slug="other", hosts=["LOCALHOST"])
    with pytest.raises(Exception, match="not a host name"):
        services.page_create(name="Other", slug="other", hosts=["https://x.test/"])
    with pytest.raises(Exception, match="path of the site"):
        services.page_create(name="Other", slug="admin")
    assert Page.objects.count() == 2  # refused means nothing written


def test_the_snapshot_holds_each_page_under_its_own_host(
    client: Client, two_pages: dict[str, Any], isolated_snapshot: Any
) -> None:
    manifest = publish.snapshot_publish()
    assert manifest is not None
    assert manifest.page_hosts == {"localhost": "internal"}

    public = client.get("/api/v2/summary.json", HTTP_HOST="127.0.0.1")
    internal = client.get("/api/v2/summary.json", HTTP_HOST="localhost")
    index = client.get("/", HTTP_HOST="localhost")

    for response in (public, internal, index):
        assert "X-Heliograph-Snapshot-Version" in response.headers
    assert names(json.loads(public.content)) == ["Login", "Public API"]
    assert names(json.loads(internal.content)) == ["Login", "Session store"]
    assert "failing over" in index.content.decode()
    # The default page's artifacts hold no byte of the other page.
    store = publish.current_store()
    for key, entry in manifest.artifacts.items():
        if key.startswith("/p/"):
            continue
        body = store.blob(entry.etag, None) or b""
        assert b"Session store" not in body and b"failing over" not in body, key


def test_the_snapshot_holds_a_path_page_with_its_links_under_its_path(
    client: Client, isolated_snapshot: Any
) -> None:
    make_page(name="Acme")
    europe = services.page_create(name="Acme Europe", slug="europe")
    make_component(name="Frankfurt", pages=[europe])
    manifest = publish.snapshot_publish()
    assert manifest is not None and manifest.path_pages == ["europe"]

    index = client.get("/p/europe/")
    summary_body = client.get("/p/europe/api/v2/summary.json")

    assert "X-Heliograph-Snapshot-Version" in index.headers
    assert 'href="/p/europe/history/"' in index.content.decode()
    assert names(json.loads(summary_body.content)) == ["Frankfurt"]
    assert "/p/europe/history/" in manifest.artifacts
    assert names(summary(client, "127.0.0.1")) == []


def test_each_page_tells_its_own_subscribers_in_its_own_words(
    two_pages: dict[str, Any],
) -> None:
    public, internal = two_pages["public"], two_pages["internal"]
    outsider = Subscriber.objects.create(
        page=public,
        channel="email",
        email="a@example.com",
        state=SubscriberState.ACTIVE,
    )
    employee = Subscriber.objects.create(
        page=internal,
        channel="email",
        email="b@acme.test",
        state=SubscriberState.ACTIVE,
        scope=Scope.PAGE,
    )
    incident = two_pages["incident"]

    events = Event.objects.filter(incident=incident).exclude(kind="component.updated")
    by_page: dict[int | None, list[Event]] = {}
    for event in events:
        by_page.setdefault(event.page_id, []).append(event)

    # The first update went to both pages; the internal one to the internal page.
    assert len(by_page[public.pk]) == 1
    assert len(by_page[internal.pk]) == 2
    for event in by_page[public.pk]:
        assert list(subscribers_for(event)) == [outsider]
        text = json.dumps(event.payload)
        assert INTERNAL_WORDS not in text and "Session store" not in text
    for event in by_page[internal.pk]:
        assert list(subscribers_for(event)) == [employee]
    assert any(
        INTERNAL_WORDS in json.dumps(event.payload) for event in by_page[internal.pk]
    )


def test_a_subscriber_signs_up_to_the_page_it_is_on(
    client: Client, two_pages: dict[str, Any]
) -> None:
    sessions = two_pages["sessions"]
    refused = client.post(
        reverse("notifications:subscribe"),
        {
            "channel": "email",
            "email": "c@example.com",
            "scope": Scope.COMPONENTS,
            "components": [sessions.public_id],
        },
        HTTP_HOST="127.0.0.1",
    )
    assert refused.status_code == 200 and not Subscriber.objects.exists()

    client.post(
        reverse("notifications:subscribe"),
        {
            "channel": "email",
            "email": "c@acme.test",
            "scope": Scope.COMPONENTS,
            "components": [sessions.public_id],
        },
        HTTP_HOST="localhost",
    )
    subscriber = Subscriber.objects.get()
    assert subscriber.page == two_pages["internal"]
    assert list(subscriber.components.all()) == [sessions]


def test_the_management_api_keeps_to_the_page_in_its_path(
    client: Client, two_pages: dict[str, Any]
) -> None:
    internal = two_pages["internal"].public_id
    headers = {"HTTP_AUTHORIZATION": f"OAuth {token_for()}"}

    pages = client.get("/api/v1/pages", **headers).json()
    listed = client.get(f"/api/v1/pages/{internal}/components", **headers).json()
    created = client.post(
        f"/api/v1/pages/{internal}/components",
        {"component": {"name": "Build farm"}},
        content_type="application/json",
        **headers,
    )
    refused = client.post(
        f"/api/v1/pages/{two_pages['public'].public_id}/incidents",
        {
            "incident": {
                "name": "Leak",
                "components": {two_pages["sessions"].public_id: "major_outage"},
            }
        },
        content_type="application/json",
        **headers,
    )

    assert [p["name"] for p in pages] == ["Acme", "Acme internal"]
    assert [c["name"] for c in listed] == ["Login", "Session store"]
    assert created.status_code == 201
    build = two_pages["internal"].components.get(name="Build farm")
    assert list(build.pages.all()) == [two_pages["internal"]]
    assert refused.status_code == 400
    assert not two_pages["public"].incidents.filter(name="Leak").exists()
    unknown = client.get("/api/v1/pages/nopage000000/components", **headers)
    assert unknown.status_code == 404


def test_a_page_shows_a_group_with_the_status_of_the_children_it_shows(
    client: Client,
) -> None:
    public = make_page(name="Acme")
    internal = services.page_create(name="Internal", slug="internal")
    group = services.component_create(name="Sign-in", is_group=True, pages=[public])
    services.component_create(name="Login", group=group, pages=[public, internal])
    broken = services.component_create(name="Sessions", group=group, pages=[internal])
    services.component_set_status(
        component=broken, status=ComponentStatus.MAJOR_OUTAGE, source="staff"
    )

    public_body = summary(client, "127.0.0.1")
    internal_body = summary(client, "127.0.0.1", prefix="/p/internal")

    [public_group] = [c for c in public_body["components"] if c["group"]]
    [internal_group] = [c for c in internal_body["components"] if c["group"]]
    assert public_group["status"] == "operational"
    assert len(public_group["components"]) == 1
    assert internal_group["status"] == "major_outage"
    assert public_body["status"]["indicator"] == "none"


def test_the_statuspage_client_reads_each_pages_summary(
    live_server: Any, transactional_db: Any
) -> None:
    """Heliograph's own Statuspage client (the ``statuspage`` probe kind) reads each
    page's summary.json by its host name, as an embed or another monitor would."""
    public = make_page(name="Acme")
    internal = services.page_create(
        name="Internal", slug="internal", hosts=["localhost"]
    )
    make_component(name="Login", pages=[public, internal])
    sessions = make_component(name="Session store", pages=[internal])
    services.component_set_status(
        component=sessions, status=ComponentStatus.PARTIAL_OUTAGE, source="staff"
    )
    port = urlsplit(live_server.url).port

    on_internal = run_probe(
        "statuspage", {"url": f"http://localhost:{port}/", "component": "Session store"}
    ).steps[0]
    on_public = run_probe(
        "statuspage", {"url": f"http://127.0.0.1:{port}/", "component": "Session store"}
    ).steps[0]
    login = run_probe(
        "statuspage", {"url": f"http://127.0.0.1:{port}/", "component": "Login"}
    ).steps[0]

    assert on_internal.observed_status == "partial_outage"
    assert on_public.outcome.name != "UP" and "Session store" in (on_public.error or "")
    assert login.outcome.name == "UP"


def test_bars_name_no_incident_of_another_page(
    client: Client, two_pages: dict[str, Any]
) -> None:
    """A day's figures on a component both pages show name only incidents of the
    page they are on."""
    from uptime.models import ComponentDay

    drill = make_incident(
        name="Failover drill",
        component_statuses={
            two_pages["sessions"]: ComponentStatus.DEGRADED_PERFORMANCE
        },
    )
    today = dt.datetime.now(dt.UTC).date()
    ComponentDay.objects.update_or_create(
        component=two_pages["login"],
        day=today,
        defaults={
            "operational_seconds": 3600,
            "partial_seconds": 60,
            "incidents": [
                {"id": drill.public_id, "name": "Failover drill", "impact": "minor"}
            ],
        },
    )
    login = two_pages["login"].public_id

    public = client.get(reverse("public:component", args=[login]))
    internal = client.get(
        reverse("public:component", args=[login]), HTTP_HOST="localhost"
    )

    assert "Failover drill" not in public.content.decode()
    assert "Failover drill" in internal.content.decode()


# What one audience must never read of another's --------------------------------------


@pytest.mark.parametrize("internal_first", [True, False])
def test_a_failing_internal_component_never_joins_a_public_automatic_incident(
    client: Client, internal_first: bool
) -> None:
    from probes.automation import component_apply_verdict

    public = make_page(name="Acme")
    internal = services.page_create(
        name="Internal", slug="internal", hosts=["localhost"]
    )
    login = make_component(name="Login", pages=[public])
    sessions = make_component(name="Session store", pages=[internal])
    failing = [sessions, login] if internal_first else [login, sessions]
    for component in failing:
        component_apply_verdict(
            component=component,
            status=ComponentStatus.MAJOR_OUTAGE,
            confirmed=3,
            total=3,
        )
    for component in failing:
        component_apply_verdict(
            component=component,
            status=ComponentStatus.OPERATIONAL,
            confirmed=3,
            total=3,
        )

    public_body = client.get("/api/v2/incidents.json").content.decode()
    told = Event.objects.filter(page=public)
    assert "Login" in public_body and "Session store" not in public_body
    assert all("Session store" not in json.dumps(e.payload) + e.subject for e in told)
    internal_body = summary(client, "localhost")
    assert "Session store" in json.dumps(internal_body)


def test_an_update_limited_to_one_page_brings_its_incident_to_no_other(
    client: Client, two_pages: dict[str, Any]
) -> None:
    secret = make_incident(
        name="Session store primary lost its disk",
        component_statuses={two_pages["sessions"]: ComponentStatus.PARTIAL_OUTAGE},
    )
    services.incident_post_update(
        incident=secret,
        status="investigating",
        body="Internal: failover slows sign-in.",
        component_statuses={two_pages["login"]: ComponentStatus.DEGRADED_PERFORMANCE},
        shown_on=[two_pages["internal"]],
    )

    listed = client.get("/api/v2/incidents.json").json()["incidents"]
    assert secret.public_id not in [i["id"] for i in listed]
    assert list(secret.pages.all()) == [two_pages["internal"]]


def test_a_page_joining_an_incident_sees_only_the_updates_from_then_on(
    client: Client, two_pages: dict[str, Any]
) -> None:
    drill = make_incident(
        name="Failover drill",
        body="Internal: starting the drill on the session store.",
        component_statuses={two_pages["sessions"]: ComponentStatus.PARTIAL_OUTAGE},
    )
    services.incident_post_update(
        incident=drill,
        status="identified",
        body="Sign-in may be slow for a few minutes.",
        component_statuses={two_pages["login"]: ComponentStatus.DEGRADED_PERFORMANCE},
    )

    [shown] = [
        i
        for i in client.get("/api/v2/incidents.json").json()["incidents"]
        if i["id"] == drill.public_id
    ]
    bodies = [u["body"] for u in shown["incident_updates"]]
    assert bodies == ["Sign-in may be slow for a few minutes."]
    internal = summary(client, "localhost")["incidents"]
    [whole] = [i for i in internal if i["id"] == drill.public_id]
    assert len(whole["incident_updates"]) == 2


def test_an_update_limited_to_some_pages_cannot_move_the_incidents_status(
    two_pages: dict[str, Any],
) -> None:
    incident = two_pages["incident"]
    before = incident.updates.count()

    with pytest.raises(Exception, match="cannot change its status"):
        services.incident_post_update(
            incident=incident,
            status="resolved",
            body="Internal: done.",
            shown_on=[two_pages["internal"]],
        )
    assert incident.updates.count() == before  # refused means nothing written


def test_each_page_shows_the_impact_its_own_components_gave(
    client: Client, two_pages: dict[str, Any]
) -> None:
    """The internal session store's major outage makes the incident critical for
    employees; customers see the partial outage of sign-in they live with."""
    [public] = summary(client, "127.0.0.1")["incidents"]
    [internal] = summary(client, "localhost")["incidents"]
    page = client.get(reverse("public:incident", args=[public["id"]])).content.decode()

    assert public["impact"] == "major" and internal["impact"] == "critical"
    assert summary(client, "127.0.0.1")["status"]["indicator"] == "major"
    assert summary(client, "localhost")["status"]["indicator"] == "critical"
    assert "Critical" not in page


def test_a_groups_badge_and_status_on_a_page_are_those_of_its_children_there(
    client: Client,
) -> None:
    public = make_page(name="Acme")
    internal = services.page_create(name="Internal", slug="internal")
    group = services.component_create(name="Accounts", is_group=True, pages=[public])
    services.component_create(name="Login", group=group, pages=[public, internal])
    secret = services.component_create(name="Sessions", group=group, pages=[internal])
    services.component_set_status(
        component=secret, status=ComponentStatus.MAJOR_OUTAGE, source="staff"
    )
    lonely = services.component_create(name="Billing", is_group=True, pages=[public])
    hidden = services.component_create(name="Ledger", group=lonely, pages=[internal])
    services.component_set_status(
        component=hidden, status=ComponentStatus.MAJOR_OUTAGE, source="staff"
    )

    badge = client.get(reverse("public:component-badge", args=[group.public_id]))
    groups = {
        c["name"]: c["status"]
        for c in client.get("/api/v2/components.json").json()["components"]
        if c["group"]
    }

    assert "Major outage" not in badge.content.decode()
    assert "Operational" in badge.content.decode()
    assert groups == {"Accounts": "operational", "Billing": "operational"}
