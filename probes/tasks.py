"""Celery adapters: ids in, one service call (on the database's time), nothing else."""

from __future__ import annotations

import datetime as dt
from typing import Any

from celery import shared_task
from celery.signals import task_revoked
from django.db import connection

from . import (
    automation,
    clock,
    monitoring,
    results,
    runner,
    scheduler,
    services,
)


def _now() -> dt.datetime:
    """The database's time: the worker running a periodic task may be on a machine
    whose clock is off (probes.clock)."""
    return clock.now_from(clock.database_offset())


@shared_task(soft_time_limit=10, time_limit=15)
def probes_dispatch() -> int:
    return scheduler.probes_dispatch(now=_now())


@shared_task(soft_time_limit=120, time_limit=150)
def probes_run_batch(region: str, items: list[tuple[int, str]]) -> int:
    return len(runner.probes_run_batch(region=region, items=items))


@shared_task(soft_time_limit=50, time_limit=60)
def verdicts_enforce() -> int:
    return results.verdicts_enforce()


@shared_task(soft_time_limit=50, time_limit=60)
def monitoring_sweep() -> int:
    return len(monitoring.monitoring_sweep(now=_now()).decided)


@shared_task(soft_time_limit=50, time_limit=60)
def automatic_incidents_resolve() -> int:
    return len(automation.automatic_incidents_resolve(now=_now()))


@task_revoked.connect
def expired_batch_count(
    sender: Any = None, request: Any = None, expired: bool = False, **_: Any
) -> None:
    """A batch that expired before a worker took it is dropped by Celery unread
    (in the worker's main process): count its slots as the runner counts its own."""
    if not expired or getattr(sender, "name", None) != probes_run_batch.name:
        return
    region, items = request.args
    try:
        services.slots_dropped_record(
            region=region, count=len(items), now=clock.database_now()
        )
    finally:
        connection.close()  # the main process keeps none open for its forks
