"""Where the snapshot lives: a folder on local disk, mirrored to Redis.

On disk, ``manifest.json`` names each artifact's bytes in ``blobs/<etag>`` (and, for
a text body over a kilobyte, their gzip encoding in ``blobs/<etag>.gz``); both are
written to a temporary file first and moved into place (``os.replace``), so a reader
sees the old snapshot or the new one, never half of one. In Redis the same manifest
is stored under its version (``<prefix>manifest:<version>``), the bytes under
``<prefix>blob:<etag>``, and ``<prefix>current`` names the newest version, set last.

Readers keep the newest manifest and the bytes they served in memory, check the
disk with one ``stat`` per request, and ask Redis at most once a second (and
whenever the disk holds nothing), so neither an outage of the database nor of
Redis stops them while the disk holds a snapshot.
"""

from __future__ import annotations

import contextlib
import fcntl
import gzip
import json
import logging
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import redis
from django.conf import settings

from kit.servers import redis_client

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
BLOBS = "blobs"
REDIS_TTL_SECONDS = 7 * 24 * 3600
# Blobs no manifest names are removed once this old, so a reader holding the previous
# manifest still finds its bytes.
BLOB_GRACE_SECONDS = 300
# Smaller bodies gain too little from gzip to be worth a second blob and a Vary.
GZIP_MIN_BYTES = 1024
GZIP_LEVEL = 6
_TEXT_LIKE = {"application/json", "application/javascript", "application/xml"}


@dataclass(frozen=True)
class Entry:
    """One artifact: its bytes are ``blobs/<etag>``, gzipped in ``blobs/<etag>.gz``
    when ``gzipped`` (manifests written before it existed say False)."""

    etag: str
    content_type: str
    modified_at: float
    file: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    gzipped: bool = False

    @property
    def gzip_blob(self) -> str:
        return f"{self.etag}.gz"

    def blob_names(self) -> list[str]:
        return [self.etag, self.gzip_blob] if self.gzipped else [self.etag]


def compressible(content_type: str) -> bool:
    """Text-like media types: HTML, CSS, JavaScript, JSON, feeds, SVG."""
    media = content_type.split(";", 1)[0].strip().lower()
    return (
        media.startswith("text/")
        or media in _TEXT_LIKE
        or media.endswith(("+xml", "+json"))
    )


def gzip_variant(body: bytes, content_type: str) -> bytes | None:
    """The body gzipped, if its type and size make that worth serving.

    ``mtime=0`` makes the bytes depend on the body alone, so a republished or
    re-exported body is the same file.
    """
    if len(body) <= GZIP_MIN_BYTES or not compressible(content_type):
        return None
    encoded = gzip_encode(body)
    return encoded if len(encoded) < len(body) else None


def gzip_encode(body: bytes) -> bytes:
    return gzip.compress(body, GZIP_LEVEL, mtime=0)


@dataclass(frozen=True)
class Manifest:
    version: int
    # When the newest artifact changed, and when the render that confirmed them all
    # began: the age a visitor is told is measured from ``rendered_at``.
    changed_at: float
    rendered_at: float
    full_rendered_at: float
    artifacts: dict[str, Entry]
    # When the automated evidence behind the statuses runs out without a new
    # result (None: no monitored component); past it the page says monitoring is
    # delayed when served, even if no render comes to say so.
    evidence_until: float | None = None
    # The pages other than the default one: the host names they answer on (each
    # to its page's slug), the slugs of those reached by their path alone, and
    # when each one's evidence runs out. Their artifacts are keyed
    # ``/p/<slug><path>``.
    page_hosts: dict[str, str] = field(default_factory=dict)
    path_pages: list[str] = field(default_factory=list)
    page_evidence: dict[str, float | None] = field(default_factory=dict)
    # The private pages' rules (audience.rules.Rules.to_json()), by slug ("" for
    # the default page): their artifacts go only to those the rules let in.
    page_access: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes | str) -> Manifest:
        raw: dict[str, Any] = json.loads(data)
        entries = {key: Entry(**value) for key, value in raw.pop("artifacts").items()}
        return cls(artifacts=entries, **raw)


