"""The inbound webhooks: an alerting tool POSTs its alerts with its integration's
secret. Machine to machine, so no CSRF and no API token: the secret is the proof."""

from __future__ import annotations

import base64
import binascii
from typing import Any, ClassVar

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from probes.services import PushedAlert

from . import services
from .bodies import BodyError, alertmanager_alerts, generic_alerts, json_read
from .models import Integration, IntegrationKind

# Alertmanager sends one group's alerts per request; a thousand alerts with their
# labels and annotations stay well under this, and nothing bigger is read at all.
MAX_BODY_BYTES = 1024 * 1024


def _error(status: int, reason: str, **extra: Any) -> JsonResponse:
    return JsonResponse({"reason": reason, **extra}, status=status)


def presented_secret(request: HttpRequest) -> str:
    """The secret from ``Authorization: Bearer <secret>``, or the password of
    ``Basic`` for tools that offer only that. Never from the query string: URLs
    end up in access logs and proxies' logs."""
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        return credentials.strip()
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return ""
        return decoded.partition(":")[2]
    return ""


@method_decorator(csrf_exempt, name="dispatch")
class AlertsReceive(View):
    """``POST`` a body of alerts; 200 with what matched, or why not."""

    http_method_names = ["post"]  # others get 405
    kind: ClassVar[str]

    def post(self, request: HttpRequest, public_id: str) -> HttpResponse:
        integration = Integration.objects.filter(
            public_id=public_id, kind=self.kind
        ).first()
        if integration is None:
            return _error(404, "No integration has this address.")
        secret = presented_secret(request)
        if not secret or not integration.secret_matches(secret):
            response = _error(401, "Send the integration's secret as a Bearer token.")
            response["WWW-Authenticate"] = 'Bearer realm="integrations"'
            return response
        if not integration.enabled:
            return _error(403, "This integration is disabled.")
        request.integration = integration  # type: ignore[attr-defined]
        return self.receive(request, integration)

    def receive(self, request: HttpRequest, integration: Integration) -> HttpResponse:
        declared = request.META.get("CONTENT_LENGTH") or "0"
        if not declared.isdigit() or int(declared) > MAX_BODY_BYTES:
            # "error" too, as the API and kit.bodies answer a 413.
            too_large = f"The body must be at most {MAX_BODY_BYTES} bytes."
            return _error(413, too_large, error=too_large)
        try:
            alerts = self.read(json_read(request.body))
        except BodyError as exc:
            return _error(400, exc.reason, field=exc.field)
        recorded = services.alerts_receive(integration=integration, alerts=alerts)
        return JsonResponse(
            {
                "alerts": len(alerts),
                "matched": recorded.matched,
                "probes": recorded.probes,
            }
        )

    def read(self, payload: Any) -> list[PushedAlert]:
        raise NotImplementedError


class AlertmanagerReceive(AlertsReceive):
    kind = IntegrationKind.ALERTMANAGER

    def read(self, payload: Any) -> list[PushedAlert]:
        return alertmanager_alerts(payload)


class WebhookReceive(AlertsReceive):
    kind = IntegrationKind.GENERIC

    def read(self, payload: Any) -> list[PushedAlert]:
        return generic_alerts(payload)
