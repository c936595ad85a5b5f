"""The console's sign-in address, and the QR code of an authenticator app."""

from __future__ import annotations

from typing import Any

from allauth.mfa.adapter import get_adapter
from allauth.mfa.totp.internal.auth import SECRET_SESSION_KEY
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.cache import never_cache


def admin_login(request: HttpRequest, extra_context: Any = None) -> HttpResponse:
    """/admin/login/ signs nobody in: it leads to the sign-in page (password, then
    the code), keeping where to go next. A POST here is not a sign-in either."""
    next_url = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = ""
    next_url = next_url or reverse("admin:index")
    if request.user.is_authenticated:
        if not request.user.is_staff:
            # Signed in, but not staff: sending them to sign in would loop.
            raise PermissionDenied("This account has no access to the console.")
        return HttpResponseRedirect(next_url)
    return HttpResponseRedirect(
        f"{reverse('account_login')}?{urlencode({'next': next_url})}"
    )


@never_cache
@login_required
def totp_qr_code(request: HttpRequest) -> HttpResponse:
    """The QR code of the secret that the enrolment page shows, as an image of
    this site: a data: address would need the Content-Security-Policy to allow
    it."""
    secret = request.session.get(SECRET_SESSION_KEY)
    if not secret:
        raise Http404("No authenticator app is being set up.")
    adapter = get_adapter()
    svg = adapter.build_totp_svg(adapter.build_totp_url(request.user, secret))
    return HttpResponse(svg, content_type="image/svg+xml")
