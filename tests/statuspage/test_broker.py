"""The embedded broker (kit/broker.py): kombu's SQLAlchemy transport on an
SQLite file, as the embedded default configures it, shared by several processes."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

from tests.conftest import ROOT

PUBLISHERS, CONSUMERS, MESSAGES = 4, 3, 150
QUEUE = "broker-test"

# One process of the test: the embedded settings' broker URL and options (whatever
# the defaults are), through Celery's own connection.
CHILD = """
import json, os, sys, time
from queue import Empty
import django
django.setup()
from kombu import Exchange, Queue
from statuspage.celery import app

role, name = sys.argv[1], sys.argv[2]
queue = Queue(name, Exchange(name), routing_key=name)
with app.connection_for_write() as connection:
    if role == "declare":
        queue(connection.default_channel).declare()
        print(json.dumps({"url": app.conf.broker_url}))
    elif role == "publish":
        producer = connection.Producer()
        for number in range(int(sys.argv[3])):
            producer.publish(
                {"id": f"{os.getpid()}-{number}"}, exchange=queue.exchange,
                routing_key=name, declare=[queue], serializer="json",
            )
    else:
        taken, idle_since = [], None
        simple = connection.SimpleQueue(queue)
        while True:
            try:
                message = simple.get(timeout=0.5)
            except Empty:
                # Publishers done (the test says so) and nothing left: stop.
                if os.path.exists(sys.argv[3]):
                    idle_since = idle_since or time.monotonic()
                    if time.monotonic() - idle_since > 3:
                        break
                continue
            idle_since = None
            taken.append(message.payload["id"])
            message.ack()
        print(json.dumps(taken))
"""


def _env(var_dir: Path) -> dict[str, str]:
    # The embedded default: none of the test run's server variables.
    dropped = {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"}
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    return {
        **env,
        "HELIOGRAPH_VAR_DIR": str(var_dir),
        "DJANGO_SETTINGS_MODULE": "statuspage.settings",
    }


def _child(var_dir: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, *args],
        cwd=ROOT,
        env=_env(var_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(process: subprocess.Popen[str]) -> str:
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    return out


def test_it_delivers_each_message_exactly_once_across_processes(
    tmp_path: Path,
) -> None:
    declared = json.loads(_finish(_child(tmp_path, "declare", QUEUE)))
    assert declared["url"] == f"sqla+sqlite:///{tmp_path / 'broker.sqlite3'}"
    done = tmp_path / "publishers-done"
    consumers = [_child(tmp_path, "consume", QUEUE, str(done)) for _ in range(3)]
    publishers = [
        _child(tmp_path, "publish", QUEUE, str(MESSAGES)) for _ in range(PUBLISHERS)
    ]
    for publisher in publishers:
        _finish(publisher)
    done.touch()
    taken = [json.loads(_finish(consumer)) for consumer in consumers]

    everything = [message for one in taken for message in one]
    assert len(everything) == PUBLISHERS * MESSAGES  # none lost, none twice
    assert len(set(everything)) == PUBLISHERS * MESSAGES
    senders = {message.split("-")[0] for message in everything}
    assert len(senders) == PUBLISHERS
    assert sum(1 for one in taken if one) > 1  # the consumers really shared the work


PREPARE = "from statuspage.celery import broker_prepare; broker_prepare()"


def test_it_keeps_only_the_messages_still_waiting(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-c",
            "from statuspage.celery import broker_prepare; broker_prepare()",
        ],
        cwd=ROOT,
        env=_env(tmp_path),
        check=True,
        timeout=60,
    )
    _finish(_child(tmp_path, "publish", "default", "20"))
    broker = tmp_path / "broker.sqlite3"
    with closing(sqlite3.connect(broker)) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert db.execute("SELECT count(*) FROM kombu_message").fetchone() == (20,)
    done = tmp_path / "done"
    done.touch()
    assert (
        len(json.loads(_finish(_child(tmp_path, "consume", "default", str(done)))))
        == 20
    )
    with closing(sqlite3.connect(broker)) as db:
        # kombu would keep each taken row (visible=0) for ever: a row per task.
        assert db.execute("SELECT count(*) FROM kombu_message").fetchone() == (0,)
        queues = {row[0] for row in db.execute("SELECT name FROM kombu_queue")}
    assert {"default", "notifications", "probes.local"} <= queues
