"""Write the snapshot into a folder that any static web server can serve as it is.

Each artifact goes to its ``Entry.file`` (``index.html``, ``history/index.html``,
``incidents/<id>/index.html``, ``feed.atom``, ``api/v2/summary.json``...) with the
very bytes the app serves, next to the public static files (those under
``PUBLIC_STATIC_PREFIXES``). Serve the folder at the root of its host: the pages
link to ``/history/``, ``/static/...``.

The static files copied are the ones the project's own collection knows (the
staticfiles manifest under the manifest storage, else what the finders list),
never names read from the pages: an incident update's Markdown may link
``/static/../secret_key``, and the export must not copy that into a public folder.
Every source is proven inside STATIC_ROOT (or its finder's folder) and every
target inside the export folder.

Next to each text file over a kilobyte goes ``<file>.gz``, the same bytes gzipped
(those the app serves to a client that accepts gzip), for nginx's
``gzip_static on;``: a ``.gz`` is always rewritten with its file, never left behind.
"""

from __future__ import annotations

import json
import logging
import mimetypes
import re
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import redis
from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import ManifestFilesMixin, staticfiles_storage
from django.templatetags.static import PrefixNode

from visitor.snapshot.store import (
    Entry,
    Manifest,
    Store,
    _atomic_write,
    current_store,
    gzip_variant,
    page_slug,
)

log = logging.getLogger(__name__)

# The list of files the last export wrote, so the next one removes those now gone.
INDEX = ".heliograph-export.json"
# The static files public pages use; the admin's and the API browser's stay out.
PUBLIC_STATIC_PREFIXES = ("heliograph/",)
# What collectstatic ignores, so the export holds what a collection would.
IGNORE_PATTERNS = ["CVS", ".*", "*~"]


class UnsafeExportPath(ValueError):
    """A path that would lead outside the folder it must stay in."""


def _inside(root: Path, name: str) -> Path:
    """``root / name``, resolved, if it stays inside ``root``; else raise.

    Resolving follows ``..`` and symbolic links, so neither can lead out.
    """
    base = root.resolve()
    path = (base / name).resolve()
    if path == base or not path.is_relative_to(base):
        raise UnsafeExportPath(f"{name!r} leads outside {root}")
    return path


def _static_dir() -> str:
    """The folder of the export the static files go to: STATIC_URL's path as the
    pages link it (``/static/`` -> ``static``). Not ``static("")``: the manifest
    storage refuses a name it has no entry for."""
    return urlsplit(str(PrefixNode.handle_simple("STATIC_URL"))).path.strip("/")


def _is_public(name: str) -> bool:
    return name.startswith(PUBLIC_STATIC_PREFIXES)


def public_static_files() -> dict[str, Path]:
    """Served static name -> its file, for every public static file the
    collection knows, each source proven inside STATIC_ROOT or its finder's
    folder (a name that leads out is logged and left out)."""
    if isinstance(staticfiles_storage, ManifestFilesMixin):
        candidates = _manifest_names(staticfiles_storage)
    else:
        candidates = _finder_names()
    files: dict[str, Path] = {}
    for name, root, relative in candidates:
        try:
            source = _inside(root, relative)
        except UnsafeExportPath as unsafe:
            log.warning("Static file not exported: %s", unsafe)
            continue
        if name not in files and source.is_file():
            files[name] = source
    return files


def _manifest_names(storage: ManifestFilesMixin) -> Iterator[tuple[str, Path, str]]:
    """The manifest's public names, plain and hashed, and earlier hashed copies of
    them that collectstatic left in STATIC_ROOT: a page rendered before the last
    deploy (kept in the snapshot until the next full render) still links those."""
    root = Path(settings.STATIC_ROOT)
    # Read now, not the storage's copy from start-up: collectstatic may have run since.
    # (Django returns (paths, hash); django-stubs still say a dict.)
    loaded: Any = storage.load_manifest()
    paths: dict[str, str] = loaded[0]
    for name, hashed in paths.items():
        if _is_public(name):
            for known in (name, hashed, *_earlier_copies(root, name)):
                yield known, root, known


def _earlier_copies(root: Path, name: str) -> list[str]:
    plain = PurePosixPath(name)
    hashed = re.compile(
        rf"{re.escape(plain.stem)}\.[0-9a-f]{{12}}{re.escape(plain.suffix)}"
    )
    try:
        folder = _inside(root, str(plain.parent)) if plain.parent.name else root
    except UnsafeExportPath:
        return []
    if not folder.is_dir():
        return []
    return [
        str(plain.with_name(child.name))
        for child in folder.iterdir()
        if hashed.fullmatch(child.name)
    ]


def _finder_names() -> Iterator[tuple[str, Path, str]]:
    """What the finders list, in their order (the first one's file wins, as in
    ``finders.find``), each to be proven inside that finder's own folder."""
    for finder in finders.get_finders():
        for path, storage in finder.list(IGNORE_PATTERNS):
            prefix = getattr(storage, "prefix", None)
            name = f"{prefix}/{path}" if prefix else path
            if _is_public(name):
                yield name, Path(storage.location), path


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
    written += _export_static(to)
    _remove_stale(to, written)
    return written


def _export_artifacts(manifest: Manifest, store: Store, to: Path) -> list[str]:
    client = store.connect()
    written = []
    for key, entry in manifest.artifacts.items():
        if entry.file is None or page_slug(key) in manifest.page_access:
            continue  # a private page's artifacts never go to a public folder
        body = store.blob(entry.etag, client)
        if body is None:
            raise LookupError(f"Snapshot {manifest.version} lacks {entry.file}")
        _write_if_changed(_inside(to, entry.file), body)
        written.append(entry.file)
        written += _write_gzip(to, entry.file, _gzip_body(entry, body, store, client))
    return written


def _export_static(to: Path) -> list[str]:
    folder = _static_dir()
    written = []
    for name, source in sorted(public_static_files().items()):
        relative = f"{folder}/{name}" if folder else name
        try:
            target = _inside(to, relative)
        except UnsafeExportPath as unsafe:
            log.warning("Static file not exported: %s", unsafe)
            continue
        body = source.read_bytes()
        _write_if_changed(target, body)
        written.append(relative)
        content_type = mimetypes.guess_type(target.name)[0] or ""
        written += _write_gzip(to, relative, gzip_variant(body, content_type))
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
    _write_if_changed(_inside(to, f"{name}.gz"), gzipped)
    return [f"{name}.gz"]


def _remove_stale(to: Path, written: list[str]) -> None:
    """Delete the files the last export wrote and this one did not. The index is
    a file in a folder others may write, so a name in it that leads outside the
    folder (``../``, an absolute path, a symbolic link out) is refused."""
    index = to / INDEX
    for name in sorted(_indexed(index) - set(written)):
        try:
            path = _inside(to, name)
        except UnsafeExportPath as unsafe:
            log.warning("Stale export file not removed: %s", unsafe)
            continue
        if path.is_file():
            path.unlink()
    _atomic_write(index, json.dumps(sorted(written)).encode())


def _indexed(index: Path) -> set[str]:
    try:
        names = json.loads(index.read_text())
    except (OSError, ValueError):
        return set()  # no index yet, or not one of ours: nothing to remove
    return (
        {n for n in names if isinstance(n, str)} if isinstance(names, list) else set()
    )
