"""The published snapshot: rendered once per change, served with no database query."""

from __future__ import annotations

import datetime as dt
import functools
import gzip
import http.server
import json
import os
import re
import shutil
import signal
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import time_machine
from django.conf import settings as django_settings
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from incidents import services
from incidents.models import Component, StatusSource
from tests.conftest import make_component, make_group, make_incident, make_page
from visitor import tasks
from visitor.snapshot import artifacts, publish, render, serve, store

pytestmark = pytest.mark.django_db

UTC = dt.UTC
NOW = dt.datetime(2025, 3, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def snapshot_store(isolated_snapshot: store.Store) -> store.Store:
    return isolated_snapshot


@pytest.fixture
def acme() -> dict[str, Any]:
    make_page(name="Acme", url="https://status.acme.test")
    product = make_group(name="Acme product")
    login = make_component(name="Login", group=product)
    api = make_component(name="Public API")
    incident = make_incident(
        name="Login failures", component_statuses={login: "partial_outage"}
    )
    return {"login": login, "api": api, "incident": incident}


def paths(manifest: store.Manifest) -> list[str]:
    return sorted(manifest.artifacts)


def set_status(component: Component, status: str) -> None:
    services.component_set_status(
        component=component, status=status, source=StatusSource.STAFF
    )


def served_by_views(client: Client, keys: list[str]) -> dict[str, Any]:
    """What the views answer, with no snapshot in the way."""
    assert store.current_reader().manifest() is None
    return {key: client.get(key) for key in keys}


# Serving ------------------------------------------------------------------------------


def test_it_answers_warm_public_requests_without_a_query(
    client: Client, acme: dict[str, Any], django_assert_num_queries: Any
) -> None:
    manifest = publish.snapshot_publish()
    assert manifest is not None
    for key in paths(manifest):
        client.get(key)  # warm: bytes into this process's memory

    with django_assert_num_queries(0):
        for key in paths(manifest):
            response = client.get(key)
            assert response.status_code == 200, key
            assert response["ETag"] == f'"{manifest.artifacts[key].etag}"'


def test_it_publishes_every_public_artifact(acme: dict[str, Any]) -> None:
    manifest = publish.snapshot_publish()

    assert manifest is not None
    incident = artifacts.path_of("public:incident", acme["incident"].public_id)
    expected = {*artifacts.listed_paths(), incident}
    assert expected <= set(manifest.artifacts)
    api = [key for key in manifest.artifacts if key.startswith("/api/v2/")]
    assert len(api) == 8
    assert {"/", "/history/", "/feed.atom", "/feed.rss"} <= set(manifest.artifacts)
    assert {"/embed.js", "/badge.svg", "/compact/"} <= set(manifest.artifacts)


def test_it_serves_the_bytes_and_headers_the_views_give(
    client: Client, acme: dict[str, Any]
) -> None:
    keys = artifacts.listed_paths()
    before = served_by_views(client, keys)

    manifest = publish.snapshot_publish()

    assert manifest is not None
    for key in keys:
        response = client.get(key)
        assert response.content == before[key].content, key
        assert response["Content-Type"] == before[key]["Content-Type"], key
        for header in ("X-Frame-Options", "Content-Security-Policy"):
            assert response.get(header) == before[key].get(header), (key, header)
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Cache-Control"] == (
            "public, max-age=5, stale-while-revalidate=30, stale-if-error=86400"
        )
        assert response["Last-Modified"]
        assert "Set-Cookie" not in response
        vary = "Accept-Encoding" if manifest.artifacts[key].gzipped else None
        assert response.get("Vary") == vary, key


def test_it_answers_304_to_a_matching_etag_or_date(
    client: Client, acme: dict[str, Any]
) -> None:
    publish.snapshot_publish()
    first = client.get("/api/v2/summary.json")

    by_etag = client.get("/api/v2/summary.json", HTTP_IF_NONE_MATCH=first["ETag"])
    by_date = client.get(
        "/api/v2/summary.json", HTTP_IF_MODIFIED_SINCE=first["Last-Modified"]
    )
    other = client.get("/api/v2/summary.json", HTTP_IF_NONE_MATCH='"something-else"')
    head = client.head("/")

    assert by_etag.status_code == 304 and by_etag.content == b""
    assert by_etag["ETag"] == first["ETag"]
    assert by_date.status_code == 304
    assert other.status_code == 200 and other.content == first.content
    assert head.status_code == 200 and head.content == b""
    assert int(head["Content-Length"]) == len(client.get("/").content)


