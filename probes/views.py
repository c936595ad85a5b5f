from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from . import services


@csrf_exempt  # called by cron jobs and scripts, authenticated by the secret URL
@require_http_methods(["GET", "HEAD", "POST"])
def heartbeat(request: HttpRequest, token: str) -> HttpResponse:
    if services.heartbeat_record(token=token):
        return HttpResponse("OK\n", content_type="text/plain")
    return HttpResponse("No heartbeat probe has this address.\n", status=404)
