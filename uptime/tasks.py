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


# The names these tasks had before the uptime record became an app: a message queued
# by an older beat or worker still runs, once, rather than being dropped as unknown.
@shared_task(name="probes.tasks.uptime_rollup", soft_time_limit=240, time_limit=300)
def uptime_rollup_by_old_name() -> int:
    return uptime_rollup()


@shared_task(name="probes.tasks.results_prune", soft_time_limit=840, time_limit=900)
def results_prune_by_old_name() -> int:
    return results_prune()
