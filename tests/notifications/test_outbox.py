"""The outbox and the fan-out: one event per change, one delivery per subscriber."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from incidents import services
from notifications.models import (
    Channel,
    Delivery,
    DeliveryState,
    Event,
    Scope,
    Subscriber,
    SubscriberState,
)
from notifications.services import delivery
from tests.conftest import (
    make_component,
    make_group,
    make_incident,
    make_maintenance,
    make_page,
)
from tests.notifications.conftest import queued_send_batches

pytestmark = pytest.mark.django_db


def subscriber(channel: str = Channel.EMAIL, **fields: Any) -> Subscriber:
    components = fields.pop("components", [])
    defaults: dict[str, Any] = {
        "email": f"user{Subscriber.objects.count()}@example.com",
        "state": SubscriberState.ACTIVE,
    }
    if channel != Channel.EMAIL:
        defaults["url"] = "https://hooks.example.com/status"
    created = Subscriber.objects.create(channel=channel, **{**defaults, **fields})
    created.components.set(components)
    return created


def test_it_records_an_event_with_the_statuspage_body() -> None:
    make_page(name="Acme")
    api = make_component(name="API")
    incident = make_incident(
        name="API errors", component_statuses={api: "major_outage"}
    )

    created = Event.objects.get(kind="incident.created")
    assert created.incident == incident
    assert created.subject == "[Acme] Investigating: API errors"
    assert set(created.payload) == {"page", "incident"}
    assert created.payload["incident"]["id"] == incident.public_id
    assert created.payload["incident"]["incident_updates"][0]["body"] == (
        "Looking into it."
    )
    assert created.payload["page"]["status_indicator"] == "critical"
    assert created.component_ids == [api.pk]
    component = Event.objects.get(kind="component.updated")
    assert component.payload["component_update"]["new_status"] == "major_outage"
    assert component.payload["component"]["id"] == api.public_id


def test_it_writes_no_event_when_the_change_is_refused() -> None:
    api = make_component(name="API")
    services.component_delete(component=api)
    with pytest.raises(ValidationError):
        make_incident(component_statuses={api: "major_outage"})
    assert not Event.objects.exists()


def test_it_records_no_incident_event_when_staff_ask_for_silence() -> None:
    incident = make_incident()
    services.incident_post_update(
        incident=incident, status="monitoring", deliver_notifications=False
    )
    assert list(Event.objects.values_list("kind", flat=True)) == ["incident.created"]


def test_it_queues_the_fan_out_only_after_the_commit(
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        make_incident()
    assert Event.objects.count() == 1
    names = [getattr(c, "__qualname__", "") for c in callbacks]
    queued = [name for name in names if name.startswith("after_commit.")]
    assert len(queued) == 1, callbacks


def test_it_plans_one_delivery_per_concerned_subscriber() -> None:
    web = make_group(name="Web")
    login = make_component(name="Login", group=web)
    api = make_component(name="API")
    everyone = subscriber()
    login_only = subscriber(scope=Scope.COMPONENTS, components=[login])
    web_group = subscriber(scope=Scope.COMPONENTS, components=[web])
    api_only = subscriber(scope=Scope.COMPONENTS, components=[api])
    subscriber(state=SubscriberState.PENDING)
    subscriber(state=SubscriberState.UNSUBSCRIBED, email="gone@example.com")
    make_incident(component_statuses={login: "partial_outage"})
    event = Event.objects.get(kind="incident.created")

    delivery.event_fan_out(event_id=event.pk)

    planned = set(
        Delivery.objects.filter(event=event).values_list("subscriber", flat=True)
    )
    assert planned == {everyone.pk, login_only.pk, web_group.pk}
    assert api_only.pk not in planned
    event.refresh_from_db()
    assert event.fanned_out_at is not None


@pytest.mark.usefixtures("notifications_queue")
def test_it_queues_webhook_batches_first_and_mail_in_its_own_size(
    settings: Any,
) -> None:
    settings.NOTIFICATIONS_BATCH_SIZE = 2
    settings.NOTIFICATIONS_URL_BATCH_SIZE = 3
    mail = {subscriber().pk for _ in range(5)}
    hooks = {subscriber(Channel.WEBHOOK, signing_secret="whsec_x").pk for _ in range(4)}
    make_incident()
    event = Event.objects.get(kind="incident.created")
    queued_send_batches()  # anything an earlier step queued

    assert delivery.event_fan_out(event_id=event.pk) == 9

    batches = queued_send_batches()
    assert [len(batch) for batch in batches] == [3, 1, 2, 2, 1]
    owners = dict(Delivery.objects.values_list("pk", "subscriber"))
    by_batch = [{owners[pk] for pk in batch} for batch in batches]
    assert by_batch[0] | by_batch[1] == hooks
    assert by_batch[2] | by_batch[3] | by_batch[4] == mail
    assert not Delivery.objects.filter(queued_at__isnull=True).exists()


def test_it_plans_maintenance_for_the_maintained_components_only() -> None:
    db = make_component(name="Database")
    api = make_component(name="API")
    db_people = subscriber(scope=Scope.COMPONENTS, components=[db])
    api_people = subscriber(scope=Scope.COMPONENTS, components=[api])
    make_maintenance(components=[db])
    event = Event.objects.get(kind="maintenance.scheduled")

    delivery.event_fan_out(event_id=event.pk)

    planned = list(Delivery.objects.values_list("subscriber", flat=True))
    assert planned == [db_people.pk]
    assert api_people.pk not in planned


def test_it_tells_only_webhooks_of_component_changes() -> None:
    api = make_component(name="API")
    mail = subscriber()
    hook = subscriber(Channel.WEBHOOK)
    services.component_set_status(component=api, status="major_outage", source="staff")
    event = Event.objects.get(kind="component.updated")

    delivery.event_fan_out(event_id=event.pk)

    assert list(Delivery.objects.values_list("subscriber", flat=True)) == [hook.pk]
    assert mail.pk not in Delivery.objects.values_list("subscriber", flat=True)


def test_it_tells_incident_subscribers_of_their_incident_only() -> None:
    watched = make_incident(name="Watched")
    other = make_incident(name="Other")
    follower = subscriber(scope=Scope.INCIDENT, incident=watched)
    services.incident_post_update(incident=watched, status="identified")
    services.incident_post_update(incident=other, status="identified")

    for event in Event.objects.filter(kind="incident.updated"):
        delivery.event_fan_out(event_id=event.pk)

    assert list(Delivery.objects.values_list("event__incident", flat=True)) == [
        watched.pk
    ]
    assert Delivery.objects.get().subscriber == follower


def test_it_fans_out_once_however_often_it_runs() -> None:
    for _ in range(3):
        subscriber()
    make_incident()
    event = Event.objects.get()

    delivery.event_fan_out(event_id=event.pk)
    delivery.event_fan_out(event_id=event.pk)

    assert Delivery.objects.count() == 3


def test_it_refuses_a_second_delivery_for_the_same_subscriber() -> None:
    person = subscriber()
    make_incident()
    event = Event.objects.get()
    Delivery.objects.create(event=event, subscriber=person)
    with pytest.raises(IntegrityError), transaction.atomic():
        Delivery.objects.create(event=event, subscriber=person)


def test_it_publishes_in_the_same_number_of_queries_whatever_the_subscribers(
    django_assert_max_num_queries: Any,
) -> None:
    """Publishing never waits on delivery: the fan-out happens in a task."""
    api = make_component(name="API")
    incident = make_incident(component_statuses={api: "partial_outage"})

    def post() -> None:
        services.incident_post_update(
            incident=incident, status="identified", body="Found it"
        )

    with django_assert_max_num_queries(60) as few:
        post()
    Subscriber.objects.bulk_create(
        [
            Subscriber(channel=Channel.EMAIL, email=f"u{n}@example.com", state="active")
            for n in range(500)
        ]
    )
    with django_assert_max_num_queries(len(few.captured_queries)):
        post()


def test_it_sweeps_up_an_event_that_was_never_fanned_out() -> None:
    subscriber()
    make_incident()
    event = Event.objects.get()

    delivery.deliveries_sweep(now=timezone.now() + dt.timedelta(minutes=5))

    event.refresh_from_db()
    assert event.fanned_out_at is not None
    assert Delivery.objects.filter(event=event).count() == 1


def test_it_returns_abandoned_claims_to_the_queue() -> None:
    person = subscriber()
    make_incident()
    event = Event.objects.get()
    claimed_long_ago = timezone.now() - dt.timedelta(hours=1)
    stuck = Delivery.objects.create(
        event=event,
        subscriber=person,
        state=DeliveryState.SENDING,
        claimed_at=claimed_long_ago,
        queued_at=claimed_long_ago,
    )
    Event.objects.update(fanned_out_at=timezone.now())

    queued = delivery.deliveries_sweep()

    stuck.refresh_from_db()
    assert stuck.state == DeliveryState.PENDING
    assert queued == 1


def test_it_leaves_a_fresh_claim_alone() -> None:
    person = subscriber()
    make_incident()
    event = Event.objects.get()
    Event.objects.update(fanned_out_at=timezone.now())
    sending = Delivery.objects.create(
        event=event,
        subscriber=person,
        state=DeliveryState.SENDING,
        claimed_at=timezone.now(),
        queued_at=timezone.now(),
    )

    assert delivery.deliveries_sweep() == 0
    sending.refresh_from_db()
    assert sending.state == DeliveryState.SENDING


def test_it_sends_nothing_for_a_claimed_or_delivered_delivery() -> None:
    person = subscriber()
    make_incident()
    event = Event.objects.get()
    done = Delivery.objects.create(
        event=event, subscriber=person, state=DeliveryState.DELIVERED
    )

    assert delivery.deliveries_send(delivery_ids=[done.pk]) == []
    done.refresh_from_db()
    assert done.attempts == 0


def test_it_cancels_deliveries_to_someone_who_left() -> None:
    person = subscriber()
    make_incident()
    event = Event.objects.get()
    planned = Delivery.objects.create(event=event, subscriber=person)
    Subscriber.objects.filter(pk=person.pk).update(state=SubscriberState.UNSUBSCRIBED)

    assert delivery.deliveries_send(delivery_ids=[planned.pk]) == []
    planned.refresh_from_db()
    assert planned.state == DeliveryState.CANCELLED


@pytest.mark.parametrize(
    ("attempts", "low", "high"),
    [(1, 4, 6), (2, 48, 72), (5, 2880, 4320), (9, 23040, 34560)],
)
def test_it_backs_off_with_jitter(attempts: int, low: float, high: float) -> None:
    for _ in range(20):
        delay = delivery.retry_delay(attempts)
        assert delay is not None
        assert low <= delay.total_seconds() <= high


def test_it_gives_up_after_about_a_day() -> None:
    total = sum(delivery.RETRY_DELAYS)
    assert 20 * 3600 <= total <= 28 * 3600
    assert delivery.retry_delay(len(delivery.RETRY_DELAYS) + 1) is None
