"""``alert``: an alerting tool pushes its alerts; a firing alert whose labels match
is an outage of the probe's component until the tool says it is resolved.

Config: ``matchers`` (required), label name -> value, every one of which an alert's
labels must equal, e.g. ``{"alertname": "LoginDown", "service": "auth"}``.

Pushed, never polled: the scheduler leaves these probes alone, and the inbound
integrations (``integrations.views``) record their results through
``probes.services.alerts_record``, into the same streaks and verdict as any probe.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

from .base import Outcome, ProbeKind, ProbeOutcome, RunContext, StepResult, single
from .config import FieldChecker

LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")  # Prometheus's label names
# The ``severity`` label, as Prometheus rules conventionally set it. A warning is a
# degradation; an informational alert (kube-prometheus's always-firing Watchdog has
# severity "none") changes nothing; any other severity, or none, is an outage of the
# probe's down status, so staff say on the probe how bad its alerts are.
DEGRADING = frozenset({"warning", "warn", "minor"})
INFORMATIONAL = frozenset({"info", "informational", "none"})


def alert_outcome(labels: Mapping[str, str]) -> Outcome | None:
    """What a firing alert says about its target; None: it says nothing."""
    severity = labels.get("severity", "").lower()
    if severity in INFORMATIONAL:
        return None
    return Outcome.DEGRADED if severity in DEGRADING else Outcome.DOWN


class Alert(ProbeKind):
    name: ClassVar[str] = "alert"

    @classmethod
    def validate(cls, config: dict[str, Any]) -> dict[str, Any]:
        check = FieldChecker(config)
        check.unknown(("matchers",))
        matchers = check.raw("matchers")
        if not isinstance(matchers, dict) or not matchers:
            check.error(
                "matchers",
                "is required: the labels an alert must carry, as an object of "
                'strings, e.g. {"alertname": "LoginDown", "service": "auth"}',
            )
            matchers = {}
        for name, value in matchers.items():
            if not LABEL_NAME.match(name):
                check.error(f"matchers.{name}", "is not a label name ([a-zA-Z0-9_])")
            elif not isinstance(value, str) or not value:
                check.error(f"matchers.{name}", "must be a non-empty string")
        check.raise_if_any()
        return {"matchers": dict(matchers)}

    def matches(self, labels: Mapping[str, str]) -> bool:
        matchers: dict[str, str] = self.config["matchers"]
        return all(labels.get(name) == value for name, value in matchers.items())

    async def run(self, ctx: RunContext) -> ProbeOutcome:
        # Never scheduled (probes.scheduler); were it run, it would measure nothing.
        skipped = StepResult("main", Outcome.SKIPPED, None, error="pushed, not polled")
        return single(skipped)
