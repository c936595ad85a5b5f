"""Self-service subscriptions on the public page: server-rendered, no JavaScript.

Every link a subscriber holds carries a signed token naming its purpose
(``notifications.tokens``). Views check the form, call one service and render.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_ratelimit.core import is_ratelimited  # type: ignore[import-untyped]

from incidents.models import Page
from visitor.pages import page_of

from .emails import duration
from .forms import ScopeForm, SubscribeForm
from .models import Channel, Scope, Subscriber, SubscriberState
from .services.subscribers import (
    subscriber_confirm,
    subscriber_send_test,
    subscriber_set_scope,
    subscriber_subscribe,
    subscriber_unsubscribe,
)
from .tokens import MANAGE, UNSUBSCRIBE, BadToken, subscriber_for, token_for

View = Callable[..., HttpResponse]


def private(view: View) -> View:
    """Pages holding a secret or a subscriber's token: never cached, never indexed."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        add_never_cache_headers(response)
        response["X-Robots-Tag"] = "noindex"
        return response

    return wrapper


@private
@require_http_methods(["GET", "HEAD", "POST"])
def subscribe(request: HttpRequest) -> HttpResponse:
    page = page_of(request)
    if request.method != "POST":
        form = SubscribeForm(page=page)
    elif _limited(request, "subscribe"):
        return _too_many(request, page)
    else:
        form = SubscribeForm(request.POST, page=page)
        if form.is_valid():
            try:
                subscriber, secret = subscriber_subscribe(
                    channel=form.cleaned_data["channel"],
                    email=form.cleaned_data["email"],
                    url=form.cleaned_data["url"],
                    scope=form.cleaned_data["scope"],
                    components=form.chosen_components(),
                    client_ip=request.META.get("REMOTE_ADDR"),
                    page=page,
                )
            except ValidationError as error:
                form.add_service_errors(error)
            else:
                return _subscribed(request, page, subscriber, secret)
    return render(request, "notifications/subscribe.html", {"page": page, "form": form})


def _subscribed(
    request: HttpRequest, page: Page, subscriber: Subscriber, secret: str | None
) -> HttpResponse:
    if subscriber.channel == Channel.EMAIL:
        # The same answer whether or not a mail went out (the address may be
        # subscribed already, or have had its share): it tells nobody which.
        interval = duration(settings.NOTIFICATIONS_CONFIRM_INTERVAL_SECONDS)
        context = {"page": page, "subscriber": subscriber, "confirm_interval": interval}
        return render(request, "notifications/check_inbox.html", context)
    return render(
        request,
        "notifications/created.html",
        {
            "page": page,
            "subscriber": subscriber,
            "secret": secret,
            **_links(subscriber),
        },
    )


@private
@require_GET
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    try:
        subscriber = subscriber_confirm(token=token)
    except BadToken as error:
        return _bad_link(request, error)
    return render(
        request,
        "notifications/confirmed.html",
        {"page": subscriber.page, "subscriber": subscriber, **_links(subscriber)},
    )


@private
@require_http_methods(["GET", "HEAD", "POST"])
def manage(request: HttpRequest, token: str) -> HttpResponse:
    try:
        subscriber = subscriber_for(token, MANAGE)
    except BadToken as error:
        return _bad_link(request, error)
    live = subscriber.state != SubscriberState.UNSUBSCRIBED
    if request.method == "POST" and live:
        form = ScopeForm(request.POST, page=subscriber.page)
        if form.is_valid():
            try:
                subscriber_set_scope(
                    subscriber=subscriber,
                    scope=form.cleaned_data["scope"],
                    components=form.chosen_components(),
                )
            except ValidationError as error:
                form.add_service_errors(error)
            else:
                messages.success(request, "Your choices are saved.")
                return redirect(request.path)
    else:
        form = ScopeForm(initial=_current_scope(subscriber), page=subscriber.page)
    return render(
        request,
        "notifications/manage.html",
        {
            "page": subscriber.page,
            "subscriber": subscriber,
            "form": form,
            **_links(subscriber),
        },
    )


def _current_scope(subscriber: Subscriber) -> dict[str, Any]:
    if subscriber.scope != Scope.COMPONENTS:
        return {"scope": Scope.PAGE}
    return {"scope": Scope.COMPONENTS, "components": subscriber.components.all()}


# The token in the URL authenticates, and RFC 8058 one-click unsubscribe POSTs
# come from mail providers, which have no CSRF token. A GET changes nothing: link
# scanners follow GETs.
@private
@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    try:
        subscriber = subscriber_for(token, UNSUBSCRIBE)
    except BadToken as error:
        return _bad_link(request, error)
    if request.method == "POST" and subscriber.state != SubscriberState.UNSUBSCRIBED:
        subscriber = subscriber_unsubscribe(subscriber=subscriber)
    gone = subscriber.state == SubscriberState.UNSUBSCRIBED
    template = "unsubscribed.html" if gone else "unsubscribe.html"
    return render(
        request,
        f"notifications/{template}",
        {"page": subscriber.page, "subscriber": subscriber, **_links(subscriber)},
    )


@private
@require_POST
def send_test(request: HttpRequest, token: str) -> HttpResponse:
    try:
        subscriber = subscriber_for(token, MANAGE)
    except BadToken as error:
        return _bad_link(request, error)
    if _limited(request, "send_test"):
        return _too_many(request, subscriber.page)
    if subscriber.state != SubscriberState.ACTIVE:
        messages.error(request, "Only an active subscription can get a test event.")
    else:
        subscriber_send_test(subscriber=subscriber)
        messages.success(request, "A test event is on its way.")
    return redirect("notifications:manage", token=token)


# Helpers ------------------------------------------------------------------------------


def _links(subscriber: Subscriber) -> dict[str, str]:
    manage_token = token_for(subscriber, MANAGE)
    return {
        "manage_url": reverse("notifications:manage", args=[manage_token]),
        "test_url": reverse("notifications:send_test", args=[manage_token]),
        "unsubscribe_url": reverse(
            "notifications:unsubscribe", args=[token_for(subscriber, UNSUBSCRIBE)]
        ),
    }


def _limited(request: HttpRequest, action: str) -> bool:
    """Counts every POST from the client's address, accepted or not."""
    return is_ratelimited(
        request,
        group=f"notifications.{action}",
        key="ip",
        rate=settings.SUBSCRIBE_RATE,
        method="POST",
        increment=True,
    )


def _too_many(request: HttpRequest, page: Page) -> HttpResponse:
    return render(request, "notifications/limited.html", {"page": page}, status=429)


def _bad_link(request: HttpRequest, error: BadToken) -> HttpResponse:
    return render(
        request,
        "notifications/bad_link.html",
        {"page": page_of(request), "reason": str(error)},
        status=400,
    )
