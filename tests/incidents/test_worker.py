"""The maintenance job as deployed: a beat entry, time limits, and a real worker."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone

from incidents import tasks
from incidents.models import Component, Incident
from statuspage.celery import app
from tests.conftest import make_component, make_maintenance

WORKER_QUEUE = "default"


def test_it_limits_the_time_of_every_task() -> None:
    app.loader.import_default_modules()
    defined = [
        task for name, task in app.tasks.items() if not name.startswith("celery.")
    ]

    assert tasks.maintenance_advance in defined, "the apps' tasks were not found"
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


def test_it_starts_a_due_maintenance_on_a_real_worker(
    transactional_db: None, start_worker: Callable[..., Any], tmp_path: Path
) -> None:
    app.control.purge()
    worker = start_worker(WORKER_QUEUE)
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
    output = (tmp_path / "worker.log").read_text(errors="replace")
    assert maintenance.status == "in_progress", (
        f"the worker did not start the maintenance:\n{output[-4000:]}"
    )
    assert Component.objects.get(pk=db.pk).status == "under_maintenance"
    assert Incident.objects.get(pk=maintenance.pk).updates.count() == 2
    assert "incidents.tasks.maintenance_advance" in output
