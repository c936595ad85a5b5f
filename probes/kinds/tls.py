"""``tls``: the certificate is trusted, matches the host and is not about to expire.

Config: ``host`` (required), ``port`` (443), ``warn_days`` (14), ``ca_file``.
Up when valid for more than ``warn_days`` days; degraded when it expires sooner;
down when expired, issued for another host or not trusted.
"""

from __future__ import annotations

import ssl
from datetime import UTC, datetime
from typing import Any, ClassVar

from .base import Outcome, ProbeKind, ProbeOutcome, RunContext, StepResult, clip, single
from .config import FieldChecker
from .network import describe_error, tls_context
from .request import validate_tls
from .tcp import close, connect, validate_host


class Tls(ProbeKind):
    name: ClassVar[str] = "tls"

    @classmethod
    def validate(cls, config: dict[str, Any]) -> dict[str, Any]:
        check = FieldChecker(config)
        check.unknown(("host", "port", "warn_days", "ca_file"))
        normalised = {
            "host": validate_host(check),
            "port": check.port("port", default=443),
            "warn_days": check.number("warn_days", default=14, integer=True),
            "ca_file": validate_tls(check)["ca_file"],
        }
        check.raise_if_any()
        return normalised

    async def run(self, ctx: RunContext) -> ProbeOutcome:
        host = self.config["host"]
        try:
            context = tls_context(self.config.get("ca_file"))
            _, writer, latency_ms = await connect(
                host,
                self.config.get("port", 443),
                ctx.timeout,
                ssl=context,
                server_hostname=host,
            )
        except (OSError, TimeoutError) as exc:
            error = clip(describe_error(exc, ctx.timeout))
            return single(StepResult("main", Outcome.DOWN, None, error=error))
        certificate = writer.get_extra_info("peercert") or {}
        await close(writer)
        return single(self._judge(certificate, ctx.now, round(latency_ms, 1)))

    def _judge(
        self, certificate: dict[str, Any], now: datetime, latency: float
    ) -> StepResult:
        if "notAfter" not in certificate:
            return StepResult("main", Outcome.DOWN, latency, error="no certificate")
        expires = datetime.fromtimestamp(
            ssl.cert_time_to_seconds(certificate["notAfter"]), tz=UTC
        )
        days = int((expires - now).total_seconds() // 86400)
        if days < 0:
            # The handshake checks against the real clock; ctx.now may differ.
            error = f"certificate expired on {expires:%Y-%m-%d}"
            return StepResult("main", Outcome.DOWN, latency, error=error)
        if days <= self.config.get("warn_days", 14):
            error = f"certificate expires in {days} day{'s' if days != 1 else ''}"
            return StepResult("main", Outcome.DEGRADED, latency, error=error)
        return StepResult("main", Outcome.UP, latency)
