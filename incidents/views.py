from __future__ import annotations

from django.http import HttpRequest, HttpResponse


def index(request: HttpRequest) -> HttpResponse:
    return HttpResponse("Heliograph")


def history(request: HttpRequest) -> HttpResponse:
    return HttpResponse("history")


def incident_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    return HttpResponse(public_id)
