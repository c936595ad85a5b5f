"""``http``: one request, judged by status, body and speed.

Config: ``url`` (required), ``method`` (GET), ``headers``, one of ``body`` (text),
``form`` (object) or ``json``; ``expected_status`` (default "200-399"; a code, a
"200-299" range, or a list), ``body_contains``, ``body_regex``, ``json_path`` with
``json_equals``, ``degraded_after_ms``, ``verify_tls`` (true), ``ca_file``,
``follow_redirects`` (false: a redirect is judged as the answer itself), and
``secrets`` ({"token": "ACME_API_TOKEN"}) for ``{{token}}`` placeholders.
"""

from __future__ import annotations

from typing import Any, ClassVar

import aiohttp

from .assertions import ASSERTION_FIELDS, assess, validate_assertions
from .base import Outcome, ProbeKind, ProbeOutcome, RunContext, StepResult, clip, single
from .bindings import SecretGuard, SecretRefused, check_secret_hosts
from .config import FieldChecker
from .placeholders import (
    MissingVariable,
    Redactor,
    check_placeholders,
    validate_secrets,
)
from .request import (
    REQUEST_FIELDS,
    TLS_FIELDS,
    describe_failure,
    render_request,
    send,
    ssl_option,
    validate_request,
    validate_tls,
)

# Failures of the target (or of reaching it) that become a DOWN result.
TARGET_ERRORS = (OSError, TimeoutError, aiohttp.ClientError, ValueError)


class Http(ProbeKind):
    name: ClassVar[str] = "http"

    @classmethod
    def validate(cls, config: dict[str, Any]) -> dict[str, Any]:
        check = FieldChecker(config)
        check.unknown((*REQUEST_FIELDS, *TLS_FIELDS, *ASSERTION_FIELDS, "secrets"))
        normalised = validate_request(check)
        normalised.update(validate_assertions(check))
        normalised.update(validate_tls(check))
        normalised["secrets"] = validate_secrets(check)
        check_placeholders(
            check,
            ("url", "headers", "body", "form", "json"),
            set(normalised["secrets"]),
            "is not declared in secrets",
        )
        check_secret_hosts(check, normalised["secrets"])
        check.raise_if_any()
        return normalised

    async def run(self, ctx: RunContext) -> ProbeOutcome:
        names = self.secret_names(self.config)
        secrets = {name: ctx.secrets[name] for name in names if name in ctx.secrets}
        redact = Redactor(secrets.values())
        guard = SecretGuard.for_config(names, secrets)
        try:
            request = render_request(self.config, secrets)
            tls = ssl_option(self.config)
            reply = await send(
                ctx.session, request, tls=tls, timeout=ctx.timeout, guard=guard
            )
        except MissingVariable as exc:
            return _down(f"secret {exc.name!r} is not set ({names.get(exc.name)})")
        except SecretRefused as exc:
            return _down(str(exc))
        except TARGET_ERRORS as exc:
            return _down(redact(describe_failure(exc, ctx.timeout)))
        outcome, error = assess(self.config, reply)
        result = StepResult(
            step="main",
            outcome=outcome,
            latency_ms=round(reply.latency_ms, 1),
            status_code=reply.status,
            error=clip(redact(error)),
        )
        return single(result)


def _down(error: str) -> ProbeOutcome:
    return single(
        StepResult(
            step="main", outcome=Outcome.DOWN, latency_ms=None, error=clip(error)
        )
    )
