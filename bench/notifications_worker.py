"""A real Celery worker with a stopwatch on the phases of the notification tasks.

The worker is the one ``celery -A statuspage worker`` starts; only wrappers are put
around module attributes that ``notifications`` looks up at call time (nothing in
``notifications/`` changes), so that each task logs one line:

    bench-send deliveries=200 total=1.93 claim=0.05 render=0.61 send=1.02 record=0.21
    bench-fan-out deliveries=100000 total=9.8 plan=6.1 enqueue=3.7

claim: ``_claim`` (select for update, mark sending, load rows); render:
``message_for`` plus, per channel, building the email (templates, MIME) or the signed
webhook request; send: the SMTP conversation or the concurrent POSTs; record:
``_record`` (attempts, states, quarantine checks). plan: creating the delivery rows;
enqueue: marking them queued and sending the tasks. Figures are wall seconds.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import Any

from workers import django_setup, spent, timed, worker_main

django_setup()

from notifications.services import delivery  # noqa: E402
from notifications.transports import email, net, webhook  # noqa: E402

logger = logging.getLogger("bench.phases")


def _send_logged(function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def wrapper(*, delivery_ids: list[int]) -> Any:
        spent.clear()
        started = time.perf_counter()
        results = function(delivery_ids=delivery_ids)
        logger.warning(
            "bench-send deliveries=%d total=%.4f claim=%.4f render=%.4f send=%.4f "
            "record=%.4f",
            len(results),
            time.perf_counter() - started,
            spent["claim"],
            spent["render"],
            spent["send"],
            spent["record"],
        )
        return results

    return wrapper


def _fan_out_logged(function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def wrapper(*, event_id: int) -> Any:
        spent.clear()
        started = time.perf_counter()
        count = function(event_id=event_id)
        total = time.perf_counter() - started
        logger.warning(
            "bench-fan-out deliveries=%d total=%.4f plan=%.4f enqueue=%.4f",
            count,
            total,
            total - spent["enqueue"],
            spent["enqueue"],
        )
        return count

    return wrapper


# The tasks and services look these names up at call time, so replacing the module
# attributes is enough.
delivery._claim = timed(delivery._claim, "claim")
delivery.message_for = timed(delivery.message_for, "render")
delivery._record = timed(delivery._record, "record")
delivery._queue = timed(delivery._queue, "enqueue")
# Methods replaced on their class, as the module functions are: mypy refuses
# assigning to a method, which is the point here.
email.Email._email = timed(email.Email._email, "render")  # type: ignore[method-assign]
email.deliver = timed(email.deliver, "send")
email.connect = timed(email.connect, "send")
webhook.Webhook.request = timed(  # type: ignore[method-assign]
    webhook.Webhook.request, "render"
)
net.post_all = timed(net.post_all, "send")
delivery.deliveries_send = _send_logged(delivery.deliveries_send)
delivery.event_fan_out = _fan_out_logged(delivery.event_fan_out)

if __name__ == "__main__":
    worker_main()
