"""Management API v1: subscribers, on Statuspage's paths, and their deliveries.

Every change goes through ``notifications.services.subscribers``, as the public sign-up
and the console do (so an endpoint is held to the same address rules). A refusal of what
was sent is a 400 naming the API's field; one that depends on the subscriber's or
delivery's state (already confirmed, not quarantined, being sent) is a 409."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import Throttled
from rest_framework.request import Request
from rest_framework.response import Response

from incidents.api.v1.base import ResourceViewSet
from incidents.models import Component, Page
from kit.api.base import by_public_id, conflicts, envelope, read_filters, refusals
from notifications.models import Channel, Delivery, Scope, Subscriber
from notifications.services import subscribers as services

from . import serializers as s

# The services' names for what the API calls otherwise; the scope follows from
# component_ids, so a refused scope is a refused component_ids.
RENAMED = {
    "channel": "mode",
    "url": "endpoint",
    "components": "component_ids",
    "scope": "component_ids",
}


def all_deliveries() -> QuerySet[Delivery]:
    return Delivery.objects.select_related("subscriber", "event__incident").order_by(
        "-created_at", "-id"
    )


def deliveries_matching(
    queryset: QuerySet[Delivery], filters: dict[str, Any]
) -> QuerySet[Delivery]:
    if "state" in filters:
        queryset = queryset.filter(state=filters["state"])
    if "channel" in filters:
        queryset = queryset.filter(subscriber__channel=filters["channel"])
    if "incident_id" in filters:
        queryset = queryset.filter(event__incident__public_id=filters["incident_id"])
    return queryset


def components_named(ids: list[str], page: Page) -> list[Component]:
    """The live components (groups too) of ``page`` for ``component_ids``, or a
    400."""
    shown = Component.objects.live().filter(pages=page)
    return by_public_id(shown, ids, "subscriber.component_ids")


@extend_schema(tags=["subscribers"])
class SubscriberViewSet(ResourceViewSet):
    """Subscribers by email, webhook, Slack or Teams. Creating one with `email`
    mails a confirmation link (double opt-in) unless
    `skip_confirmation_notification` is true; one with `endpoint` is a webhook,
    active at once. `component_ids` limits what a subscriber hears of (none: the
    whole page). Deleting unsubscribes and keeps the record, as Statuspage does."""

    serializer_class = s.SubscriberSerializer
    body_key = "subscriber"
    permission_model = "notifications.subscriber"
    action_permissions = {
        "resend_confirmation": "notifications.change_subscriber",
        "reactivate": "notifications.change_subscriber",
        "send_test": "notifications.change_subscriber",
        "deliveries": "notifications.view_delivery",
    }

    def get_queryset(self) -> QuerySet[Subscriber]:
        components = Prefetch(
            "components", queryset=Component.objects.order_by("position", "id")
        )
        return (
            Subscriber.objects.filter(page=self.page)
            .select_related("incident")
            .prefetch_related(components)
            .order_by("-created_at", "-id")
        )

    def matching(self) -> QuerySet[Subscriber]:
        filters = read_filters(s.SubscriberFilter, self.request)
        subscribers = self.get_queryset().filter(state__in=s.STATES[filters["state"]])
        mode = filters.get("type")
        if mode in s.STATUSPAGE_ONLY_TYPES:
            return subscribers.none()
        if mode:
            subscribers = subscribers.filter(channel=mode)
        text = filters.get("q", "").strip()
        if text:
            # Slack and Teams addresses are not shown, so they are not searched.
            in_url = Q(url__icontains=text, channel=Channel.WEBHOOK)
            subscribers = subscribers.filter(Q(email__icontains=text) | in_url)
        return subscribers

    @extend_schema(parameters=[s.SubscriberFilter])
    def list(self, request: Request, **kwargs: Any) -> Response:
        return self.listing(self.matching())

    @extend_schema(parameters=[s.SubscriberFilter], responses=s.CountSerializer)
    @action(detail=False, pagination_class=None)
    def count(self, request: Request, page_id: str) -> Response:
        return Response({"count": self.matching().count()})

    @extend_schema(
        request=envelope("subscriber", s.SubscriberInput),
        responses={201: s.CreatedSubscriberSerializer},
    )
    def create(self, request: Request, page_id: str) -> Response:
        """Subscribe an address. A webhook's signing secret is in this answer only:
        keep it to check the signatures; it is never shown again."""
        fields = self.read_body(s.SubscriberInput)
        components = components_named(fields.get("component_ids") or [], self.page)
        with refusals("subscriber", RENAMED):
            subscriber, secret = services.subscriber_subscribe(
                channel=fields["mode"],
                email=fields.get("email", ""),
                url=fields.get("endpoint", ""),
                scope=Scope.COMPONENTS if components else Scope.PAGE,
                components=components,
                client_ip=request.META.get("REMOTE_ADDR"),
                skip_confirmation=fields["skip_confirmation_notification"],
                page=self.page,
            )
        created = self.get_queryset().get(pk=subscriber.pk)
        body = {**self.get_serializer(created).data, "signing_secret": secret}
        return Response(body, status=201)

    @extend_schema(request=envelope("subscriber", s.SubscriberChangeInput))
    def partial_update(self, request: Request, page_id: str, pk: str) -> Response:
        subscriber = self.get_object()
        fields = self.read_body(s.SubscriberChangeInput, partial=True)
        if "component_ids" in fields:
            components = components_named(fields["component_ids"], self.page)
            with refusals("subscriber", RENAMED):
                services.subscriber_set_scope(
                    subscriber=subscriber,
                    scope=Scope.COMPONENTS if components else Scope.PAGE,
                    components=components,
                )
        return self.respond(self.get_queryset().get(pk=subscriber.pk))

    @extend_schema(request=envelope("subscriber", s.SubscriberChangeInput))
    def update(self, request: Request, page_id: str, pk: str) -> Response:
        return self.partial_update(request, page_id, pk)

    @extend_schema(responses={200: s.SubscriberSerializer})
    def destroy(self, request: Request, page_id: str, pk: str) -> Response:
        subscriber = services.subscriber_unsubscribe(subscriber=self.get_object())
        return self.respond(self.get_queryset().get(pk=subscriber.pk))

    @extend_schema(request=None, responses={201: s.SubscriberSerializer})
    @action(detail=True, methods=["post"])
    def resend_confirmation(self, request: Request, page_id: str, pk: str) -> Response:
        subscriber = self.get_object()
        try:
            with conflicts():
                services.subscriber_resend_confirmation(subscriber=subscriber)
        except services.ConfirmationLimited as limited:
            raise Throttled(wait=limited.retry_after, detail=str(limited)) from None
        return self.respond(subscriber, status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=s.SubscriberSerializer)
    @action(detail=True, methods=["post"])
    def reactivate(self, request: Request, page_id: str, pk: str) -> Response:
        subscriber = self.get_object()
        with conflicts():
            services.subscriber_reactivate(subscriber=subscriber)
        return self.respond(self.get_queryset().get(pk=subscriber.pk))

    @extend_schema(request=None, responses={201: s.DeliverySerializer})
    @action(detail=True, methods=["post"], serializer_class=s.DeliverySerializer)
    def send_test(self, request: Request, page_id: str, pk: str) -> Response:
        subscriber = self.get_object()
        with conflicts():
            delivery = services.subscriber_send_test(subscriber=subscriber)
        return self.respond(all_deliveries().get(pk=delivery.pk), 201)

    @extend_schema(
        parameters=[s.DeliveryFilter], responses=s.DeliverySerializer(many=True)
    )
    @action(detail=True, serializer_class=s.DeliverySerializer)
    def deliveries(self, request: Request, page_id: str, pk: str) -> Response:
        mine = all_deliveries().filter(subscriber=self.get_object())
        return self.listing(
            deliveries_matching(mine, read_filters(s.DeliveryFilter, request))
        )


@extend_schema(tags=["deliveries"])
class DeliveryViewSet(ResourceViewSet):
    """Deliveries: one event (an incident's news, a component's change, a test) for
    one subscriber, newest first, with its attempts and last error. Resending
    queues it again under the same id, so receivers can drop a repeat."""

    serializer_class = s.DeliverySerializer
    permission_model = "notifications.delivery"
    action_permissions = {"resend": "notifications.change_delivery"}

    def get_queryset(self) -> QuerySet[Delivery]:
        return all_deliveries().filter(subscriber__page=self.page)

    @extend_schema(parameters=[s.DeliveryFilter])
    def list(self, request: Request, **kwargs: Any) -> Response:
        filters = read_filters(s.DeliveryFilter, request)
        return self.listing(deliveries_matching(self.get_queryset(), filters))

    @extend_schema(request=None, responses={202: s.DeliverySerializer})
    @action(detail=True, methods=["post"])
    def resend(self, request: Request, page_id: str, pk: str) -> Response:
        delivery = self.get_object()
        with conflicts():
            services.delivery_resend(delivery=delivery)
        return self.respond(self.get_queryset().get(pk=delivery.pk), 202)
