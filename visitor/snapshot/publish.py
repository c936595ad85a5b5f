"""Publish the snapshot after each change, a fraction of a second later.

Every announced change asks for a publish once its transaction commits. The ask
enqueues the Celery task ``visitor.tasks.snapshot_publish`` (queue "default") only
when none is already waiting, after a short delay and at most about once a second,
so a burst of changes joins one render; the task skips a render that one begun
after the ask already did.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import time
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import redis
from django.conf import settings
from django.db import transaction

from audience.selectors import private_pages
from incidents.events import Change, Kind
from incidents.evidence import Evidence, components_evidence
from incidents.models import Page, PageHost
from kit.tasks import enqueue
from visitor.snapshot import artifacts
from visitor.snapshot.export import snapshot_export
from visitor.snapshot.render import Rendered, render_paths, render_site, targets
from visitor.snapshot.store import (
    Entry,
    Manifest,
    Store,
    current_reader,
    current_store,
    gzip_variant,
)

log = logging.getLogger(__name__)

# The page settings changed: every page shows them, so everything is rendered again.
PAGE_UPDATED = Kind.PAGE_UPDATED
HISTORY_CHANGED = Kind.HISTORY_CHANGED
# A waiting publish older than this is presumed lost (its task or worker died).
PENDING_SECONDS = 10
# A component changed this long before the previous render began is rendered again
# too: its transaction may have committed only after that render read it.
CHANGE_MARGIN_SECONDS = 60
# Component pages rendered per turn of the lock when all are, so that a change
# published meanwhile waits for one turn, not for all of them.
RECORDS_CHUNK = 50


def etag_of(body: bytes) -> str:
    return hashlib.blake2b(body, digest_size=16).hexdigest()


def _manifest(
    rendered: dict[str, Rendered],
    keep: list[str],
    previous: Manifest | None,
    *,
    started: float,
    full: bool,
    confirms_all: bool = True,
) -> tuple[Manifest, dict[str, bytes]]:
    """The new manifest: an artifact whose bytes did not change keeps its date.

    A render that ``confirms_all`` (the page-wide paths included) dates the
    snapshot's age; one that renders only some component pages does not.
    """
    old = previous.artifacts if previous else {}
    entries: dict[str, Entry] = {key: old[key] for key in keep if key in old}
    blobs: dict[str, bytes] = {}
    for key, page in rendered.items():
        etag = etag_of(page.body)
        unchanged = key in old and old[key].etag == etag
        modified_at = old[key].modified_at if unchanged else started
        file = artifacts.export_name(key)
        gzipped = gzip_variant(page.body, page.content_type)
        entries[key] = Entry(
            etag,
            page.content_type,
            modified_at,
            file,
            page.headers,
            gzipped=gzipped is not None,
        )
        blobs[etag] = page.body
        if gzipped is not None:
            blobs[entries[key].gzip_blob] = gzipped
    manifest = Manifest(
        version=max(previous.version + 1 if previous else 0, int(started * 1000)),
        changed_at=max(entry.modified_at for entry in entries.values()),
        rendered_at=(
            started if confirms_all or previous is None else previous.rendered_at
        ),
        full_rendered_at=(
            started if full or previous is None else previous.full_rendered_at
        ),
        artifacts=entries,
        **(
            _pages(started)
            if confirms_all or previous is None
            else {
                "evidence_until": previous.evidence_until,
                "page_hosts": previous.page_hosts,
                "path_pages": previous.path_pages,
                "page_evidence": previous.page_evidence,
                "page_access": previous.page_access,
            }
        ),
    )
    return manifest, blobs


def _pages(started: float) -> dict[str, Any]:
    """How the snapshot's readers find each page, and when its evidence runs out."""
    now = dt.datetime.fromtimestamp(started, dt.UTC)
    evidence = components_evidence(now)
    hosts = PageHost.objects.exclude(page__is_default=True).select_related("page")
    others = Page.objects.filter(is_default=False)
    private = private_pages()
    pages = list(Page.objects.filter(pk__in=private))
    return {
        "page_access": {
            ("" if page.is_default else page.slug): private[page.pk].to_json()
            for page in pages
        },
        "evidence_until": _evidence_until(Page.get(), evidence, started),
        "page_hosts": {host.name: host.page.slug for host in hosts},
        "path_pages": sorted(others.filter(hosts=None).values_list("slug", flat=True)),
        "page_evidence": {
            page.slug: _evidence_until(page, evidence, started) for page in others
        },
    }


