from __future__ import annotations

from celery import shared_task

from . import services
from .snapshot import publish


@shared_task(soft_time_limit=50, time_limit=60)
def maintenance_advance() -> int:
    return len(services.maintenance_advance())


@shared_task(soft_time_limit=50, time_limit=60)
def snapshot_publish(requested_at: float | None = None, full: bool = False) -> bool:
    publish.pending_clear()
    return publish.snapshot_publish(requested_at=requested_at, full=full) is not None