def test_it_ignores_cookies_and_query_strings_but_keeps_history_pages(
    client: Client, acme: dict[str, Any]
) -> None:
    with time_machine.travel(timezone.now() - dt.timedelta(days=200)):
        make_incident(name="An old outage", status="resolved")
    keys = ["/history/", "/history/?page=2", "/history/?page=3"]
    before = served_by_views(client, keys)
    publish.snapshot_publish()
    client.cookies["sessionid"] = "whoever"

    plain = client.get("/", {"utm_source": "mail"})
    page_two = client.get("/history/", {"page": "2"})
    malformed = client.get("/history/", {"page": "x"})
    beyond = client.get("/history/", {"page": "40"})

    assert plain["ETag"] == client.get("/")["ETag"]
    assert page_two.content == before["/history/?page=2"].content
    assert page_two["ETag"] != client.get("/history/")["ETag"]
    assert malformed.content == before["/history/"].content
    assert beyond.status_code == 404  # not published: the view answers


def test_it_opens_the_api_to_every_origin(client: Client, acme: dict[str, Any]) -> None:
    publish.snapshot_publish()

    response = client.get("/api/v2/components.json")

    assert response[serve.VERSION_HEADER]
    assert response["Access-Control-Allow-Origin"] == "*"
    assert response["Content-Type"] == "application/json"


def test_it_falls_through_to_the_views_before_any_publish(
    client: Client, acme: dict[str, Any]
) -> None:
    response = client.get("/")

    assert response.status_code == 200
    assert serve.VERSION_HEADER not in response
    assert "ETag" not in response


def test_it_leaves_the_staff_console_and_writes_alone(
    client: Client, acme: dict[str, Any]
) -> None:
    publish.snapshot_publish()

    console = client.get(reverse("account_login"))
    post = client.post("/")

    assert console.status_code == 200
    assert serve.VERSION_HEADER not in console
    assert "csrftoken" in console.cookies
    assert post.status_code == 405


# Serving gzip -------------------------------------------------------------------------

GZIP = {"HTTP_ACCEPT_ENCODING": "gzip, deflate, br"}


def test_it_serves_gzip_to_a_client_that_accepts_it(
    client: Client, acme: dict[str, Any]
) -> None:
    manifest = publish.snapshot_publish()
    assert manifest is not None
    gzipped = [key for key, entry in manifest.artifacts.items() if entry.gzipped]
    assert {"/", "/history/", "/embed.js", "/api/v2/summary.json"} <= set(gzipped)
    small = client.get("/api/v2/status.json", **GZIP)  # under a kilobyte
    assert "Content-Encoding" not in small and "Vary" not in small

    for key in gzipped:
        plain = client.get(key)
        encoded = client.get(key, **GZIP)

        assert encoded["Content-Encoding"] == "gzip", key
        assert gzip.decompress(encoded.content) == plain.content, key
        assert len(encoded.content) < len(plain.content), key
        assert int(encoded["Content-Length"]) == len(encoded.content), key
        assert encoded["Content-Type"] == plain["Content-Type"], key
        assert encoded["Vary"] == plain["Vary"] == "Accept-Encoding", key
        assert encoded["ETag"] == f'"{manifest.artifacts[key].etag}-gz"', key
        assert plain["ETag"] == f'"{manifest.artifacts[key].etag}"', key


@pytest.mark.parametrize(
    ("accept_encoding", "accepted"),
    [
        ("gzip", True),
        ("deflate, GZIP;q=0.5", True),
        ("br;q=1.0, gzip ; q=0.001", True),
        ("*", True),
        ("x-gzip", True),
        ("", False),
        ("identity", False),
        ("br, deflate", False),
        ("gzip;q=0", False),
        ("gzip;q=0.000", False),
        ("*;q=1, gzip;q=0", False),
        ("br, *;q=0", False),
        ("gzip;q=high", False),
    ],
)
def test_it_reads_whether_accept_encoding_allows_gzip(
    accept_encoding: str, accepted: bool
) -> None:
    assert serve.accepts_gzip(accept_encoding) is accepted