def _evidence_until(
    page: Page, evidence: dict[int, Evidence], started: float
) -> float | None:
    """When the page's automated evidence runs out (Unix time), so the page can
    say so when served even if no render follows: a delayed one has run out."""
    shown = set(page.components.values_list("pk", flat=True))
    found = [e for pk, e in evidence.items() if pk in shown]
    if any(e.delayed_since is not None for e in found):
        return started
    return min((e.until.timestamp() for e in found if e.until), default=None)


def _covered(previous: Manifest | None, requested_at: float | None, full: bool) -> bool:
    """Did a render that began after this request already run?"""
    if previous is None or requested_at is None:
        return False
    began = previous.full_rendered_at if full else previous.rendered_at
    return began >= requested_at


def snapshot_publish(
    *,
    requested_at: float | None = None,
    full: bool = False,
    records: bool = False,
    store: Store | None = None,
) -> Manifest | None:
    """Render the public artifacts and store them; None when already up to date.

    1. Take the publish lock, and skip when a later render already covered the ask.
    2. Render: the page-wide paths, the first history pages, the incidents that
       changed (every incident when ``full``, when none was published yet, and
       hourly) and the pages of the components that changed.
    3. Hash each body (its ETag), gzip the text ones over a kilobyte, and write
       blobs then manifest, to disk and Redis.
    4. With ``records`` (the uptime record of every component changed) or ``full``,
       render every component's pages again, a few at a time (``records_publish``).
    5. Export to ``SNAPSHOT_EXPORT_DIR`` when set.
    """
    store = store or current_store()
    with store.lock():
        previous = store.newest()
        if _covered(previous, requested_at, full) and not records:
            return None
        started = time.time()
        full = (
            full
            or previous is None
            or (
                started - previous.full_rendered_at
                > settings.SNAPSHOT_FULL_RENDER_SECONDS
            )
        )
        rendered, keep = render_site(
            known=previous.artifacts if previous else (),
            full=full,
            now=dt.datetime.fromtimestamp(started, dt.UTC),
            components_since=_components_since(previous),
        )
        manifest, blobs = _manifest(
            rendered, keep, previous, started=started, full=full
        )
        store.write(manifest, blobs, previous)
    if (records or full) and previous is not None:
        manifest = records_publish(store) or manifest
    if settings.SNAPSHOT_EXPORT_DIR:
        with store.lock():
            snapshot_export(to=Path(settings.SNAPSHOT_EXPORT_DIR), store=store)
    log.info(
        "Published snapshot %s: %s rendered, %s kept, in %.0f ms",
        manifest.version,
        len(rendered),
        len(keep),
        (time.time() - started) * 1000,
    )
    return manifest


def _components_since(previous: Manifest | None) -> dt.datetime | None:
    """Components changed since then get their pages rendered again; None: all."""
    if previous is None:
        return None
    since = previous.rendered_at - CHANGE_MARGIN_SECONDS
    return dt.datetime.fromtimestamp(since, dt.UTC)


