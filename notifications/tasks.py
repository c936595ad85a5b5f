"""Celery adapters: ids in, one service call, nothing else."""

from __future__ import annotations

import smtplib

from celery import shared_task

from . import emails
from .services import delivery


@shared_task(soft_time_limit=240, time_limit=300)
def event_fan_out(event_id: int) -> int:
    return delivery.event_fan_out(event_id=event_id)


@shared_task(soft_time_limit=120, time_limit=150)
def deliveries_send(delivery_ids: list[int]) -> int:
    return len(delivery.deliveries_send(delivery_ids=delivery_ids))


@shared_task(soft_time_limit=50, time_limit=60)
def deliveries_sweep() -> int:
    return delivery.deliveries_sweep()


# A mail server that is briefly away must not lose a confirmation: retry for about
# an hour, each wait well under the broker's visibility timeout.
@shared_task(
    soft_time_limit=30,
    time_limit=40,
    autoretry_for=(OSError, smtplib.SMTPException),
    retry_backoff=30,
    retry_backoff_max=600,
    max_retries=8,
)
def confirmation_send(subscriber_id: int) -> None:
    emails.confirmation_send(subscriber_id=subscriber_id)
