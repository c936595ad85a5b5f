from __future__ import annotations

from celery import shared_task

from incidents import services


@shared_task(soft_time_limit=50, time_limit=60)
def maintenance_advance() -> int:
    return len(services.maintenance_advance())
