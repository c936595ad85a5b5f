"""The one small interface every probe kind implements.

A kind turns a validated config into a ``ProbeOutcome``. A target that is down,
slow, unreachable or badly configured on its side is an *outcome*, never an
exception: ``run`` raises only for bugs and for cancellation.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

import aiohttp

ERROR_MAX_CHARS = 300


class Outcome(StrEnum):
    UP = "up"
    DEGRADED = "degraded"
    DOWN = "down"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class StepResult:
    step: str  # "main" for single-step kinds, the step's name in a journey
    outcome: Outcome
    latency_ms: float | None  # None when not measured (skipped, heartbeat)
    component: str | None = None  # public id this step feeds; None: the probe's own
    status_code: int | None = None
    error: str = ""  # short, human readable, never a secret value
    observed_status: str | None = None  # statuspage kind: the mirrored status


@dataclass(frozen=True)
class ProbeOutcome:
    steps: list[StepResult]

    @property
    def outcome(self) -> Outcome:
        """The worst outcome of the steps that ran (skipped steps do not count)."""
        ran = [s.outcome for s in self.steps if s.outcome is not Outcome.SKIPPED]
        for worst in (Outcome.DOWN, Outcome.DEGRADED, Outcome.UP):
            if worst in ran:
                return worst
        return Outcome.SKIPPED


@dataclass
class RunContext:
    # Shared by the simple kinds; build it with ``network.client_session()``.
    # Journeys open their own session so that cookies never leak between probes.
    session: aiohttp.ClientSession
    timeout: float  # seconds for the whole probe
    now: datetime  # aware UTC
    # Placeholder name -> value, resolved by the caller from the names that
    # ``kind.secret_names(config)`` returns.
    secrets: Mapping[str, str] = field(default_factory=dict)
    last_heartbeat_at: datetime | None = None


class ProbeKind(ABC):
    name: ClassVar[str]

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config

    @classmethod
    @abstractmethod
    def validate(cls, config: dict[str, Any]) -> dict[str, Any]:
        """Return the config normalised with defaults, or raise ValidationError.

        The error maps each bad field (``url``, ``steps.1.extract.0.from``) to one
        message that names the field and says what to fix.
        """

    @classmethod
    def secret_names(cls, config: dict[str, Any]) -> dict[str, str]:
        """Placeholder name -> setting/environment variable holding its value."""
        return dict(config.get("secrets") or {})

    @abstractmethod
    async def run(self, ctx: RunContext) -> ProbeOutcome:
        """Check the target once; never raise because the target failed."""


def single(result: StepResult) -> ProbeOutcome:
    return ProbeOutcome(steps=[result])


def clip(text: str) -> str:
    """Keep errors short enough for a result row and a console cell."""
    text = " ".join(text.split())
    if len(text) <= ERROR_MAX_CHARS:
        return text
    return text[: ERROR_MAX_CHARS - 1] + "…"
