"""``journey``: several requests sharing one cookie jar, e.g. sign in, use, sign out.

Config: ``steps`` (each an http-like request with assertions, plus ``name``,
optional ``component`` public id, ``cleanup`` and ``extract``), ``secrets``
({"password": "ACME_PASSWORD"}) and ``verify_tls``/``ca_file`` for all steps.

1. Steps run in order; ``{{name}}`` placeholders take secrets and extracted values.
2. The first failed step is DOWN; later steps are SKIPPED, except cleanup steps,
   which always run (a sign-out must not leave sessions behind).
3. A request that would carry a secret to a host it is not bound to is not sent
   (see bindings.py); redirects are checked the same way before they are followed.
4. Every error is scrubbed of secret and extracted values before it is returned,
   and none quotes the response (assertions describe what they found instead).
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any, ClassVar

import aiohttp

from .assertions import Reply, assess
from .base import Outcome, ProbeKind, ProbeOutcome, RunContext, StepResult, clip
from .bindings import SecretGuard, SecretRefused
from .extraction import ExtractionFailed, extract
from .http import TARGET_ERRORS
from .journey_config import validate_journey
from .network import client_session
from .placeholders import MissingVariable, Redactor
from .request import describe_failure, render_request, send, ssl_option

# Share of the time budget kept for cleanup steps, so a slow journey still signs out.
CLEANUP_SHARE = 0.25


class Journey(ProbeKind):
    name: ClassVar[str] = "journey"

    @classmethod
    def validate(cls, config: dict[str, Any]) -> dict[str, Any]:
        return validate_journey(config)

    async def run(self, ctx: RunContext) -> ProbeOutcome:
        names = self.secret_names(self.config)
        variables = {name: ctx.secrets[name] for name in names if name in ctx.secrets}
        redact = Redactor(variables.values())
        guard = SecretGuard.for_config(names, variables)
        # unsafe=True keeps cookies of IP-address hosts such as 127.0.0.1.
        jar = aiohttp.CookieJar(unsafe=True)
        async with client_session(cookie_jar=jar, limit=4) as session:
            run = _Run(self, ctx, session, jar, variables, redact, guard)
            results = await run.all_steps()
        return ProbeOutcome([replace(r, error=clip(redact(r.error))) for r in results])


class _Run:
    """The state of one journey run: variables, redactions and the time left."""

    def __init__(
        self,
        journey: Journey,
        ctx: RunContext,
        session: aiohttp.ClientSession,
        jar: aiohttp.CookieJar,
        variables: dict[str, str],
        redact: Redactor,
        guard: SecretGuard,
    ) -> None:
        self.steps: list[dict[str, Any]] = journey.config["steps"]
        self.secret_names = journey.secret_names(journey.config)
        self.tls = ssl_option(journey.config)
        self.ctx, self.session, self.jar = ctx, session, jar
        self.variables, self.redact, self.guard = variables, redact, guard
        self.deadline = time.monotonic() + ctx.timeout

    async def all_steps(self) -> list[StepResult]:
        results: list[StepResult] = []
        failed: str | None = None
        for step in self.steps:
            if failed and not step["cleanup"]:
                error = f"skipped: {failed} failed"
                results.append(self._result(step, Outcome.SKIPPED, error=error))
                continue
            result = await self._step(step)
            if result.outcome is Outcome.DOWN and failed is None:
                failed = step["name"]
            results.append(result)
        return results

    def _time_left(self, step: dict[str, Any]) -> float:
        left = self.deadline - time.monotonic()
        later = self.steps[self.steps.index(step) + 1 :]
        if step["cleanup"] or not any(s["cleanup"] for s in later):
            return left
        return left - self.ctx.timeout * CLEANUP_SHARE

    async def _step(self, step: dict[str, Any]) -> StepResult:
        try:
            request = render_request(step, self.variables)
        except MissingVariable as exc:
            return self._result(step, Outcome.DOWN, error=self._missing(exc.name))
        budget = max(self._time_left(step), 0.01)
        try:
            reply = await send(
                self.session, request, tls=self.tls, timeout=budget, guard=self.guard
            )
        except SecretRefused as exc:
            return self._result(step, Outcome.DOWN, error=str(exc))
        except TARGET_ERRORS as exc:
            error = describe_failure(exc, round(budget, 1))
            return self._result(step, Outcome.DOWN, error=error)
        outcome, error = assess(step, reply)
        extraction_error = self._extract(step, reply, request["url"])
        if outcome is not Outcome.DOWN and extraction_error:
            outcome, error = Outcome.DOWN, extraction_error
        return self._result(step, outcome, reply, error)

    def _extract(self, step: dict[str, Any], reply: Reply, url: str) -> str:
        """Take the step's values; also after a failed step, to redact them."""
        for spec in step["extract"]:
            try:
                value = extract(spec, reply, self.jar, url)
            except ExtractionFailed as exc:
                return str(exc)
            if spec["secret"]:
                self.redact.add(value)
            self.variables[spec["var"]] = value
        return ""

    def _missing(self, name: str) -> str:
        if name in self.secret_names:
            return f"secret {name!r} is not set ({self.secret_names[name]})"
        return (
            f"no value for {{{{{name}}}}}: the step extracting it failed or was skipped"
        )

    def _result(
        self,
        step: dict[str, Any],
        outcome: Outcome,
        reply: Reply | None = None,
        error: str = "",
    ) -> StepResult:
        return StepResult(
            step=step["name"],
            outcome=outcome,
            latency_ms=round(reply.latency_ms, 1) if reply else None,
            component=step.get("component"),
            status_code=reply.status if reply else None,
            error=error,
        )