def records_publish(store: Store) -> Manifest | None:
    """Render every page's component pages again (their uptime bars and charts), a
    chunk at a time under the lock, each chunk a new version of the snapshot."""
    work = [
        (target, path)
        for target in targets()
        for entry in artifacts.component_paths(target.page).values()
        for path in entry.paths
    ]
    manifest = None
    for start in range(0, len(work), RECORDS_CHUNK):
        chunk = work[start : start + RECORDS_CHUNK]
        with store.lock():
            previous = store.newest()
            if previous is None:
                return None
            rendered: dict[str, Rendered] = {}
            for target, path in chunk:
                rendered |= render_paths(target, [path])
            keep = [key for key in previous.artifacts if key not in rendered]
            manifest, blobs = _manifest(
                rendered,
                keep,
                previous,
                started=time.time(),
                full=False,
                confirms_all=False,
            )
            store.write(manifest, blobs, previous)
    return manifest


# Asking for a publish ----------------------------------------------------------------


def _pending_claim(store: Store) -> bool:
    """True if no publish was waiting and this caller now owns the wait."""
    client = store.connect()
    if client is not None:
        try:
            key = f"{store.prefix}pending"
            return bool(client.set(key, "1", nx=True, ex=PENDING_SECONDS))
        except redis.RedisError:
            return True  # enqueue anyway: the task skips what is already covered
    store.directory.mkdir(parents=True, exist_ok=True)
    path = store.directory / ".pending"
    try:
        if time.time() - path.stat().st_mtime > PENDING_SECONDS:
            path.unlink(missing_ok=True)
    except FileNotFoundError:
        pass
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    return True


def pending_clear(store: Store | None = None) -> None:
    """The waiting publish starts: a change from now on asks for another."""
    store = store or current_store()
    client = store.connect()
    if client is not None:
        try:
            client.delete(f"{store.prefix}pending")
        except redis.RedisError:
            pass
    (store.directory / ".pending").unlink(missing_ok=True)


def _delay() -> float:
    """Wait a moment for more changes, and at least the minimum interval between
    the starts of two renders, so a burst of changes makes about one a second."""
    debounce = settings.SNAPSHOT_DEBOUNCE_MS / 1000
    manifest = current_reader().manifest()
    if manifest is None:
        return debounce
    interval = settings.SNAPSHOT_MIN_INTERVAL_MS / 1000
    next_start = manifest.rendered_at + interval - time.time()
    return min(max(debounce, next_start), interval)


def snapshot_request(*, full: bool = False, records: bool = False) -> None:
    """Ask for a publish soon; at most one waits at a time (a full one, or one for
    the uptime records, always asks)."""
    if not _pending_claim(current_store()) and not (full or records):
        return
    enqueue(
        "visitor.tasks.snapshot_publish",
        kwargs={"requested_at": time.time(), "full": full, "records": records},
        countdown=_delay(),
        queue="default",
    )


def on_change(change: Change) -> None:
    """The listener: ask for a publish once the change is committed (of every
    component's uptime record too, when the rollup rebuilt it). A change of who may
    view a page reaches the snapshot's readers before the commit returns."""
    if change.kind == HISTORY_CHANGED:
        ask = partial(snapshot_request, records=True)
    elif change.kind == Kind.ACCESS_CHANGED:
        transaction.on_commit(access_publish, robust=True)
        ask = partial(snapshot_request, full=True)
    else:
        ask = partial(snapshot_request, full=change.kind == PAGE_UPDATED)
    transaction.on_commit(ask, robust=True)


def access_publish(store: Store | None = None) -> Manifest | None:
    """A new version of the snapshot with the pages' access as it is now and the
    same artifacts: a page made private, or whose rules changed, is refused at once
    to whoever its rules no longer let in (its artifacts are rendered again later,
    by the full publish asked next). The export drops a page made private."""
    store = store or current_store()
    with store.lock():
        previous = store.newest()
        if previous is None:
            return None
        started = time.time()
        manifest = replace(
            previous,
            version=max(previous.version + 1, int(started * 1000)),
            **_pages(started),
        )
        store.write(manifest, {}, previous)
    if settings.SNAPSHOT_EXPORT_DIR:
        with store.lock():
            snapshot_export(to=Path(settings.SNAPSHOT_EXPORT_DIR), store=store)
    return manifest
