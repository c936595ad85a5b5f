"""The static export copies the public static files it knows, never a name a page
links: an incident update's Markdown is written by any staff user or write token.

Laid out as a deployment is: STATIC_ROOT at ``var/static`` next to the SECRET_KEY
file and the SQLite database, the export folder at ``out/site``.
"""

from __future__ import annotations

import functools
import http.server
import json
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

import incidents
import visitor
from incidents.models import IncidentStatus
from incidents.services import incident_post_update
from tests.conftest import make_incident, make_page
from visitor.snapshot import store
from visitor.snapshot.export import INDEX, snapshot_export
from visitor.snapshot.publish import snapshot_publish

pytestmark = pytest.mark.django_db

APP_STATICS = [Path(app.__file__).parent / "static" for app in (incidents, visitor)]
HOSTILE_LINKS = [
    "/static/../secret_key",
    "/static/../db.sqlite3",
    "/static//etc/passwd",
    "/static/heliograph/../../secret_key",
    "/static/../../../../tmp/x",
    "/static/../../leak",  # from out/site/static: out/leak, outside the folder
    "/static/%2e%2e/secret_key",
    "/static/%2E%2E%2Fdb.sqlite3",
    "/static/..%2f..%2fleak",
    "/static/..\\secret_key",
    "/static/..\\..\\leak",
]


@pytest.fixture
def deployment(settings: Any, tmp_path: Path) -> Path:
    var = tmp_path / "var"
    settings.STATIC_ROOT = str(var / "static")
    (var / "static").mkdir(parents=True)
    (var / "secret_key").write_text("the-secret-key")
    (var / "db.sqlite3").write_bytes(b"SQLite format 3\x00 password hashes")
    (tmp_path / "leak").write_text("outside every static folder")
    return tmp_path


@pytest.fixture(params=["finders", "manifest"])
def storage(request: pytest.FixtureRequest, settings: Any, deployment: Path) -> str:
    """Both ways the export learns the static files: the finders (tests, DEBUG)
    and the manifest collectstatic writes (production, hashed names)."""
    if request.param == "manifest":
        settings.STORAGES = {
            **settings.STORAGES,
            "staticfiles": {
                "BACKEND": "django.contrib.staticfiles.storage."
                "ManifestStaticFilesStorage"
            },
        }
        call_command("collectstatic", "--noinput", verbosity=0)
    return str(request.param)


@pytest.fixture
def hostile_page() -> None:
    make_page(name="Acme")
    # Markdown reads "\\" as one backslash: each link is written so it renders as is.
    escaped = [link.replace("\\", "\\\\") for link in HOSTILE_LINKS]
    links = " ".join(f"[{n}]({link})" for n, link in enumerate(escaped))
    incident = make_incident(name="Login failures", body="Investigating.")
    incident_post_update(
        incident=incident, status=IncidentStatus.IDENTIFIED, body=f"See {links}"
    )


def files_under(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def known_static(storage: str, deployment: Path) -> set[str]:
    """What the export may hold under static/: the public files of the app, or of
    the collection (plain and hashed), each with or without its .gz."""
    if storage == "manifest":
        names = files_under(deployment / "var/static")
    else:
        names = set().union(*(files_under(folder) for folder in APP_STATICS))
    public = {f"static/{n}" for n in names if n.startswith("heliograph/")}
    return public | {f"{n}.gz" for n in public}


@pytest.fixture
def served(deployment: Path) -> Iterator[str]:
    """Python's own static file server on the export folder."""
    handler = functools.partial(
        http.server.SimpleHTTPRequestHandler, directory=str(deployment / "out/site")
    )
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def test_it_exports_only_the_known_static_files_whatever_the_pages_link(
    storage: str, deployment: Path, hostile_page: None
) -> None:
    site = deployment / "out/site"
    snapshot_publish(full=True)

    written = snapshot_export(to=site)

    manifest = store.current_store().newest()
    assert manifest is not None
    artifacts = {e.file for e in manifest.artifacts.values() if e.file}
    pages = artifacts | {f"{name}.gz" for name in artifacts} | {INDEX}
    static = files_under(site) - pages
    assert static <= known_static(storage, deployment)
    assert "static/heliograph/embed.js" in static
    assert set(written) == files_under(site) - {INDEX}
    assert not any(
        name.endswith(("secret_key", "db.sqlite3", "passwd", "leak", "x"))
        for name in files_under(site)
    )


def test_it_writes_nothing_outside_the_export_folder(
    storage: str, deployment: Path, hostile_page: None
) -> None:
    snapshot_publish(full=True)
    before = files_under(deployment)
    site = deployment / "out/site"

    snapshot_export(to=site)

    exported = {f"out/site/{name}" for name in files_under(site)}
    assert files_under(deployment) - exported == before
    assert not (deployment / "out/leak").exists()


def test_it_keeps_the_pages_linking_assets_that_work_in_the_export(
    storage: str, deployment: Path, hostile_page: None, served: str
) -> None:
    site = deployment / "out/site"
    call_command("publish", "--all", "--to", str(site), stdout=open("/dev/null", "w"))
    incident_page = next(site.glob("incidents/*/index.html")).read_text()
    home = (site / "index.html").read_text()

    stylesheets = set(re.findall(r'<link rel="stylesheet" href="([^"]+)"', home))
    stylesheets |= set(
        re.findall(r'<link rel="stylesheet" href="([^"]+)"', incident_page)
    )
    assert stylesheets and all(link.startswith("/static/") for link in stylesheets)
    for link in stylesheets:
        assert status_of(served + link) == 200, link
    for link in HOSTILE_LINKS:
        assert f'href="{link}"' in incident_page
        assert status_of(served + link) == 404, link


def test_it_removes_no_file_outside_the_folder_that_its_index_names(
    deployment: Path, hostile_page: None
) -> None:
    """The index lists what the last export wrote; whoever can write the folder
    can write it. Names that lead out of the folder are refused."""
    site = deployment / "out/site"
    snapshot_publish(full=True)
    snapshot_export(to=site)
    victims = [deployment / "var/secret_key", deployment / "leak"]
    (site / "escape").symlink_to(deployment / "var")
    (site / "stale.html").write_text("gone from the snapshot")
    names = [
        "../../var/secret_key",
        str(deployment / "leak"),
        "static/../../../leak",
        "escape/db.sqlite3",
        "stale.html",
    ]
    (site / INDEX).write_text(json.dumps(names))

    snapshot_export(to=site)

    assert all(victim.is_file() for victim in victims)
    assert (deployment / "var/db.sqlite3").is_file()
    assert not (site / "stale.html").exists()  # the control: inside, it goes
