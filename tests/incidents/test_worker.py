"""The maintenance job as deployed: a beat entry, time limits, and a real worker."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from celery import Task
from django.conf import settings
from django.utils import timezone

from incidents import tasks
from incidents.models import Component, Incident
from statuspage.celery import app
from tests.conftest import make_component, make_maintenance

ROOT = Path(__file__).resolve().parents[2]
WORKER_QUEUE = "default"


def test_it_limits_the_time_of_every_task() -> None:
    defined = [
        value
        for value in vars(tasks).values()
        if isinstance(value, Task) and value.__module__ == tasks.__name__
    ]

    assert defined, "incidents.tasks defines no task"
    for task in defined:
        assert task.soft_time_limit, f"{task.name} has no soft time limit"
        assert task.time_limit, f"{task.name} has no hard time limit"
        assert task.soft_time_limit < task.time_limit, task.name


def test_it_schedules_maintenance_advance_on_beat() -> None:
    entries = [
        entry
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
        if entry["task"] == "incidents.tasks.maintenance_advance"
    ]

    assert len(entries) == 1
    assert entries[0]["task"] in app.tasks
    assert 0 < entries[0]["schedule"] <= 60


def _database_url() -> str:
    """The URL of the database this test runs on: pytest-django's test database."""
    db = settings.DATABASES["default"]
    assert db["ENGINE"] == "django.db.backends.postgresql", "needs a server database"
    user = quote(db.get("USER") or "", safe="")
    password = quote(db.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else f"{user}@" if user else ""
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or "5432"
    return f"postgres://{credentials}{host}:{port}/{quote(db['NAME'], safe='')}"


@pytest.fixture
def worker_log(tmp_path: Path) -> Path:
    return tmp_path / "worker.log"


@pytest.fixture
def worker(worker_log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A real Celery worker on the real broker, seeing this test's database."""
    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        pytest.skip("the worker test needs CELERY_BROKER_URL=redis://...")
    app.control.purge()
    env = {**os.environ, "DATABASE_URL": _database_url(), "PYTHONUNBUFFERED": "1"}
    command = [
        *(sys.executable, "-m", "celery", "-A", "statuspage", "worker"),
        *("-Q", WORKER_QUEUE, "--pool", "solo", "--concurrency", "1"),
        *("-n", f"test-{uuid.uuid4().hex[:8]}@%h", "--loglevel", "INFO"),
        *("--without-gossip", "--without-mingle", "--without-heartbeat"),
    ]
    # A file, not a pipe: nobody reads a pipe while the test polls, and a full one
    # would stall the worker.
    log = worker_log.open("wb")
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def test_it_starts_a_due_maintenance_on_a_real_worker(
    transactional_db: None, worker: subprocess.Popen[bytes], worker_log: Path
) -> None:
    db = make_component(name="Database")
    now = timezone.now()
    maintenance = make_maintenance(
        scheduled_for=now - dt.timedelta(minutes=1),
        scheduled_until=now + dt.timedelta(hours=1),
        components=[db],
    )

    tasks.maintenance_advance.apply_async(queue=WORKER_QUEUE)

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and worker.poll() is None:
        maintenance.refresh_from_db()
        if maintenance.status == "in_progress":
            break
        time.sleep(0.2)
    output = worker_log.read_text(errors="replace")
    assert maintenance.status == "in_progress", (
        f"the worker did not start the maintenance:\n{output[-4000:]}"
    )
    assert Component.objects.get(pk=db.pk).status == "under_maintenance"
    assert Incident.objects.get(pk=maintenance.pk).updates.count() == 2
    assert "incidents.tasks.maintenance_advance" in output
