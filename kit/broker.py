"""The embedded broker: Celery's messages as rows of an SQLite file under var/.

kombu's SQLAlchemy transport (``sqla+sqlite:///var/broker.sqlite3``) stores a message
with one INSERT and takes one in a ``BEGIN IMMEDIATE`` transaction: a reader sees a
message whole or not at all, and two processes never take the same one. (kombu's
file-system transport read files that another process was still writing, and the
worker stopped on JSON it could not parse: kombu issue #1551.) What this module adds:

1. ``broker_prepare`` (bin/run calls it, through statuspage.celery, before any
   process starts): the tables, WAL
   (polls and publishers read while one writes), a trigger that deletes a message
   once taken (kombu keeps taken rows for ever, a row per task), and the queues, so
   the processes that start together never race to create the same one.
2. A fresh connection pool in every forked child (Celery's pool, beat): an SQLite
   connection must never be used on both sides of a fork().
3. A worker that finds nothing to take (its queues empty, or as many tasks running
   as it may hold) looks again after 0.1 s rather than kombu's 1 s: with one second
   the worker took fewer messages than beat sent (probes every second fell behind).
   kombu passes every transport option to SQLAlchemy's create_engine, which refuses
   ``polling_interval``, so the transport's own default is set instead.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing

from celery import Celery
from django.conf import settings
from kombu import Exchange, Queue
from kombu.transport import sqlalchemy as sqlalchemy_transport

# kombu marks a taken message invisible and never looks at it again; deleting it in
# the same transaction keeps the file the size of what is waiting.
TAKEN_TRIGGER = """
CREATE TRIGGER IF NOT EXISTS kombu_message_taken
AFTER UPDATE OF visible ON kombu_message WHEN NEW.visible = 0
BEGIN DELETE FROM kombu_message WHERE id = NEW.id; END
"""


POLLING_INTERVAL_SECONDS = 0.1
sqlalchemy_transport.Transport.polling_interval = POLLING_INTERVAL_SECONDS


def sqlite_broker_path(url: str) -> str | None:
    """The file of an ``sqla+sqlite:///...`` broker URL, or None for any other."""
    prefix = "sqla+sqlite:///"
    return url.removeprefix(prefix) if url.startswith(prefix) else None


def broker_queues() -> list[str]:
    routed = [route["queue"] for route in settings.CELERY_TASK_ROUTES.values()]
    regions = [f"probes.{region}" for region in settings.PROBE_REGIONS]
    return [settings.CELERY_TASK_DEFAULT_QUEUE, *routed, *regions]


def broker_prepare(app: Celery) -> None:
    """Create the embedded broker's tables, trigger and queues; a no-op elsewhere."""
    path = sqlite_broker_path(app.conf.broker_url)
    if path is None:
        return
    with closing(sqlite3.connect(path, timeout=30)) as db:
        db.execute("PRAGMA journal_mode = WAL")
    with app.connection_for_write() as connection:
        channel = connection.default_channel  # kombu creates its tables here
        for name in broker_queues():
            Queue(name, Exchange(name), routing_key=name)(channel).declare()
    with closing(sqlite3.connect(path, timeout=30)) as db, db:
        db.execute(TAKEN_TRIGGER)


def _fresh_pools_after_fork() -> None:
    for engine, _session in sqlalchemy_transport.Channel._engines.values():
        # close=False: the parent's connections are the parent's to close.
        engine.dispose(close=False)


os.register_at_fork(after_in_child=_fresh_pools_after_fork)
