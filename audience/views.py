"""A private page's sign-in: its password, a sign-in link by email, or the
console's sign-in for staff. Each way in ends with a viewer's pass (a cookie)."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import get_script_prefix, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from django_ratelimit.core import is_ratelimited  # type: ignore[import-untyped]

from access.permissions import user_may
from incidents.models import Page

from .models import PageAccess
from .rules import Rules, cookie_name, pass_make, private_headers
from .selectors import rules_for
from .services import LinkRefused, link_redeem, link_request, password_matches


def give_pass(
    response: HttpResponseBase, rules: Rules, *, method: str, who: str
) -> None:
    """Let this browser in until the pass expires or the page's rules change."""
    response.set_cookie(
        cookie_name(rules.page_id),
        pass_make(rules, method=method, who=who),
        max_age=settings.AUDIENCE_PASS_MAX_AGE_SECONDS,
        path=get_script_prefix(),
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


def staff_may_view(request: HttpRequest, access: PageAccess) -> bool:
    user = getattr(request, "user", None) or AnonymousUser()
    return (
        access.allow_staff
        and user.is_authenticated
        and user.is_staff
        and user_may(user, "incidents.view_page")
    )


def _page(request: HttpRequest) -> Page:
    return getattr(request, "page", None) or Page.get()


def _next(request: HttpRequest) -> str:
    """Where to go once in: a path of this site, else the page's front."""
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    safe = wanted.startswith("/") and url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return wanted if safe else reverse("public:index")


def _limited(request: HttpRequest, action: str) -> bool:
    return is_ratelimited(
        request,
        group=f"audience.{action}",
        key="ip",
        rate=settings.AUDIENCE_RATE,
        method="POST",
        increment=True,
    )


def _gate(
    request: HttpRequest,
    access: PageAccess | None,
    *,
    status: int = 200,
    error: str = "",
    sent: bool = False,
) -> HttpResponse:
    context = {
        "page": _page(request),
        "access": access,
        "next": _next(request),
        "error": error,
        "sent": sent,
        "login_url": f"{reverse('account_login')}?"
        + urlencode({"next": request.get_full_path()}),
    }
    response = render(request, "audience/gate.html", context, status=status)
    private_headers(response)
    return response


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def gate(request: HttpRequest) -> HttpResponse:
    """The sign-in of a private page; a POST gives its password."""
    access, rules = rules_for(_page(request))
    if access is None or rules is None:
        return redirect(_next(request))  # a public page needs no sign-in
    if request.method != "POST":
        if staff_may_view(request, access):
            response = redirect(_next(request))
            give_pass(response, rules, method="staff", who=request.user.get_username())
            return response
        return _gate(request, access)
    if _limited(request, "password"):
        return _gate(request, access, status=429, error="Too many tries: wait a while.")
    if not password_matches(access, request.POST.get("password", "")):
        return _gate(request, access, status=403, error="That password is not right.")
    response = redirect(_next(request))
    give_pass(response, rules, method="password", who="")
    return response


def _link_base(page: Page, request: HttpRequest) -> str:
    """Where a mailed link leads: on the page's own address when it has one, never
    on a Host header a visitor chose."""
    path = reverse("audience:enter")
    if page.url:
        parts = urlsplit(page.url)
        return f"{parts.scheme}://{parts.netloc}{path}"
    return request.build_absolute_uri(path)


@never_cache
@require_http_methods(["POST"])
def link(request: HttpRequest) -> HttpResponse:
    """Ask for a sign-in link by email; the answer never tells whether the address
    may have one."""
    access, rules = rules_for(_page(request))
    if access is None or rules is None or not access.email_domains:
        return redirect(reverse("audience:gate"))
    if _limited(request, "link"):
        return _gate(
            request, access, status=429, error="Too many requests: wait a while."
        )
    base = _link_base(_page(request), request)
    try:
        link_request(
            page=_page(request), email=request.POST.get("email", ""), link_base=base
        )
    except Exception as error:  # noqa: BLE001  a ValidationError names the field
        messages = getattr(error, "messages", None)
        if messages is None:
            raise
        return _gate(request, access, status=400, error=" ".join(messages))
    return _gate(request, access, sent=True)


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def enter(request: HttpRequest) -> HttpResponse:
    """A mailed sign-in link. A GET only asks to confirm (mail scanners follow
    links), the POST lets the browser in."""
    token = request.POST.get("token") or request.GET.get("token") or ""
    page = _page(request)
    if request.method != "POST":
        response = render(
            request, "audience/enter.html", {"page": page, "token": token}
        )
        private_headers(response)
        return response
    try:
        viewer = link_redeem(token=token, page=page)
    except LinkRefused as refused:
        access, _ = rules_for(page)
        return _gate(request, access, status=403, error=str(refused))
    _, rules = rules_for(page)
    assert rules is not None  # link_redeem checked the page is private
    response = redirect(reverse("public:index"))
    give_pass(response, rules, method="email", who=viewer.email)
    return response
