"""Enqueue a task by its name, so a service never imports the tasks that call it
(tasks import services; a service importing its tasks back would be a circle).

tests/test_layout.py checks that every name given here is a registered task.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from celery import current_app


def enqueue(
    name: str,
    *,
    args: Sequence[Any] = (),
    kwargs: dict[str, Any] | None = None,
    **options: Any,
) -> None:
    """Send the task ``name`` with Celery's options (``queue``, ``countdown``,
    ``expires``); routes in CELERY_TASK_ROUTES apply as for ``apply_async``."""
    current_app.send_task(name, args=tuple(args), kwargs=kwargs or {}, **options)
