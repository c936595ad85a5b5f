"""Write the snapshot into a folder that any static web server can serve as it is.

Each artifact goes to its ``Entry.file`` (``index.html``, ``history/index.html``,
``incidents/<id>/index.html``, ``feed.atom``, ``api/v2/summary.json``...) with the
very bytes the app serves, next to the static files the pages link to. Serve the
folder at the root of its host: the pages link to ``/history/``, ``/static/...``.

Next to each text file over a kilobyte goes ``<file>.gz``, the same bytes gzipped
(those the app serves to a client that accepts gzip), for nginx's
``gzip_static on;``: a ``.gz`` is always rewritten with its file, never left behind.
"""

from __future__ import annotations

import json
import mimetypes
import re
import shutil
from pathlib import Path

import redis
from django.conf import settings
from django.contrib.staticfiles import finders
from django.templatetags.static import PrefixNode

from .store import Entry, Manifest, Store, _atomic_write, current_store, gzip_variant

# The list of files the last export wrote, so the next one removes those now gone.
INDEX = ".heliograph-export.json"


def _static_source(name: str) -> Path | None:
    """A static file by its served name (hashed in production, after collectstatic)."""
    if settings.STATIC_ROOT and (Path(settings.STATIC_ROOT) / name).is_file():
        return Path(settings.STATIC_ROOT) / name
    found = finders.find(name)
    return Path(found) if isinstance(found, str) else None


def _static_prefix() -> str:
    """STATIC_URL as pages link it. Not ``static("")``: the manifest storage used in
    production refuses a name it has no entry for, and the pages already hold the
    hashed names."""
    return str(PrefixNode.handle_simple("STATIC_URL"))


def _static_names(bodies: list[bytes]) -> set[str]:
    prefix = _static_prefix()
    pattern = re.compile(
        rb'(?:href|src)="' + re.escape(prefix.encode()) + rb'([^"?#]+)'
    )
    return {m.decode() for body in bodies for m in pattern.findall(body)}


def _write_if_changed(path: Path, data: bytes) -> None:
    if path.is_file() and path.read_bytes() == data:
        return  # same bytes: keep the file's date, for rsync and CDN uploads
    path.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write(path, data)


def snapshot_export(*, to: Path, store: Store | None = None) -> list[str]:
    """Export the newest snapshot into ``to``; returns the files written."""
    store = store or current_store()
    manifest = store.newest()
    if manifest is None:
        raise LookupError("Nothing is published yet: run `manage.py publish` first.")
    to.mkdir(parents=True, exist_ok=True)
    written = _export_artifacts(manifest, store, to)
    html = [(to / name).read_bytes() for name in written if name.endswith(".html")]
    for name in sorted(_static_names(html)):
        source = _static_source(name)
        if source is not None:
            target = to / (_static_prefix() + name).lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            written.append(str(target.relative_to(to)))
            content_type = mimetypes.guess_type(target.name)[0] or ""
            gzipped = gzip_variant(source.read_bytes(), content_type)
            written += _write_gzip(to, written[-1], gzipped)
    _remove_stale(to, written)
    return written


def _export_artifacts(manifest: Manifest, store: Store, to: Path) -> list[str]:
    client = store.connect()
    written = []
    for entry in manifest.artifacts.values():
        if entry.file is None:
            continue
        body = store.blob(entry.etag, client)
        if body is None:
            raise LookupError(f"Snapshot {manifest.version} lacks {entry.file}")
        _write_if_changed(to / entry.file, body)
        written.append(entry.file)
        written += _write_gzip(to, entry.file, _gzip_body(entry, body, store, client))
    return written


def _gzip_body(
    entry: Entry, body: bytes, store: Store, client: redis.Redis | None
) -> bytes | None:
    """The published gzip blob; compressed here for a manifest written without."""
    stored = store.blob(entry.gzip_blob, client) if entry.gzipped else None
    return stored or gzip_variant(body, entry.content_type)


def _write_gzip(to: Path, name: str, gzipped: bytes | None) -> list[str]:
    if gzipped is None:
        return []
    _write_if_changed(to / f"{name}.gz", gzipped)
    return [f"{name}.gz"]


def _remove_stale(to: Path, written: list[str]) -> None:
    index = to / INDEX
    before = set(json.loads(index.read_text())) if index.is_file() else set()
    for name in before - set(written):
        (to / name).unlink(missing_ok=True)
    _atomic_write(index, json.dumps(sorted(written)).encode())
