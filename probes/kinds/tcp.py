"""``tcp``: a connection to ``host``:``port`` opens within the timeout.

Config: ``host``, ``port`` (both required), ``degraded_after_ms``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, ClassVar

from .base import Outcome, ProbeKind, ProbeOutcome, RunContext, StepResult, clip, single
from .config import FieldChecker
from .network import describe_error, host_problem, resolve_target


def validate_host(check: FieldChecker) -> str | None:
    host = check.text("host", required=True)
    if host is None:
        return None
    if "://" in host or "/" in host:
        check.error("host", "must be a host name or address, not a URL")
    elif problem := host_problem(host):
        check.error("host", problem)
    return host


async def connect(
    host: str, port: int, timeout: float, **tls: Any
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, float]:
    """Connect to the host's addresses in turn; return the stream and latency.

    We connect to the address we checked, not the name, so a second DNS answer
    cannot point the connection somewhere else.
    """
    started = time.perf_counter()
    async with asyncio.timeout(timeout):
        failure: OSError | None = None
        for address in await resolve_target(host, port):
            try:
                reader, writer = await asyncio.open_connection(address, port, **tls)
            except OSError as exc:
                failure = exc
                continue
            return reader, writer, (time.perf_counter() - started) * 1000
    raise failure or OSError(f"no address for {host}")


async def close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    try:
        await asyncio.wait_for(writer.wait_closed(), 1)
    except (OSError, TimeoutError):
        pass  # the check already has its answer; a messy close changes nothing


class Tcp(ProbeKind):
    name: ClassVar[str] = "tcp"

    @classmethod
    def validate(cls, config: dict[str, Any]) -> dict[str, Any]:
        check = FieldChecker(config)
        check.unknown(("host", "port", "degraded_after_ms"))
        normalised = {
            "host": validate_host(check),
            "port": check.port("port"),
            "degraded_after_ms": check.positive("degraded_after_ms"),
        }
        check.raise_if_any()
        return normalised

    async def run(self, ctx: RunContext) -> ProbeOutcome:
        host, port = self.config["host"], self.config["port"]
        try:
            _, writer, latency_ms = await connect(host, port, ctx.timeout)
        except (OSError, TimeoutError) as exc:
            error = clip(describe_error(exc, ctx.timeout))
            return single(StepResult("main", Outcome.DOWN, None, error=error))
        await close(writer)
        limit = self.config.get("degraded_after_ms")
        if limit is not None and latency_ms > limit:
            error = f"slow: {latency_ms:.0f} ms, above {limit} ms"
            return single(StepResult("main", Outcome.DEGRADED, latency_ms, error=error))
        return single(StepResult("main", Outcome.UP, round(latency_ms, 1)))
