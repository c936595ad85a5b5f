"""What the audit log records, and what it never copies.

Every model of the project is named here: audited (with the fields that are
bookkeeping rather than state, and the secrets recorded only as "changed"), or
listed in ``NOT_AUDITED`` with the reason. A test holds the two lists to every
installed model, so a new model is a decision, not an oversight.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db import models

SECRET = "(secret)"
# Each model's own clock, and the fields every write bumps.
BOOKKEEPING = frozenset({"updated_at", "created_at"})


def _chat_url(instance: Any, value: Any) -> Any:
    """Slack and Teams addresses are bearer secrets; a webhook's URL is not."""
    if getattr(instance, "channel", "") in ("slack", "teams") and value:
        return SECRET
    return value


@dataclass(frozen=True)
class Audited:
    ignored: frozenset[str] = frozenset()
    secret: frozenset[str] = frozenset()
    masks: dict[str, Callable[[Any, Any], Any]] = field(default_factory=dict)

    def shown(self, instance: models.Model, name: str, value: Any) -> Any:
        if name in self.secret:
            return SECRET if value not in (None, "") else value
        mask = self.masks.get(name)
        return mask(instance, value) if mask else value


AUDITED: dict[str, Audited] = {
    "incidents.page": Audited(),
    "incidents.pagehost": Audited(),
    "audience.pageaccess": Audited(secret=frozenset({"password_hash"})),
    "incidents.component": Audited(),
    "incidents.incident": Audited(),
    "incidents.incidentupdate": Audited(),
    "incidents.incidenttemplate": Audited(),
    # The files' bytes are not copied: their digests (logo_digest...) say they changed.
    "visitor.brand": Audited(ignored=frozenset({"logo", "favicon"})),
    "probes.probe": Audited(
        # Moved by the scheduler and each heartbeat: evidence, not settings.
        ignored=frozenset({"next_due_at", "last_heartbeat_at"}),
        secret=frozenset({"heartbeat_token_hash"}),
    ),
    "notifications.subscriber": Audited(
        # The confirmation mail's rate limit: bookkeeping, moved by every sign-up.
        ignored=frozenset(
            {"confirmation_sent_at", "confirmations_sent", "confirmations_since"}
        ),
        secret=frozenset({"signing_secret"}),
        masks={"url": _chat_url},
    ),
    "tokens.apitoken": Audited(
        ignored=frozenset({"last_used_at"}), secret=frozenset({"hash"})
    ),
    "integrations.integration": Audited(
        ignored=frozenset({"last_received_at"}), secret=frozenset({"secret_hash"})
    ),
    "auth.user": Audited(
        ignored=frozenset({"last_login"}), secret=frozenset({"password"})
    ),
    "auth.group": Audited(),
    "accounts.signinpolicy": Audited(),
    "mfa.authenticator": Audited(
        ignored=frozenset({"last_used_at"}), secret=frozenset({"data"})
    ),
    "socialaccount.socialapp": Audited(secret=frozenset({"secret", "key"})),
    "socialaccount.socialaccount": Audited(
        ignored=frozenset({"last_login", "extra_data"})
    ),
}

NOT_AUDITED: dict[str, str] = {
    "incidents.componentstatuschange": "a record itself; the component's row says it",
    "uptime.componentday": "the uptime record, rolled up from the evidence",
    "uptime.componentlatencyhour": "the uptime record, rolled up",
    "probes.proberesult": "evidence: thousands a minute",
    "probes.regionstate": "the verdict's working state, from the evidence",
    "probes.firingalert": "evidence pushed by integrations",
    "probes.componentverdict": "the verdict's working state; the component says it",
    "probes.beattick": "when the beat last dispatched: a heartbeat, not a change",
    "probes.droppedslots": "a count of probe slots dropped as too late: a measurement",
    "probes.probehour": "the uptime record, rolled up",
    "notifications.event": "the outbox, written by the changes it announces",
    "notifications.delivery": "sending state; resends are recorded by the service",
    "notifications.attempt": "sending history",
    "audit.auditentry": "the log itself",
    "audit.audithead": "the log's chain",
    "audit.auditpruning": "the log's pruning flag",
    "auth.permission": "created by migrations; grants are recorded on groups",
    "contenttypes.contenttype": "created by migrations",
    "sessions.session": "a person's sign-in, recorded as sign-in and sign-out",
    "admin.logentry": "the stock admin's own history",
    "account.emailaddress": "a person's address book; sign-ins are recorded",
    "account.emailconfirmation": "one-time links",
    "socialaccount.socialtoken": "the provider's tokens: secrets, refreshed at sign-in",
    "axes.accessattempt": "sign-in failures, recorded as sign_in_failed",
    "axes.accessfailurelog": "sign-in failures, recorded as sign_in_failed",
    "axes.accesslog": "sign-ins, recorded as signed_in",
    "axes.accessattemptexpiration": "when a lockout ends",
}


def audited(model: type[models.Model]) -> Audited | None:
    return AUDITED.get(model._meta.label_lower)


def audited_models() -> list[tuple[type[models.Model], Audited]]:
    """The installed audited models (an app that is not installed is skipped)."""
    found = []
    for label, spec in AUDITED.items():
        try:
            found.append((apps.get_model(label), spec))
        except LookupError:
            continue
    return found
