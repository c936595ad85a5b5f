"""Run a batch of probes concurrently, store their results, and update the verdicts."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
import traceback

import aiohttp
from django.conf import settings

from . import clock, services
from .kinds import kind_class
from .kinds.base import Outcome, ProbeOutcome, RunContext, StepResult
from .kinds.network import client_session
from .kinds.placeholders import Redactor
from .models import Probe
from .results import Run, results_record

logger = logging.getLogger(__name__)


def probe_secrets(probe: Probe) -> dict[str, str]:
    """The journey's named secrets, from ``PROBE_SECRET_<NAME>`` variables only.

    The configuration holds only names. Only variables meant for probes can be named,
    so a probe cannot be pointed at SECRET_KEY or DATABASE_URL to send them away.
    """
    names = probe.config.get("secrets") or {}
    return {
        variable: settings.PROBE_SECRETS[source]
        for variable, source in names.items()
        if source in settings.PROBE_SECRETS
    }


def _failure(message: str, started: float) -> ProbeOutcome:
    latency = (time.perf_counter() - started) * 1000
    return ProbeOutcome(
        steps=[
            StepResult(
                step="main", outcome=Outcome.DOWN, latency_ms=latency, error=message
            )
        ]
    )


async def _run_one(
    probe: Probe,
    slot: dt.datetime,
    session: aiohttp.ClientSession,
    offset: dt.timedelta,
) -> Run:
    started_at, started = clock.now_from(offset), time.perf_counter()
    context = RunContext(
        session=session,
        timeout=probe.timeout_seconds,
        now=started_at,
        secrets=probe_secrets(probe),
        last_heartbeat_at=probe.last_heartbeat_at,
    )
    try:
        kind = kind_class(probe.kind)(probe.config)
        # The kind keeps its own time; this bound is the guarantee for the batch.
        outcome = await asyncio.wait_for(kind.run(context), probe.timeout_seconds + 1)
    except TimeoutError:
        outcome = _failure(f"timed out after {probe.timeout_seconds:g} s", started)
    except Exception as exc:  # a probe's own bug must not sink the batch
        # The traceback may quote a filled-in request: scrub the secrets from it.
        trace = Redactor(context.secrets.values())(traceback.format_exc())
        logger.error("probe %s failed to run:\n%s", probe.public_id, trace)
        outcome = _failure(f"probe error: {type(exc).__name__}", started)
    return Run(probe=probe, slot=slot, started_at=started_at, outcome=outcome)


async def _run_all(
    claims: list[tuple[Probe, dt.datetime]], offset: dt.timedelta
) -> list[Run]:
    async with client_session(limit=settings.PROBE_CONCURRENCY) as session:
        return list(
            await asyncio.gather(
                *(_run_one(probe, slot, session, offset) for probe, slot in claims)
            )
        )


def probes_run_batch(*, region: str, items: list[tuple[int, str]]) -> list[Run]:
    """Run the claimed probes from this region and record what they found.

    A slot too late to mean anything (a worker back after a stop finds its queue
    full) is dropped and logged, not run: three slots run back to back would
    count as three intervals of evidence in well under one.
    Lateness, the results' times and the verdicts are on the database's clock, so a
    region on a machine whose clock is off still runs and reports on time.
    """
    probes = Probe.objects.select_related("component").in_bulk([pk for pk, _ in items])
    offset = clock.database_offset()
    now = clock.now_from(offset)
    claims, late = [], 0
    for pk, slot in items:
        probe, due = probes.get(pk), dt.datetime.fromisoformat(slot)
        if probe is None or not probe.enabled:
            continue
        if now - due > probe.late_after:
            late += 1
            continue
        claims.append((probe, due))
    if late:
        services.slots_dropped_record(region=region, count=late, now=now)
        logger.warning(
            "dropped %d of %d slots in region %s: too late to run (queued "
            "longer than an interval)",
            late,
            len(items),
            region,
        )
    runs = asyncio.run(_run_all(claims, offset))
    results_record(region=region, runs=runs, now=clock.now_from(offset))
    return runs
