"""What the staff console's admins share across apps."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

_SECRET = "_heliograph_shown_once"


def staff_member(request: HttpRequest) -> AbstractBaseUser:
    """The signed-in user: the admin lets no one else reach its views."""
    user = request.user
    assert isinstance(user, AbstractBaseUser)
    return user


class ShownOnceAdmin(admin.ModelAdmin):
    """An admin whose add view makes a secret and shows it on the next page only.

    ``save_model`` hands the secret to ``show_once``; the page after it is
    ``shown_once_template`` with ``object``, ``secret`` and ``shown_once_context``.
    The secret goes in that one response and is kept nowhere, not even in the
    session: there is no page to come back to for it. (The admin's views already
    send Cache-Control: no-store.)
    """

    shown_once_template = ""
    shown_once_title = ""

    def show_once(self, request: HttpRequest, secret: str) -> None:
        setattr(request, _SECRET, secret)

    def shown_once_context(self, request: HttpRequest, obj: Any) -> dict[str, Any]:
        return {}

    def response_add(
        self, request: HttpRequest, obj: Any, post_url_continue: str | None = None
    ) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": self.shown_once_title,
            "object": obj,
            "secret": getattr(request, _SECRET),
            **self.shown_once_context(request, obj),
        }
        return TemplateResponse(request, self.shown_once_template, context)
