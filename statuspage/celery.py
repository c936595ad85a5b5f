from __future__ import annotations

import os

from celery import Celery

from statuspage import broker  # noqa: F401  (a fresh broker pool in forked children)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "statuspage.settings")

app = Celery("statuspage")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