def test_it_serves_the_plain_body_when_gzip_is_refused(
    client: Client, acme: dict[str, Any]
) -> None:
    manifest = publish.snapshot_publish()
    assert manifest is not None
    plain = client.get("/")

    for value in ["identity", "gzip;q=0", "*;q=1, gzip;q=0", "br"]:
        response = client.get("/", HTTP_ACCEPT_ENCODING=value)

        assert "Content-Encoding" not in response, value
        assert response.content == plain.content, value
        assert response["Vary"] == "Accept-Encoding", value
        assert response["ETag"] == f'"{manifest.artifacts["/"].etag}"', value


def test_it_answers_304_to_each_encoding_its_own_etag(
    client: Client, acme: dict[str, Any]
) -> None:
    publish.snapshot_publish()
    plain = client.get("/api/v2/summary.json")
    encoded = client.get("/api/v2/summary.json", **GZIP)

    def get(etag: str, **extra: str) -> Any:
        return client.get("/api/v2/summary.json", HTTP_IF_NONE_MATCH=etag, **extra)

    encoded_again = get(encoded["ETag"], **GZIP)
    weak_again = get(f"W/{encoded['ETag']}", **GZIP)
    plain_again = get(plain["ETag"])
    encoded_tag_plain_client = get(encoded["ETag"])
    plain_tag_gzip_client = get(plain["ETag"], **GZIP)

    assert encoded["ETag"] != plain["ETag"]
    assert encoded_again.status_code == weak_again.status_code == 304
    assert encoded_again.content == b""
    assert encoded_again["ETag"] == encoded["ETag"]
    assert encoded_again["Vary"] == "Accept-Encoding"
    assert "Content-Encoding" not in encoded_again
    assert plain_again.status_code == 304
    assert encoded_tag_plain_client.status_code == 200
    assert encoded_tag_plain_client.content == plain.content
    assert plain_tag_gzip_client.status_code == 200
    assert plain_tag_gzip_client.content == encoded.content


def test_it_answers_head_with_the_headers_of_the_gzip_variant(
    client: Client, acme: dict[str, Any]
) -> None:
    publish.snapshot_publish()
    encoded = client.get("/", **GZIP)

    head = client.head("/", **GZIP)

    assert head.status_code == 200 and head.content == b""
    assert head["Content-Encoding"] == "gzip"
    assert head["Content-Length"] == str(len(encoded.content))
    assert head["ETag"] == encoded["ETag"]
    assert head["Vary"] == "Accept-Encoding"


def test_it_shows_the_stale_notice_to_a_client_that_accepts_gzip(
    client: Client, acme: dict[str, Any]
) -> None:
    threshold = django_settings.SNAPSHOT_STALE_AFTER_SECONDS
    with time_machine.travel(NOW, tick=False) as traveller:
        publish.snapshot_publish()
        fresh = client.get("/", **GZIP)
        traveller.shift(threshold + 3600)
        plain = client.get("/")
        stale = client.get("/", **GZIP)
        again = client.get("/", **GZIP)
        head = client.head("/", **GZIP)
        traveller.shift(2 * 3600)
        later = client.get("/", **GZIP)

    assert stale["Content-Encoding"] == "gzip"
    assert gzip.decompress(stale.content) == plain.content
    assert "This page may be out of date" in gzip.decompress(stale.content).decode()
    assert int(stale["Content-Length"]) == len(stale.content)
    assert again.content == stale.content
    assert head["Content-Length"] == stale["Content-Length"]
    assert len({fresh["ETag"], plain["ETag"], stale["ETag"], later["ETag"]}) == 4
    assert stale["ETag"].endswith('-gz"')
    assert "3\xa0hours ago" in gzip.decompress(later.content).decode()


def test_it_answers_warm_gzip_requests_without_a_query(
    client: Client, acme: dict[str, Any], django_assert_num_queries: Any
) -> None:
    manifest = publish.snapshot_publish()
    assert manifest is not None
    for key in paths(manifest):
        client.get(key, **GZIP)  # warm: bytes into this process's memory

    with django_assert_num_queries(0):
        for key in paths(manifest):
            response = client.get(key, **GZIP)
            assert response.status_code == 200, key
            if manifest.artifacts[key].gzipped:
                assert response["Content-Encoding"] == "gzip", key


