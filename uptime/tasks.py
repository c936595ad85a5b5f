"""Celery adapters of the uptime record's periodic jobs: one service call each."""

from __future__ import annotations

from celery import shared_task

from . import rollup


@shared_task(soft_time_limit=240, time_limit=300)
def uptime_rollup() -> int:
    return rollup.uptime_rollup().days


@shared_task(soft_time_limit=840, time_limit=900)
def results_prune() -> int:
    return rollup.results_prune().deleted
