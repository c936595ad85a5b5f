"""Uptime rollups: a component's days, its hourly response times, a probe's hours.

The record behind the public bars and charts (``uptime.selectors`` reads it), rebuilt
from the status history, scheduled maintenance, incidents and the raw probe results.
Every rule is decided here, once:

- Days are days of the page's time zone: 23 or 25 hours when daylight saving time
  changes. Today's row covers until now. Groups get no rows of their own.
- A component exists from the start of its ``start_date`` when set (staff say since
  when it is in use, as on Statuspage), else from its ``created_at``, until its
  ``deleted_at``. Outside that: no data (a day wholly outside it gets no row).
  Before its first recorded change it had that change's old status.
- Maintenance: time under the status ``under_maintenance``, and time inside a
  scheduled maintenance that really started (from its start to its completion, or
  until now) for the components it names, whatever their status says meanwhile.
- No data: a component is fed by probes on a day when an enabled probe feeds it
  (its own, or a journey whose steps name it) or a probe reported on it that day.
  From the creation of the first such probe on, time that no result covers is no
  data. A result covers ``COVER_INTERVALS`` (2) of its probe's intervals from its
  start, so one late or lost run leaves no gap while a stopped monitor shows within
  two; the results of every region and step are united. Maintenance wins over no
  data. A component never fed by a probe is judged by its status alone, as on
  Statuspage.
- Checks are the results that ran (skipped journey steps are neither checks nor
  cover). Degraded results count as up: the target answered, slowly, and degraded
  performance is no downtime either.
- Percentiles interpolate linearly between ranks, as PostgreSQL's
  ``percentile_cont``; they are computed in Python from one pass over the results in
  time order, the same way on PostgreSQL and SQLite.
- Rebuilding is idempotent: rows are upserted on their unique keys, and the day of
  a component that did not exist then is deleted. A rebuild never lowers a row's
  checks: raw results are only ever deleted by pruning, so fewer results than the
  row counted means some were pruned, and the row made from all of them stays (an
  hour or a day whose results are all gone too). Any range can be rebuilt, whatever
  the retention was when it was pruned.
- A day's row is final once computed ``LATE_RESULTS`` after the day ended. Pruning
  deletes only results older than the retention window whose day is final for their
  component; the others wait for their rollup.
"""

from __future__ import annotations

from .base import (
    COVER_INTERVALS,
    LATE_RESULTS,
    Summary,
    day_bounds,
    day_of,
    retention_horizon,
)
from .build import rollup_range
from .periodic import uptime_rollup
from .prune import Pruned, results_prune
from .results import percentiles

__all__ = [
    "COVER_INTERVALS",
    "LATE_RESULTS",
    "Pruned",
    "Summary",
    "day_bounds",
    "day_of",
    "percentiles",
    "results_prune",
    "retention_horizon",
    "rollup_range",
    "uptime_rollup",
]
