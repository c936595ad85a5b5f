from __future__ import annotations

import os

from celery import Celery

from kit import broker  # also: a fresh broker pool in forked children

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "statuspage.settings")

app = Celery("statuspage")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def broker_prepare() -> None:
    """bin/run, before any process starts: the embedded broker's tables and queues."""
    broker.broker_prepare(app)
