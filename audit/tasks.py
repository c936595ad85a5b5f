"""Celery adapters: seal what a dead process left unsealed, and prune."""

from __future__ import annotations

from celery import shared_task

from . import chain


@shared_task(soft_time_limit=50, time_limit=60)
def audit_seal() -> int:
    return chain.seal()


@shared_task(soft_time_limit=240, time_limit=300)
def audit_prune() -> int:
    return chain.prune()