def page_slug(key: str) -> str:
    """The slug of the page an artifact key is of ("" for the default page)."""
    if key.startswith("/p/"):
        return key[3:].split("/", 1)[0].split("?", 1)[0]
    return ""


def _atomic_write(path: Path, data: bytes) -> None:
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as temporary:
        temporary.write(data)
        temporary.flush()
        os.fsync(temporary.fileno())
    os.chmod(temporary.name, 0o644)
    os.replace(temporary.name, path)


@lru_cache(maxsize=8)
class Store:
    """The snapshot in one folder and under one Redis prefix."""

    def __init__(self, directory: Path, redis_url: str | None, prefix: str) -> None:
        self.directory = Path(directory)
        self.redis_url = redis_url
        self.prefix = prefix

    def connect(self, timeout: float = 2.0) -> redis.Redis | None:
        return redis_client(self.redis_url, timeout) if self.redis_url else None

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """One publisher at a time on this host."""
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.directory / ".lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # Writing ----------------------------------------------------------------------

    def write(
        self, manifest: Manifest, blobs: dict[str, bytes], previous: Manifest | None
    ) -> None:
        """Blobs first, then the manifest that names them; disk, then Redis."""
        self._write_disk(manifest, blobs, previous)
        try:
            self._write_redis(manifest, blobs)
        except redis.RedisError as error:
            log.warning(
                "Snapshot %s not mirrored to Redis: %s", manifest.version, error
            )

    def _write_disk(
        self, manifest: Manifest, blobs: dict[str, bytes], previous: Manifest | None
    ) -> None:
        folder = self.directory / BLOBS
        folder.mkdir(parents=True, exist_ok=True)
        for etag, body in blobs.items():
            if not (folder / etag).exists():
                _atomic_write(folder / etag, body)
        _atomic_write(self.directory / MANIFEST, manifest.to_json())
        named = {
            name
            for m in (manifest, previous)
            if m
            for e in m.artifacts.values()
            for name in e.blob_names()
        }
        cutoff = time.time() - BLOB_GRACE_SECONDS
        for path in folder.iterdir():
            if path.name not in named and path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)

    def _write_redis(self, manifest: Manifest, blobs: dict[str, bytes]) -> None:
        client = self.connect()
        if client is None:
            return
        pipe = client.pipeline(transaction=False)
        for entry in manifest.artifacts.values():
            for name in entry.blob_names():
                key = f"{self.prefix}blob:{name}"
                if name in blobs:
                    pipe.set(key, blobs[name], ex=REDIS_TTL_SECONDS)
                else:
                    pipe.expire(key, REDIS_TTL_SECONDS)
        pipe.set(
            f"{self.prefix}manifest:{manifest.version}",
            manifest.to_json(),
            ex=REDIS_TTL_SECONDS,
        )
        pipe.execute()
        client.set(f"{self.prefix}current", manifest.version)

    # Reading ----------------------------------------------------------------------

    def disk_manifest(self) -> Manifest | None:
        try:
            return Manifest.from_json((self.directory / MANIFEST).read_bytes())
        except FileNotFoundError:
            return None

    def redis_manifest(self, client: redis.Redis) -> Manifest | None:
        version = client.get(f"{self.prefix}current")
        if version is None:
            return None
        data = client.get(f"{self.prefix}manifest:{int(version)}")
        return Manifest.from_json(data) if data is not None else None

    def newest(self) -> Manifest | None:
        """The newest manifest on disk or in Redis, for a publisher to build on."""
        found = [self.disk_manifest()]
        client = self.connect()
        if client is not None:
            try:
                found.append(self.redis_manifest(client))
            except redis.RedisError as error:
                log.warning("Snapshot: Redis unreachable (%s)", error)
        manifests = [m for m in found if m is not None]
        return max(manifests, key=lambda m: m.version) if manifests else None

    def blob(self, name: str, client: redis.Redis | None) -> bytes | None:
        """A blob by name: an ETag, or ``<etag>.gz`` for its gzip encoding."""
        try:
            return (self.directory / BLOBS / name).read_bytes()
        except FileNotFoundError:
            pass
        if client is None:
            return None
        try:
            value = client.get(f"{self.prefix}blob:{name}")
        except redis.RedisError:
            return None
        if value is None:
            return None
        return value if isinstance(value, bytes) else value.encode()


