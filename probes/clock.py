"""The database's clock, which a region's worker on a machine of its own follows.

Every time the monitor compares was written by some process: slots by the dispatch,
results and verdicts by the region workers, heartbeats by the web. A region worker
whose clock runs ahead would drop every slot as too late and look as if it speaks
forever; one that runs behind would run slots long past and go silent while it works.
So a batch measures how far the database's clock is from its own and runs, records
and decides on the database's time.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

from django.conf import settings
from django.db import connection
from django.utils import timezone

logger = logging.getLogger(__name__)

# The offset this process last reported, so a steady skew is logged once.
_reported = dt.timedelta(0)


def database_now() -> dt.datetime:
    """The database server's current time (UTC), read in one query."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT clock_timestamp()")
            (value,) = cursor.fetchone()
            return value.astimezone(dt.UTC)
        # SQLite's clock is this machine's: the file is local by construction.
        cursor.execute("SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')")
        (text,) = cursor.fetchone()
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def database_offset() -> dt.timedelta:
    """How far the database's clock is ahead of this process's (negative: behind).

    Always applied, so a skew hovering near the tolerance does not make times jump
    between batches; the round trip's noise (half of it at most) is far below a
    probe's interval. A skew beyond ``PROBE_CLOCK_TOLERANCE_SECONDS`` is logged
    when it is first seen, and again when it moves by more than that.
    """
    global _reported
    before = time.time()
    theirs = database_now()
    after = time.time()
    offset = theirs - dt.datetime.fromtimestamp((before + after) / 2, dt.UTC)
    tolerance = dt.timedelta(seconds=settings.PROBE_CLOCK_TOLERANCE_SECONDS)
    if abs(offset - _reported) > tolerance:
        if abs(offset) > tolerance:
            logger.warning(
                "this worker's clock is %.1f s %s the database's: its probes run, "
                "record and decide on the database's time",
                abs(offset.total_seconds()),
                "behind" if offset > dt.timedelta(0) else "ahead of",
            )
        else:
            logger.warning("this worker's clock agrees with the database's again")
        _reported = offset
    return offset


def now_from(offset: dt.timedelta) -> dt.datetime:
    """The database's time now, by this process's clock and a measured offset."""
    return timezone.now() + offset
