"""``statuspage``: mirror one component of another Statuspage-compatible page.

Config: ``url`` (the page's base URL; we read ``<url>/api/v2/summary.json``) and
``component`` (its id, or its exact name when that is unique), plus
``verify_tls`` and ``ca_file``. ``observed_status`` always carries the status
read, so the caller can show "under maintenance" or choose the outage level.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

import aiohttp

from .base import Outcome, ProbeKind, ProbeOutcome, RunContext, StepResult, clip, single
from .config import FieldChecker
from .network import describe_error
from .request import TLS_FIELDS, send, ssl_option, validate_tls, validate_url

MIRROR = {
    "operational": Outcome.UP,
    "degraded_performance": Outcome.DEGRADED,
    "partial_outage": Outcome.DOWN,
    "major_outage": Outcome.DOWN,
    "under_maintenance": Outcome.UP,  # planned work is not an outage of ours
}


class Statuspage(ProbeKind):
    name: ClassVar[str] = "statuspage"

    @classmethod
    def validate(cls, config: dict[str, Any]) -> dict[str, Any]:
        check = FieldChecker(config)
        check.unknown(("url", "component", *TLS_FIELDS))
        normalised = {
            "url": validate_url(check),
            "component": check.text("component", required=True),
            **validate_tls(check),
        }
        check.raise_if_any()
        return normalised

    async def run(self, ctx: RunContext) -> ProbeOutcome:
        url = self.config["url"].rstrip("/") + "/api/v2/summary.json"
        request = {
            "method": "GET",
            "url": url,
            "headers": {"Accept": "application/json"},
        }
        try:
            reply = await send(
                ctx.session, request, tls=ssl_option(self.config), timeout=ctx.timeout
            )
        except (OSError, TimeoutError, aiohttp.ClientError, ValueError) as exc:
            return _down(describe_error(exc, ctx.timeout), None, None)
        latency = round(reply.latency_ms, 1)
        if reply.status != 200:
            return _down(f"{url} answered {reply.status}", latency, reply.status)
        try:
            components = json.loads(reply.text)["components"]
        except (ValueError, KeyError, TypeError):
            return _down("summary.json has no components list", latency, reply.status)
        return single(self._mirror(components, latency, reply.status))

    def _mirror(self, components: Any, latency: float, code: int) -> StepResult:
        wanted = self.config["component"]
        found, error = find_component(components, wanted)
        if found is None:
            return StepResult(
                "main", Outcome.DOWN, latency, status_code=code, error=error
            )
        status = str(found.get("status"))
        outcome = MIRROR.get(status)
        if outcome is None:
            error = clip(f"component {wanted!r} has unknown status {status!r}")
            return StepResult(
                "main", Outcome.DOWN, latency, status_code=code, error=error
            )
        error = "" if outcome is Outcome.UP else f"{found.get('name')}: {status}"
        return StepResult(
            "main",
            outcome,
            latency,
            status_code=code,
            error=clip(error),
            observed_status=status,
        )


def find_component(components: Any, wanted: str) -> tuple[dict[str, Any] | None, str]:
    """The component with this id, else the only one with this exact name."""
    rows = (
        [c for c in components if isinstance(c, dict)]
        if isinstance(components, list)
        else []
    )
    for row in rows:
        if row.get("id") == wanted:
            return row, ""
    named = [row for row in rows if row.get("name") == wanted]
    if len(named) == 1:
        return named[0], ""
    if named:
        return None, clip(f"{len(named)} components are named {wanted!r}; use the id")
    return None, clip(f"component {wanted!r} not found on that page")


def _down(error: str, latency: float | None, code: int | None) -> ProbeOutcome:
    return single(
        StepResult("main", Outcome.DOWN, latency, status_code=code, error=clip(error))
    )
