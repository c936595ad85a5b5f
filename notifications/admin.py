"""Subscribers, events and deliveries in the staff console.

Staff read here who is told what and what each receiver answered, and act through
``notifications.services.subscribers`` (reactivate, unsubscribe, send a test, resend); a
refusal becomes a message. Nothing is edited by hand: events, deliveries and
attempts are history, and a subscriber changes only through those services.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.db.models import Case, Count, QuerySet, When
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.safestring import SafeString

from .models import (
    SECRET_URL_CHANNELS,
    Channel,
    Delivery,
    DeliveryState,
    Event,
    Subscriber,
    SubscriberState,
)
from .services.subscribers import (
    delivery_resend,
    subscriber_reactivate,
    subscriber_send_test,
    subscriber_unsubscribe,
)

T = TypeVar("T", bound=models.Model)
SHOWN_DELIVERIES = 50
SECRET_SHOWN_CHARS = 10
DELIVERIES = "admin:notifications_delivery_changelist"


def delivery_counts(event_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """Deliveries by state for each event, in one query."""
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    rows = (
        Delivery.objects.filter(event_id__in=list(event_ids))
        .order_by()
        .values_list("event_id", "state")
        .annotate(count=Count("pk"))
    )
    for event_id, state, count in rows:
        counts[event_id][state] = count
    return counts


def _counts_html(event_id: int, counts: dict[str, int]) -> SafeString | str:
    """ "98 delivered · 2 failed", each linking to those deliveries."""
    if not counts:
        return "—"
    link = f"{reverse(DELIVERIES)}?event__id__exact={event_id}&state__exact="
    return format_html_join(
        " · ",
        '<a href="{}{}">{} {}</a>',
        (
            (link, state, counts[state], state)
            for state in DeliveryState.values
            if state in counts
        ),
    )


class DeliveryHistoryAdmin(admin.ModelAdmin):
    """Rows staff read and act on, but never add, edit or delete by hand.

    The change page shows the deliveries concerned with every attempt; each POST to
    it is an action button, dispatched by ``act`` to a service.
    """

    change_form_template = "admin/notifications/change_form.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(
        self, request: HttpRequest, obj: models.Model | None = None
    ) -> bool:
        return False

    def has_resend_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("notifications.change_delivery")

    def deliveries_of(self, obj: Any) -> QuerySet[Delivery]:
        raise NotImplementedError

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            return super().change_view(request, object_id, form_url, extra_context)
        if request.method == "POST":
            self.act(request, obj)
            return HttpResponseRedirect(request.path)
        deliveries = self.deliveries_of(obj)
        context = {
            **(extra_context or {}),
            "deliveries": deliveries.select_related(
                "event", "subscriber"
            ).prefetch_related("attempt_log")[:SHOWN_DELIVERIES],
            "deliveries_total": deliveries.count(),
            "deliveries_link": self.deliveries_link(obj),
            "can_resend": self.has_resend_permission(request),
            "buttons": self.buttons(request, obj),
            # The submit row offers no "Save": nothing here is edited by hand.
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
        }
        return super().change_view(request, object_id, form_url, context)

    def deliveries_link(self, obj: Any) -> str:
        return ""

    def buttons(self, request: HttpRequest, obj: Any) -> list[tuple[str, str]]:
        return []

    def act(self, request: HttpRequest, obj: Any) -> None:
        """Run the action whose button was pressed."""
        if "_resend" not in request.POST:
            raise PermissionDenied
        if not self.has_resend_permission(request):
            raise PermissionDenied
        chosen = request.POST["_resend"]
        deliveries = self.deliveries_of(obj)
        delivery = deliveries.filter(pk=chosen).first() if chosen.isdigit() else None
        if delivery is None:
            self.message_user(request, "No such delivery here.", messages.ERROR)
            return
        self.run(request, [delivery], lambda d: delivery_resend(delivery=d), "resent")

    def run(
        self,
        request: HttpRequest,
        rows: Iterable[T],
        service: Callable[[T], object],
        done: str,
    ) -> None:
        """Call ``service`` on each row; each refusal becomes an error message."""
        count = 0
        for row in rows:
            try:
                service(row)
            except ValidationError as refusal:
                for message in refusal.messages:
                    self.message_user(request, f"{row}: {message}", messages.ERROR)
                continue
            self.log_change(request, row, done.capitalize())
            count += 1
        if count:
            noun = (
                self.opts.verbose_name if count == 1 else self.opts.verbose_name_plural
            )
            self.message_user(request, f"{done.capitalize()}: {count} {noun}.")


def url_matches(queryset: QuerySet[T], term: str, via: str = "") -> QuerySet[T]:
    """The rows whose subscriber's URL holds ``term``, among those whose URL is no
    secret: searching Slack's or Teams' would tell a secret a character at a time."""
    if not term.strip():
        return queryset.none()
    return queryset.filter(**{f"{via}url__icontains": term.strip()}).exclude(
        **{f"{via}channel__in": SECRET_URL_CHANNELS}
    )


# Subscribers ----------------------------------------------------------------------


@admin.register(Subscriber)
class SubscriberAdmin(DeliveryHistoryAdmin):
    list_display = ("target", "channel", "scope", "state", "created_at", "confirmed_at")
    list_filter = ("state", "channel", "scope")
    # URLs are searched apart (get_search_results): Slack's and Teams' are secrets.
    search_fields = ("email", "public_id")
    fields = (
        "public_id",
        "channel",
        "email",
        "shown_url",
        "signing_secret_start",
        "scope_detail",
        "state",
        "created_at",
        "confirmed_at",
        "quarantined_at",
        "unsubscribed_at",
        "created_from",
    )
    readonly_fields = fields
    actions = ["reactivate", "unsubscribe", "send_test"]

    @admin.display(description="Email or URL")
    def target(self, subscriber: Subscriber) -> str:
        return subscriber.shown_target

    @admin.display(description="URL")
    def shown_url(self, subscriber: Subscriber) -> str:
        return "" if subscriber.channel == Channel.EMAIL else subscriber.shown_target

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Subscriber], search_term: str
    ) -> tuple[QuerySet[Subscriber], bool]:
        found, duplicates = super().get_search_results(request, queryset, search_term)
        return found | url_matches(queryset, search_term), duplicates

    @admin.display(description="Signing secret")
    def signing_secret_start(self, subscriber: Subscriber) -> str:
        """Enough to tell secrets apart; the whole one was shown once, at sign-up."""
        secret = subscriber.signing_secret
        return f"{secret[:SECRET_SHOWN_CHARS]}…" if secret else "—"

    @admin.display(description="Scope")
    def scope_detail(self, subscriber: Subscriber) -> str:
        label = subscriber.get_scope_display()
        if subscriber.incident is not None:
            return f"{label}: {subscriber.incident.name}"
        names = [component.display_name for component in subscriber.components.all()]
        return f"{label}: {', '.join(names)}" if names else label

    def get_queryset(self, request: HttpRequest) -> QuerySet[Subscriber]:
        return super().get_queryset(request).select_related("incident")

    def deliveries_of(self, subscriber: Subscriber) -> QuerySet[Delivery]:
        return Delivery.objects.filter(subscriber=subscriber)

    def deliveries_link(self, subscriber: Subscriber) -> str:
        query = urlencode({"subscriber__id__exact": subscriber.pk})
        return f"{reverse(DELIVERIES)}?{query}"

    def buttons(self, request: HttpRequest, subscriber: Any) -> list[tuple[str, str]]:
        """The actions that make sense in the subscriber's state, as buttons; the
        services still refuse what a stale page asks for."""
        if not self.has_change_permission(request, subscriber):
            return []
        state = subscriber.state
        offered = {
            "reactivate": state == SubscriberState.QUARANTINED,
            "send_test": state == SubscriberState.ACTIVE,
            "unsubscribe": state != SubscriberState.UNSUBSCRIBED,
        }
        return [
            (name, getattr(self, name).short_description)
            for name, shown in offered.items()
            if shown
        ]

    def act(self, request: HttpRequest, subscriber: Any) -> None:
        action = request.POST.get("_action", "")
        if action not in self.actions:
            super().act(request, subscriber)
            return
        if not self.has_change_permission(request, subscriber):
            raise PermissionDenied
        getattr(self, action)(request, Subscriber.objects.filter(pk=subscriber.pk))

    @admin.action(description="Reactivate (quarantined only)", permissions=["change"])
    def reactivate(self, request: HttpRequest, queryset: QuerySet[Subscriber]) -> None:
        self.run(
            request,
            queryset,
            lambda s: subscriber_reactivate(subscriber=s),
            "reactivated",
        )

    @admin.action(description="Unsubscribe", permissions=["change"])
    def unsubscribe(self, request: HttpRequest, queryset: QuerySet[Subscriber]) -> None:
        self.run(
            request,
            queryset,
            lambda s: subscriber_unsubscribe(subscriber=s),
            "unsubscribed",
        )

    @admin.action(description="Send a test event", permissions=["change"])
    def send_test(self, request: HttpRequest, queryset: QuerySet[Subscriber]) -> None:
        self.run(
            request,
            queryset,
            lambda s: subscriber_send_test(subscriber=s),
            "sent a test event to",
        )


# Events ---------------------------------------------------------------------------


class EventChangeList(ChangeList):
    """Counts the listed events' deliveries by state once the page of rows is known:
    one query for the page, not a count per row or over every event."""

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        counts = delivery_counts(event.pk for event in self.result_list)
        for event in self.result_list:
            event.delivery_counts = counts.get(event.pk, {})


@admin.register(Event)
class EventAdmin(DeliveryHistoryAdmin):
    list_display = ("kind", "subject", "created_at", "fanned_out_at", "deliveries")
    list_filter = ("kind", ("fanned_out_at", admin.EmptyFieldListFilter))
    search_fields = ("subject", "public_id", "incident__name")
    fields = (
        "public_id",
        "kind",
        "subject",
        "incident",
        "created_at",
        "fanned_out_at",
        "deliveries",
        "component_ids",
        "payload_json",
    )
    readonly_fields = fields

    def has_change_permission(
        self, request: HttpRequest, obj: Event | None = None
    ) -> bool:
        return False

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return EventChangeList

    @admin.display(description="Deliveries")
    def deliveries(self, event: Event) -> SafeString | str:
        counts = getattr(event, "delivery_counts", None)
        if counts is None:  # the change page: one event
            counts = delivery_counts([event.pk]).get(event.pk, {})
        return _counts_html(event.pk, counts)

    @admin.display(description="Payload")
    def payload_json(self, event: Event) -> SafeString:
        return format_html("<pre>{}</pre>", json.dumps(event.payload, indent=2))

    def deliveries_of(self, event: Event) -> QuerySet[Delivery]:
        # What went wrong first: among thousands, the failures are what staff seek.
        settled_last = Case(
            When(state=DeliveryState.DELIVERED, then=1),
            When(state=DeliveryState.CANCELLED, then=1),
            default=0,
        )
        return Delivery.objects.filter(event=event).order_by(settled_last, "-id")

    def deliveries_link(self, event: Event) -> str:
        return f"{reverse(DELIVERIES)}?{urlencode({'event__id__exact': event.pk})}"


# Deliveries -----------------------------------------------------------------------


@admin.register(Delivery)
class DeliveryAdmin(DeliveryHistoryAdmin):
    list_display = (
        "public_id",
        "event",
        "subscriber",
        "state",
        "attempts",
        "next_attempt_at",
        "delivered_at",
        "last_error",
    )
    # Filters on choices only: listing the values of a free-text field would scan
    # every delivery on each page load.
    list_filter = ("state", "subscriber__channel")
    list_select_related = ("event", "subscriber")
    # The primary key's order (newest first) needs no sort, and no second count of
    # a table that grows by a row per subscriber per event.
    ordering = ("-id",)
    show_full_result_count = False
    search_fields = ("public_id", "subscriber__email")
    fields = (
        "public_id",
        "event",
        "subscriber",
        "state",
        "attempts",
        "next_attempt_at",
        "queued_at",
        "claimed_at",
        "delivered_at",
        "last_error",
        "created_at",
    )
    readonly_fields = fields
    actions = ["resend"]

    def has_change_permission(
        self, request: HttpRequest, obj: Delivery | None = None
    ) -> bool:
        return False

    def deliveries_of(self, delivery: Delivery) -> QuerySet[Delivery]:
        return Delivery.objects.filter(pk=delivery.pk)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Delivery], search_term: str
    ) -> tuple[QuerySet[Delivery], bool]:
        found, duplicates = super().get_search_results(request, queryset, search_term)
        return found | url_matches(queryset, search_term, "subscriber__"), duplicates

    @admin.action(description="Resend (same delivery id)", permissions=["resend"])
    def resend(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        self.run(request, queryset, lambda d: delivery_resend(delivery=d), "resent")