def test_it_serves_a_manifest_written_before_gzip(
    client: Client, acme: dict[str, Any], snapshot_store: store.Store
) -> None:
    manifest = publish.snapshot_publish()
    assert manifest is not None
    expected = client.get("/").content
    raw = json.loads((snapshot_store.directory / store.MANIFEST).read_bytes())
    for entry in raw["artifacts"].values():
        del entry["gzipped"]
    raw["version"] += 1  # newer than the one in Redis
    (snapshot_store.directory / store.MANIFEST).write_text(json.dumps(raw))
    store.forget_readers()

    response = client.get("/", **GZIP)

    assert response.status_code == 200
    assert response[serve.VERSION_HEADER] == str(raw["version"])
    assert response.content == expected
    assert "Content-Encoding" not in response and "Vary" not in response


def test_it_reads_the_gzip_bodies_from_redis_when_the_disk_is_empty(
    client: Client,
    acme: dict[str, Any],
    snapshot_store: store.Store,
    settings: Any,
    django_assert_num_queries: Any,
) -> None:
    if not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL")
    publish.snapshot_publish()
    expected = client.get("/", **GZIP).content
    shutil.rmtree(snapshot_store.directory)
    store.forget_readers()

    with django_assert_num_queries(0):
        response = client.get("/", **GZIP)

    assert response["Content-Encoding"] == "gzip"
    assert response.content == expected


def test_it_removes_gzip_blobs_no_manifest_names_after_a_grace(
    acme: dict[str, Any], snapshot_store: store.Store
) -> None:
    blobs = snapshot_store.directory / store.BLOBS
    first = publish.snapshot_publish()
    assert first is not None
    old = first.artifacts["/api/v2/components.json"]
    assert old.gzipped and (blobs / old.gzip_blob).is_file()
    set_status(acme["api"], "major_outage")
    publish.snapshot_publish()
    set_status(acme["api"], "degraded_performance")
    long_ago = time.time() - store.BLOB_GRACE_SECONDS - 60
    for path in blobs.iterdir():
        os.utime(path, (long_ago, long_ago))

    last = publish.snapshot_publish()

    assert last is not None
    assert not (blobs / old.etag).exists()
    assert not (blobs / old.gzip_blob).exists()
    for entry in last.artifacts.values():
        for name in entry.blob_names():
            assert (blobs / name).is_file(), name


# Freshness ----------------------------------------------------------------------------


def test_it_shows_a_change_after_publish(client: Client, acme: dict[str, Any]) -> None:
    publish.snapshot_publish()
    set_status(acme["api"], "major_outage")
    stale = client.get("/api/v2/components.json").json()

    publish.snapshot_publish()
    fresh = client.get("/api/v2/components.json").json()

    def api_status(body: dict[str, Any]) -> str:
        [api] = [c for c in body["components"] if c["name"] == "Public API"]
        return str(api["status"])

    assert api_status(stale) == "operational"
    assert api_status(fresh) == "major_outage"
    assert "Major" in client.get("/").content.decode()


