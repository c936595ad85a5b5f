"""``heartbeat``: an outside job pings us; silence longer than its period is down.

Config: ``period_seconds`` (required), ``grace_seconds`` (0). No network: the
caller passes the time of the last ping in ``ctx.last_heartbeat_at``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from .base import Outcome, ProbeKind, ProbeOutcome, RunContext, StepResult, single
from .config import FieldChecker


class Heartbeat(ProbeKind):
    name: ClassVar[str] = "heartbeat"

    @classmethod
    def validate(cls, config: dict[str, Any]) -> dict[str, Any]:
        check = FieldChecker(config)
        check.unknown(("period_seconds", "grace_seconds"))
        if not check.has("period_seconds"):
            check.error(
                "period_seconds", "is required: how often the job pings, in seconds"
            )
        normalised = {
            "period_seconds": check.number("period_seconds", minimum=1, integer=True),
            "grace_seconds": check.number("grace_seconds", default=0, integer=True),
        }
        check.raise_if_any()
        return normalised

    async def run(self, ctx: RunContext) -> ProbeOutcome:
        last = ctx.last_heartbeat_at
        if last is None:
            return single(
                StepResult("main", Outcome.DOWN, None, error="no heartbeat yet")
            )
        silence = (ctx.now - last).total_seconds()
        allowed = self.config["period_seconds"] + self.config.get("grace_seconds", 0)
        if silence > allowed:
            error = f"no heartbeat for {int(silence)} s"
            return single(StepResult("main", Outcome.DOWN, None, error=error))
        return single(StepResult("main", Outcome.UP, None))
