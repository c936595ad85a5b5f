"""A real Celery worker with a stopwatch on each phase of a probe batch (``--phases``).

The worker is the same one ``celery -A statuspage worker`` starts; only wrappers are
added around the runner's steps, so that each batch logs one line:

    bench-phases probes=50 load=0.004 run=0.081 record=0.210 streak=0.190 decide=0.000

load: reading the probes; run: the concurrent requests; record: storing the results,
of which streak is the per-result region-state transactions and decide the component
verdicts. The wrappers cost a few microseconds per call; the figures are wall time.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import Any

from workers import django_setup, spent, timed, worker_main

django_setup()

from probes import results, runner  # noqa: E402

logger = logging.getLogger("bench.phases")


def _batch(function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def wrapper(*, region: str, items: list[tuple[int, str]]) -> Any:
        spent.clear()
        started = time.perf_counter()
        runs = function(region=region, items=items)
        total = time.perf_counter() - started
        load = total - spent["run"] - spent["record"]
        logger.warning(
            "bench-phases probes=%d total=%.4f load=%.4f run=%.4f record=%.4f "
            "streak=%.4f decide=%.4f",
            len(runs),
            total,
            load,
            spent["run"],
            spent["record"],
            spent["streak"],
            spent["decide"],
        )
        return runs

    return wrapper


# The runner and results modules look these names up at call time, so replacing the
# module attributes is enough; nothing in probes/ is changed.
runner._run_all = timed(runner._run_all, "run")
runner.results_record = timed(runner.results_record, "record")
results._streaks_record = timed(results._streaks_record, "streak")
results.component_decide = timed(results.component_decide, "decide")
runner.probes_run_batch = _batch(runner.probes_run_batch)

if __name__ == "__main__":
    worker_main()