def current_store() -> Store:
    return Store(
        settings.SNAPSHOT_DIR, settings.REDIS_URL, settings.SNAPSHOT_REDIS_PREFIX
    )


class Reader:
    """The newest snapshot this process can reach: memory, then disk, then Redis.

    The disk is checked with one ``stat`` per call and re-read only when the file
    changed; Redis is asked at most once per ``SNAPSHOT_REDIS_POLL_SECONDS``, with a
    short timeout, so a host whose disk is empty or behind still sees new versions
    and a Redis outage costs a request no more than that timeout once a second.
    """

    def __init__(self, store: Store, poll_seconds: float) -> None:
        self.store = store
        self.poll_seconds = poll_seconds
        self._signature: tuple[int, int, int] | None = None
        self._disk: Manifest | None = None
        self._redis: Manifest | None = None
        self._redis_checked_at = -float("inf")
        self._redis_client: redis.Redis | None = None
        self._current: Manifest | None = None
        self._bytes: dict[str, bytes] = {}

    def manifest(self) -> Manifest | None:
        found = [m for m in (self._from_disk(), self._from_redis()) if m is not None]
        newest = max(found, key=lambda m: m.version) if found else None
        if newest is not self._current:
            self._current = newest
            artifacts = newest.artifacts.values() if newest else ()
            named = {name for e in artifacts for name in e.blob_names()}
            self._bytes = {k: v for k, v in self._bytes.items() if k in named}
        return newest

    def body(self, entry: Entry) -> bytes | None:
        return self._blob(entry.etag)

    def gzip_body(self, entry: Entry) -> bytes | None:
        """The body gzipped; None when the entry has no such blob or it is lost."""
        return self._blob(entry.gzip_blob) if entry.gzipped else None

    def _blob(self, name: str) -> bytes | None:
        body = self._bytes.get(name)
        if body is None:
            body = self.store.blob(name, self._client())
            if body is not None:
                self._bytes[name] = body
        return body

    def _from_disk(self) -> Manifest | None:
        try:
            stat = os.stat(self.store.directory / MANIFEST)
        except OSError:
            self._signature, self._disk = None, None
            return None
        signature = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if signature != self._signature:
            try:
                self._disk = self.store.disk_manifest()
                self._signature = signature
            except (OSError, ValueError) as error:
                log.warning("Snapshot manifest unreadable: %s", error)
        return self._disk

    def _client(self) -> redis.Redis | None:
        """This reader's Redis client, made once (a client per request cost more
        than the rest of a warm answer)."""
        if self._redis_client is None:
            self._redis_client = self.store.connect(READ_TIMEOUT_SECONDS)
        return self._redis_client

    def _from_redis(self) -> Manifest | None:
        now = time.monotonic()
        if now - self._redis_checked_at < self.poll_seconds:
            return self._redis
        client = self._client()
        if client is None:
            return self._redis
        self._redis_checked_at = now
        try:
            version = client.get(f"{self.store.prefix}current")
            if version is None:
                self._redis = None
            elif self._redis is None or self._redis.version != int(version):
                self._redis = self.store.redis_manifest(client)
        except (redis.RedisError, ValueError) as error:
            log.debug("Snapshot: Redis unreachable (%s)", error)
        return self._redis


READ_TIMEOUT_SECONDS = 0.25


@lru_cache(maxsize=4)
def _reader(directory: str, redis_url: str | None, prefix: str, poll: float) -> Reader:
    return Reader(Store(Path(directory), redis_url, prefix), poll)


def current_reader() -> Reader:
    """This process's reader for the configured store (one per configuration)."""
    return _reader(
        str(settings.SNAPSHOT_DIR),
        settings.REDIS_URL,
        settings.SNAPSHOT_REDIS_PREFIX,
        settings.SNAPSHOT_REDIS_POLL_SECONDS,
    )


def forget_readers() -> None:
    """Drop every reader's memory (tests; a process that lost its disk)."""
    _reader.cache_clear()
