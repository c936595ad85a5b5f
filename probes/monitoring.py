"""The monitor watching itself: silent regions, degraded monitoring, staff alerts.

A silent region sends nothing, so no result ever says it went quiet: this sweep
(periodic) decides again every component whose evidence ran short or came back,
and tells staff once per transition.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from notifications.transports.net import json_body, post_all
from notifications.transports.webhook import check_url, signed_request

from . import results, verdict
from .models import ComponentVerdict
from .selectors import component_feeds, monitored_states

logger = logging.getLogger(__name__)


@dataclass
class MonitoringSwept:
    decided: list[int] = field(default_factory=list)  # components decided again
    degraded: list[str] = field(default_factory=list)  # staff told: degraded
    recovered: list[str] = field(default_factory=list)  # staff told: recovered


def monitoring_sweep(*, now: dt.datetime | None = None) -> MonitoringSwept:
    """Hold what silent regions fed, release what speaks again, tell staff.

    1. Every component whose evidence is short now but not marked so, or marked
       but enough regions speak again, is decided again (component_decide marks
       it, holds its status and leaves its incidents alone).
    2. Staff are told of the components whose mark changed since they were last
       told, once: each is claimed by a conditional update, in the same
       transaction as the sending, so a failed send is tried again next sweep.
    """
    now = now or timezone.now()
    swept = MonitoringSwept()
    marked = set(
        ComponentVerdict.objects.filter(
            monitoring_degraded_since__isnull=False
        ).values_list("component_id", flat=True)
    )
    for component_id, feeds in sorted(component_feeds(monitored_states()).items()):
        if verdict.feeds_evidence(feeds, now)[1] != (component_id in marked):
            results.component_decide(component_id=component_id, now=now)
            swept.decided.append(component_id)
    _staff_tell(swept)
    return swept


@transaction.atomic
def _staff_tell(swept: MonitoringSwept) -> None:
    untold = Q(monitoring_degraded_since__isnull=False, monitoring_alerted=False) | Q(
        monitoring_degraded_since__isnull=True, monitoring_alerted=True
    )
    pending = (
        ComponentVerdict.objects.filter(untold)
        .select_related("component")
        .select_for_update(of=("self",), skip_locked=True)
        .order_by("component__name", "pk")
    )
    for current in pending:
        degraded = current.monitoring_degraded
        claimed = ComponentVerdict.objects.filter(
            pk=current.pk, monitoring_alerted=not degraded
        ).update(monitoring_alerted=degraded)
        if claimed and not current.component.is_deleted:
            told = swept.degraded if degraded else swept.recovered
            told.append(current.component.name)
    if swept.degraded or swept.recovered:
        staff_alert_send(degraded=swept.degraded, recovered=swept.recovered)


def staff_alert_text(*, degraded: list[str], recovered: list[str]) -> tuple[str, str]:
    """The subject and body of an alert to staff."""
    lines = []
    if degraded:
        lines.append(
            "Monitoring is degraded (too few regions report; statuses are held and "
            "no incident opens or resolves on its own) for: " + ", ".join(degraded)
        )
    if recovered:
        lines.append("Monitoring has recovered for: " + ", ".join(recovered))
    subject = (
        "Heliograph monitoring degraded"
        if degraded
        else "Heliograph monitoring recovered"
    )
    return subject, "\n\n".join(lines) + "\n"


def staff_alert_send(*, degraded: list[str], recovered: list[str]) -> None:
    """Tell staff by email (STAFF_ALERT_EMAILS) and webhook (STAFF_ALERT_WEBHOOK_URL).

    Raises on a failed send, so the caller's claims are rolled back and tried again.
    """
    subject, body = staff_alert_text(degraded=degraded, recovered=recovered)
    logger.warning("%s: %s", subject, body.strip())
    if settings.STAFF_ALERT_EMAILS:
        send_mail(
            subject, body, settings.DEFAULT_FROM_EMAIL, settings.STAFF_ALERT_EMAILS
        )
    if settings.STAFF_ALERT_WEBHOOK_URL:
        _webhook_send(
            {
                "type": "monitoring.degraded" if degraded else "monitoring.recovered",
                "degraded": degraded,
                "recovered": recovered,
                "message": body.strip(),
            }
        )


class StaffAlertError(Exception):
    """The staff webhook did not take the alert: the sweep rolls back its claims."""


def _webhook_send(payload: dict[str, object]) -> None:
    """POST, signed and guarded as subscribers' webhooks are (the address policy
    checked at connect time, no redirect followed)."""
    request = signed_request(
        url=check_url(settings.STAFF_ALERT_WEBHOOK_URL),
        secret=settings.STAFF_ALERT_WEBHOOK_SECRET,
        webhook_id=f"msg_{uuid.uuid4().hex}",
        data=json_body(payload),
    )
    [result] = post_all([request])
    if not result.ok:
        raise StaffAlertError(f"the staff webhook failed: {result.error}")