def test_it_asks_for_one_publish_for_a_burst_of_changes(
    acme: dict[str, Any],
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[dict[str, Any]] = []
    monkeypatch.setattr(
        publish, "enqueue", lambda name, **kw: asked.append({"task": name, **kw})
    )

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        for status in ["degraded_performance", "partial_outage"] * 10:
            set_status(acme["api"], status)

    ours = [
        c for c in callbacks if getattr(c, "func", None) is publish.snapshot_request
    ]
    assert len(ours) == 20
    assert len(asked) == 1
    assert asked[0]["task"] == tasks.snapshot_publish.name
    assert asked[0]["queue"] == "default"
    assert asked[0]["countdown"] == pytest.approx(0.3)
    assert asked[0]["kwargs"]["full"] is False


def test_it_renders_the_pages_of_changed_components_only(client: Client) -> None:
    """A thousand component pages must not hold up one status change; their uptime
    record is published by the rollup's own ask (records), a chunk at a time."""
    from uptime.models import ComponentDay

    now = timezone.now()
    with time_machine.travel(now - dt.timedelta(minutes=20), tick=False):
        make_page(name="Acme", url="https://status.acme.test")
        login = make_component(name="Login", showcase=True)
        api = make_component(name="Public API", showcase=True)
    with time_machine.travel(now - dt.timedelta(minutes=10), tick=False):
        publish.snapshot_publish()
    login_page = f"/components/{login.public_id}/"
    api_page = f"/components/{api.public_id}/"
    # The login's record changes, as a rollup writes it: the component row stays.
    ComponentDay.objects.create(
        component=login,
        day=timezone.localdate(),
        operational_seconds=3000,
        major_seconds=600,
    )

    def login_etag() -> str:
        manifest = store.current_reader().manifest()
        assert manifest is not None
        return manifest.artifacts[login_page].etag

    login_before = login_etag()

    set_status(api, "major_outage")
    publish.snapshot_publish()

    assert "Major outage" in client.get(api_page).content.decode()
    assert login_etag() == login_before  # kept, not rendered

    publish.snapshot_publish(records=True)

    assert "83.33 %" in client.get(login_page).content.decode()


def test_it_skips_a_render_that_a_later_one_covered(acme: dict[str, Any]) -> None:
    asked_at = time.time()
    first = publish.snapshot_publish(requested_at=asked_at)

    again = publish.snapshot_publish(requested_at=asked_at)

    assert first is not None
    assert again is None


def test_it_renders_everything_again_when_the_page_settings_change(
    acme: dict[str, Any],
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[dict[str, Any]] = []
    monkeypatch.setattr(
        publish, "enqueue", lambda name, **kw: asked.append({"task": name, **kw})
    )

    with django_capture_on_commit_callbacks(execute=True):
        services.page_update(name="Acme Corp")

    assert [a["kwargs"]["full"] for a in asked] == [True]


def test_it_renders_open_and_recent_incidents_and_keeps_the_rest(
    acme: dict[str, Any],
) -> None:
    with time_machine.travel(timezone.now() - dt.timedelta(days=30)):
        old = make_incident(name="Old and resolved", status="resolved")
    publish.snapshot_publish()
    known = publish.current_store().newest()
    assert known is not None

    rendered, kept = render.incidents_to_render(
        known=known.artifacts, full=False, now=timezone.now()
    )
    everything, none_kept = render.incidents_to_render(
        known=known.artifacts, full=True, now=timezone.now()
    )

    old_path = artifacts.path_of("public:incident", old.public_id)
    open_path = artifacts.path_of("public:incident", acme["incident"].public_id)
    assert rendered == [open_path] and kept == [old_path]
    assert sorted(everything) == sorted([old_path, open_path]) and none_kept == []


def test_it_says_how_old_a_stale_page_is(client: Client, acme: dict[str, Any]) -> None:
    threshold = django_settings.SNAPSHOT_STALE_AFTER_SECONDS
    with time_machine.travel(NOW, tick=False) as traveller:
        publish.snapshot_publish()
        fresh_json = client.get("/api/v2/status.json").content

        traveller.shift(threshold - 5)
        fresh = client.get("/")
        traveller.shift(3600)
        stale = client.get("/")
        stale_json = client.get("/api/v2/status.json")

    assert "out of date" not in fresh.content.decode()
    assert int(fresh[serve.AGE_HEADER]) == threshold - 5
    assert "This page may be out of date" in stale.content.decode()
    assert "1\xa0hour ago" in stale.content.decode()
    # Announced politely to screen readers; styled by the public stylesheet.
    assert '<div class="stale-notice" role="status">' in stale.content.decode()
    assert stale["ETag"] != fresh["ETag"]
    assert int(stale[serve.AGE_HEADER]) == threshold + 3595
    assert stale_json.content == fresh_json  # JSON keeps its shape
    assert int(stale_json[serve.AGE_HEADER]) == threshold + 3595


# Surviving outages --------------------------------------------------------------------


def test_it_reads_from_disk_when_redis_is_empty_or_down(
    client: Client,
    acme: dict[str, Any],
    snapshot_store: store.Store,
    settings: Any,
    django_assert_num_queries: Any,
) -> None:
    if not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL")
    publish.snapshot_publish()
    expected = client.get("/").content
    client_redis = redis.Redis.from_url(settings.REDIS_URL)
    for key in client_redis.scan_iter(f"{snapshot_store.prefix}*"):
        client_redis.delete(key)
    store.forget_readers()

    with django_assert_num_queries(0):
        empty_redis = client.get("/")
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    with django_assert_num_queries(0):
        no_redis = client.get("/")

    assert empty_redis.status_code == no_redis.status_code == 200
    assert empty_redis.content == no_redis.content == expected


def test_it_reads_from_redis_when_the_disk_is_empty(
    client: Client,
    acme: dict[str, Any],
    snapshot_store: store.Store,
    settings: Any,
    django_assert_num_queries: Any,
) -> None:
    if not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL")
    publish.snapshot_publish()
    expected = client.get("/api/v2/summary.json").content
    shutil.rmtree(snapshot_store.directory)
    store.forget_readers()

    with django_assert_num_queries(0):
        response = client.get("/api/v2/summary.json")

    assert response.status_code == 200
    assert response.content == expected


# The static export --------------------------------------------------------------------


@pytest.fixture
def exported(client: Client, acme: dict[str, Any], tmp_path: Path) -> Path:
    folder = tmp_path / "site"
    call_command("publish", "--all", "--to", str(folder), stdout=open("/dev/null", "w"))
    return folder


def test_it_exports_every_artifact_with_the_bytes_the_app_serves(
    client: Client, exported: Path
) -> None:
    manifest = store.current_store().newest()
    assert manifest is not None

    for key, entry in manifest.artifacts.items():
        if entry.file is None:
            continue
        assert (exported / entry.file).read_bytes() == client.get(key).content, key
    assert (exported / "index.html").is_file()
    assert (exported / "static/heliograph/public.css").is_file()


def test_it_exports_with_the_hashed_static_names_of_production(
    acme: dict[str, Any], tmp_path: Path, settings: Any
) -> None:
    """Production serves static files under hashed names from a manifest, which
    refuses any name it lacks: the export must not ask it for one."""
    settings.STATIC_ROOT = str(tmp_path / "static-root")
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {
            "BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"
        },
    }
    call_command("collectstatic", "--noinput", verbosity=0)
    folder = tmp_path / "site"

    call_command("publish", "--all", "--to", str(folder), stdout=open("/dev/null", "w"))

    [css] = (folder / "static/heliograph").glob("public.*.css")
    assert css.name != "public.css"  # the hashed copy the pages link to
    assert f'href="/static/heliograph/{css.name}"' in (
        (folder / "index.html").read_text()
    )


def test_it_exports_a_gzipped_copy_of_each_text_file(
    client: Client, exported: Path
) -> None:
    manifest = store.current_store().newest()
    assert manifest is not None

    for key, entry in manifest.artifacts.items():
        if entry.file is None:
            continue
        packed = exported / f"{entry.file}.gz"
        assert packed.is_file() == entry.gzipped, key
        if entry.gzipped:
            assert gzip.decompress(packed.read_bytes()) == client.get(key).content
            assert packed.read_bytes() == client.get(key, **GZIP).content, key
    css = exported / "static/heliograph/public.css"
    assert gzip.decompress(css.with_name("public.css.gz").read_bytes()) == (
        css.read_bytes()
    )
    assert (exported / "index.html.gz").is_file()


def test_it_exports_on_every_publish_when_asked(
    acme: dict[str, Any], settings: Any, tmp_path: Path
) -> None:
    settings.SNAPSHOT_EXPORT_DIR = str(tmp_path / "mirror")
    publish.snapshot_publish()
    set_status(acme["api"], "major_outage")

    publish.snapshot_publish()

    body = json.loads((tmp_path / "mirror/api/v2/components.json").read_text())
    statuses = {c["name"]: c["status"] for c in body["components"]}
    assert statuses["Public API"] == "major_outage"


@pytest.fixture
def static_server(exported: Path) -> Iterator[str]:
    """Python's own static file server on the exported folder."""
    handler = functools.partial(
        http.server.SimpleHTTPRequestHandler, directory=str(exported)
    )
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def fetch(url: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.headers["Content-Type"], response.read()


def test_it_serves_the_export_from_a_plain_static_server(
    client: Client, static_server: str, acme: dict[str, Any]
) -> None:
    status, content_type, page = fetch(static_server + "/")
    _, json_type, summary = fetch(static_server + "/api/v2/summary.json")
    _, _, history = fetch(static_server + "/history/")

    assert status == 200 and content_type == "text/html"
    assert page == client.get("/").content
    assert json_type == "application/json"
    assert json.loads(summary)["page"]["name"] == "Acme"
    links = set(re.findall(r'href="(/[^"]*)"', (page + history).decode()))
    links -= {artifacts.path_of("notifications:subscribe")}  # needs the app
    incident = artifacts.path_of("public:incident", acme["incident"].public_id)
    assert incident in links
    for link in sorted(links):
        assert fetch(static_server + link)[0] == 200, link


# The publisher on a real worker -------------------------------------------------------


@pytest.mark.timeout(120)
def test_it_shows_every_change_on_the_public_urls_and_coalesces_a_burst(
    transactional_db: None,
    start_worker: Any,
    snapshot_store: store.Store,
    settings: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Behaviour only: how soon a change is public, and how many renders a burst
    makes a second, are figures that bench/timings.py prints."""
    from statuspage.celery import app

    app.loader.import_default_modules()  # the tasks, as a worker finds them
    app.control.purge()
    worker = start_worker(
        "default",
        SNAPSHOT_DIR=str(snapshot_store.directory),
        SNAPSHOT_REDIS_PREFIX=snapshot_store.prefix,
    )
    make_page(name="Acme", url="https://status.acme.test")
    api = make_component(name="Public API")
    client = Client()

    def shown() -> str:
        body = client.get("/api/v2/components.json").json()
        return str(body["components"][0]["status"])

    def wait_for(status: str, limit: float = 30) -> None:
        """Until the public URL shows ``status``; ``limit`` only ends a wait for
        a change that never comes."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if store.current_reader().manifest() and shown() == status:
                return
            time.sleep(0.02)
        log = (tmp_path / "worker.log").read_text(errors="replace")
        pytest.fail(f"{status} not shown after {limit} s:\n{log[-3000:]}")

    wait_for("operational")  # the worker is up and has published
    for status in ["major_outage", "operational"] * 5:
        set_status(api, status)
        wait_for(status)
        time.sleep(0.4)

    versions_before = len(list(redis_keys(settings, snapshot_store, "manifest:*")))
    asked: list[dict[str, Any]] = []
    ask = publish.enqueue

    def counted(name: str, **options: Any) -> None:
        asked.append({"task": name, **options})
        ask(name, **options)

    monkeypatch.setattr(publish, "enqueue", counted)
    changes = ["degraded_performance", "partial_outage"] * 15
    # The burst lands while the worker is paused, so no render begins during it
    # however slowly the changes are made: what is counted is the coalescing.
    worker.send_signal(signal.SIGSTOP)
    try:
        for status in changes:
            set_status(api, status)
    finally:
        worker.send_signal(signal.SIGCONT)
    wait_for("partial_outage")
    time.sleep(1.5)  # any trailing render
    renders = len(list(redis_keys(settings, snapshot_store, "manifest:*")))
    # At most one publish waits at a time (for PENDING_SECONDS at most), so the burst
    # asks for one or a few, each ask makes at most one render, and the last change
    # is the one the public URLs show.
    assert 1 <= len(asked) <= len(changes) // 10, asked
    assert 1 <= renders - versions_before <= len(asked), (renders, asked)
    assert shown() == "partial_outage"


def redis_keys(settings: Any, snapshot_store: store.Store, pattern: str) -> Any:
    client = redis.Redis.from_url(settings.REDIS_URL)
    return client.scan_iter(f"{snapshot_store.prefix}{pattern}")


def test_it_still_publishes_for_a_message_sent_under_the_old_task_name(
    acme: dict[str, Any], snapshot_store: store.Store
) -> None:
    # A message an older beat queued before the upgrade (the visitor app was part
    # of incidents then) runs rather than being dropped as an unknown task.
    from statuspage.celery import app

    app.loader.import_default_modules()  # the tasks, as a worker finds them
    assert store.current_reader().manifest() is None
    app.tasks["incidents.tasks.snapshot_publish"].apply(kwargs={"full": True})

    manifest = store.current_reader().manifest()
    assert manifest is not None and "/api/v2/summary.json" in manifest.artifacts
