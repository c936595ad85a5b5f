"""Fan an event out to its subscribers and deliver each (event, subscriber) once.

The database is the queue: a delivery row exists once per (event, subscriber), is
claimed before it is sent, and carries its own retry time. Celery tasks only carry
ids; a sweep finds what a crash or a lost task left behind.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import partial
from itertools import islice

from django.conf import settings
from django.core.mail import send_mail
from django.db import connections, transaction
from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone
from django.utils.module_loading import import_string

from audience.selectors import rules_for
from audit.recording import record
from incidents.events import Kind
from incidents.models import Page
from kit.tasks import enqueue

from ..models import (
    Attempt,
    Channel,
    Delivery,
    DeliveryState,
    Event,
    Scope,
    Subscriber,
    SubscriberState,
)
from ..rendering import message_for
from ..transports.base import Result

logger = logging.getLogger(__name__)

GONE = 410
# Seconds to wait after each failed attempt: about a day in all, then give up.
RETRY_DELAYS = [5, 60, 300, 1800, 3600, 7200, 14400, 28800, 28800]
TRANSPORTS: dict[str, str] = {
    Channel.EMAIL: "notifications.transports.email.Email",
    Channel.WEBHOOK: "notifications.transports.webhook.Webhook",
    Channel.SLACK: "notifications.transports.slack.Slack",
    Channel.TEAMS: "notifications.transports.teams.Teams",
}
ATTEMPT_ANSWER = [
    "duration_ms",
    "status_code",
    "response",
    "error",
    "succeeded",
    "permanent",
    "finished_at",
    "interrupted",
]
# Channels told of every component status change, as Statuspage's webhooks are;
# people (email, chat) hear of incidents and maintenance.
COMPONENT_CHANNELS = (Channel.WEBHOOK,)


def after_commit(send: Callable[[], object], what: str) -> None:
    """Queue work once the change commits, if the broker answers; the sweep finds it
    otherwise. The change is committed by then: a broker outage must not turn it into
    an error for the person who made it."""

    def queue() -> None:
        try:
            send()
        except Exception:
            logger.warning("could not queue %s; the sweep will", what)

    transaction.on_commit(queue)


def chunked(items: Iterable[int], size: int) -> Iterator[list[int]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def subscribers_for(event: Event) -> QuerySet[Subscriber]:
    """The active subscribers an event concerns, by scope and by channel."""
    scoped = Q(scope=Scope.PAGE) | Q(
        scope=Scope.COMPONENTS, components__in=event.component_ids
    )
    if event.incident_id is not None:
        scoped |= Q(scope=Scope.INCIDENT, incident_id=event.incident_id)
    channels = (
        Q(channel__in=COMPONENT_CHANNELS)
        if event.kind == Kind.COMPONENT_UPDATED
        else Q()
    )
    page = event.page or Page.get()
    active = Subscriber.objects.filter(state=SubscriberState.ACTIVE, page=page)
    return active.filter(scoped, channels, _still_let_in(page)).distinct()


def _still_let_in(page: Page) -> Q:
    """Of a private page's subscribers, those its rules still let in: who signed up
    under the rules as they are, or whose address is at an allowed domain. A public
    page's: all of them."""
    access, rules = rules_for(page)
    if access is None or rules is None:
        return Q()
    let_in = Q(access_version=rules.version)
    for domain in access.email_domains.split():
        let_in |= Q(channel=Channel.EMAIL, email__iendswith=f"@{domain}")
    return let_in


def batch_size(channel: str) -> int:
    """Email batches share one SMTP connection, message after message. A URL
    channel's batch is sent all at once and takes as long as its slowest receiver
    (a hanging one: the timeout), so it is larger: fewer timeouts waited in turn."""
    if channel == Channel.EMAIL:
        return settings.NOTIFICATIONS_BATCH_SIZE
    return settings.NOTIFICATIONS_URL_BATCH_SIZE


def batches(by_channel: dict[str, list[int]]) -> Iterator[list[int]]:
    """Ids in batches of one channel each, URL channels first: their few batches
    mostly wait on the network, so they hold up the mail by one timeout at most,
    while mail first would hold them up for the whole mailing."""
    for channel in sorted(by_channel, key=lambda c: c == Channel.EMAIL):
        yield from chunked(by_channel[channel], batch_size(channel))


def event_fan_out(*, event_id: int) -> int:
    """Plan one delivery per concerned subscriber and queue it, a batch at a time,
    so the first messages leave while the rest are still being planned.

    Safe to run again after a crash: the database refuses a second delivery for the
    same (event, subscriber), and queuing a delivery twice sends it once (claims).
    The event counts as fanned out only once every batch is queued.
    """
    event = Event.objects.get(pk=event_id)
    targets = subscribers_for(event).values_list("pk", "channel").order_by("pk")
    by_channel: dict[str, list[int]] = defaultdict(list)
    for pk, channel in targets.iterator(chunk_size=5000):
        by_channel[channel].append(pk)
    queued = 0
    for subscriber_ids in batches(by_channel):
        Delivery.objects.bulk_create(
            [Delivery(event=event, subscriber_id=pk) for pk in subscriber_ids],
            ignore_conflicts=True,
        )
        pending = Delivery.objects.filter(
            event=event, subscriber_id__in=subscriber_ids, state=DeliveryState.PENDING
        )
        ids = list(pending.values_list("pk", flat=True))
        if ids:
            _queue(ids)
        queued += len(ids)
    Event.objects.filter(pk=event_id).update(fanned_out_at=timezone.now())
    return queued


def deliveries_enqueue(deliveries: QuerySet[Delivery]) -> int:
    """Send send-tasks for these deliveries, in batches of one channel each."""
    by_channel: dict[str, list[int]] = defaultdict(list)
    for pk, channel in deliveries.values_list("pk", "subscriber__channel"):
        by_channel[channel].append(pk)
    for ids in batches(by_channel):
        _queue(ids)
    return sum(len(ids) for ids in by_channel.values())


def _queue(ids: list[int]) -> None:
    Delivery.objects.filter(pk__in=ids).update(queued_at=timezone.now())
    enqueue("notifications.tasks.deliveries_send", args=(ids,), queue="notifications")


@transaction.atomic
def _claim(ids: list[int], now: dt.datetime) -> list[Delivery]:
    """Claim the deliveries still due, cancel those whose subscriber left, and write
    an unfinished attempt for each of the others before anything is sent: a worker
    that dies mid-send leaves a trace of the try (see ``_claims_return``)."""
    due = list(
        Delivery.objects.select_for_update(skip_locked=True)
        .filter(pk__in=ids, state=DeliveryState.PENDING, next_attempt_at__lte=now)
        .values_list("pk", flat=True)
    )
    claimed = Delivery.objects.filter(pk__in=due).select_related(
        "event", "subscriber", "subscriber__page"
    )
    left = claimed.exclude(subscriber__state=SubscriberState.ACTIVE)
    left.update(state=DeliveryState.CANCELLED)
    claimed.filter(state=DeliveryState.PENDING).update(
        state=DeliveryState.SENDING,
        claimed_at=now,
        heartbeat_at=now,
        attempts=F("attempts") + 1,
    )
    sending = list(claimed.filter(state=DeliveryState.SENDING))
    Attempt.objects.bulk_create(
        [Attempt(delivery=d, number=d.attempts, started_at=now) for d in sending]
    )
    return sending


def deliveries_send(*, delivery_ids: list[int]) -> list[Result]:
    """Claim the deliveries still due, send them per channel, record every answer."""
    now = timezone.now()
    claimed = _claim(delivery_ids, now)
    by_channel: dict[str, list[Delivery]] = defaultdict(list)
    for delivery in claimed:
        by_channel[delivery.subscriber.channel].append(delivery)
    results: list[Result] = []
    with claims_kept_alive([d.pk for d in claimed]):
        for channel, batch in by_channel.items():
            transport = import_string(TRANSPORTS[channel])()
            sent = transport.send(
                [(d, message_for(d, d.subscriber.page)) for d in batch]
            )
            _record(batch, sent, now)
            results += sent
    return results


@contextmanager
def claims_kept_alive(ids: list[int]) -> Iterator[None]:
    """While the batch is sent, refresh its claims' ``heartbeat_at`` every
    ``NOTIFICATIONS_HEARTBEAT_SECONDS``, from a thread of its own (the sending one
    waits on receivers). A worker that dies stops refreshing, and the sweep returns
    its claims ``NOTIFICATIONS_CLAIM_TIMEOUT_SECONDS`` later, not after the longest
    a send could take.

    Claims not committed yet (a caller's open transaction) need no refreshing:
    nobody else can see them, let alone take them back.
    """
    if not ids or transaction.get_connection().in_atomic_block:
        yield
        return
    stop = threading.Event()
    beating = threading.Thread(
        target=_heartbeat, args=(ids, stop), name="delivery-heartbeat", daemon=True
    )
    beating.start()
    try:
        yield
    finally:
        stop.set()
        beating.join()


def _heartbeat(ids: list[int], stop: threading.Event) -> None:
    try:
        while not stop.wait(settings.NOTIFICATIONS_HEARTBEAT_SECONDS):
            try:
                Delivery.objects.filter(pk__in=ids, state=DeliveryState.SENDING).update(
                    heartbeat_at=timezone.now()
                )
            except Exception:
                # The next beat tries again; if none arrives, the claims are
                # returned and sent again with the same ids, which receivers drop.
                logger.warning(
                    "could not refresh the claims of %d deliveries", len(ids)
                )
    finally:
        connections.close_all()  # this thread's own connection


def retry_delay(attempts: int) -> dt.timedelta | None:
    """The wait before the next try after ``attempts`` tries, jittered by a fifth so
    that receivers coming back are not hit by everyone at once; None: give up."""
    if attempts > len(RETRY_DELAYS):
        return None
    base = RETRY_DELAYS[attempts - 1]
    return dt.timedelta(seconds=base * random.uniform(0.8, 1.2))


def _record(batch: list[Delivery], results: list[Result], started: dt.datetime) -> None:
    """Complete each delivery's attempt with its answer and settle the delivery,
    unless its claim was returned meanwhile (the sweep took this worker for dead):
    then the attempt keeps the answer, and the delivery is its next claimer's."""
    now = timezone.now()
    answers = {d.pk: result for d, result in zip(batch, results, strict=True)}
    Attempt.objects.bulk_update(
        [
            Attempt(
                pk=attempt.pk,
                duration_ms=answers[attempt.delivery_id].duration_ms,
                status_code=answers[attempt.delivery_id].status_code,
                response=answers[attempt.delivery_id].response[:300],
                error=answers[attempt.delivery_id].error[:300],
                succeeded=answers[attempt.delivery_id].ok,
                permanent=answers[attempt.delivery_id].permanent,
                finished_at=now,
                interrupted=False,  # the answer came, if late
            )
            for attempt in _attempts_of(batch, started)
        ],
        ATTEMPT_ANSWER,
    )
    still_claimed = set(
        Delivery.objects.filter(
            pk__in=answers, state=DeliveryState.SENDING, claimed_at=started
        ).values_list("pk", flat=True)
    )
    batch = [d for d in batch if d.pk in still_claimed]
    outcomes = [(d, answers[d.pk]) for d in batch]
    for delivery, result in outcomes:
        _settle(delivery, result, now)
    _save(batch, now)
    for subscriber in {d.subscriber for d, r in outcomes if r.status_code == GONE}:
        _unsubscribe_gone(subscriber)
    _quarantine_failing({d.subscriber for d, r in outcomes if not r.ok})


def _save(batch: list[Delivery], now: dt.datetime) -> None:
    """Delivered rows (most of them, usually) in one plain UPDATE; the others each
    have their own retry time."""
    delivered = [d.pk for d in batch if d.state == DeliveryState.DELIVERED]
    Delivery.objects.filter(pk__in=delivered).update(
        state=DeliveryState.DELIVERED, delivered_at=now, last_error=""
    )
    Delivery.objects.bulk_update(
        [d for d in batch if d.state != DeliveryState.DELIVERED],
        ["state", "next_attempt_at", "last_error"],
    )


def _attempts_of(batch: list[Delivery], started: dt.datetime) -> QuerySet[Attempt]:
    """The attempts ``_claim`` wrote for this batch at ``started``."""
    return Attempt.objects.filter(delivery__in=batch, started_at=started).only(
        "pk", "delivery_id"
    )


def _unsubscribe_gone(subscriber: Subscriber) -> None:
    """A receiver that answers 410 Gone has asked to be forgotten."""
    gone = (
        Subscriber.objects.filter(pk=subscriber.pk)
        .exclude(state=SubscriberState.UNSUBSCRIBED)
        .update(state=SubscriberState.UNSUBSCRIBED, unsubscribed_at=timezone.now())
    )
    if gone:
        _record_state(subscriber, SubscriberState.UNSUBSCRIBED, "answered 410 Gone")
    Delivery.objects.filter(subscriber=subscriber, state=DeliveryState.PENDING).update(
        state=DeliveryState.CANCELLED
    )


def _quarantine_failing(subscribers: set[Subscriber]) -> None:
    """Stop sending to URLs that keep failing, and tell their contacts.

    Email has its own bounce handling; a webhook with QUARANTINE_FAILURES failed
    attempts within the last hour is set aside until staff reactivate it.
    """
    watched = {s.pk: s for s in subscribers if s.channel != Channel.EMAIL}
    if not watched:
        return
    since = timezone.now() - dt.timedelta(hours=1)
    failing = (
        Attempt.objects.filter(
            delivery__subscriber__in=watched,
            succeeded=False,
            # A worker's death is no failure of the receiver's.
            interrupted=False,
            finished_at__isnull=False,
            started_at__gte=since,
        )
        .values("delivery__subscriber")
        .annotate(failures=Count("pk"))
        .filter(failures__gte=settings.NOTIFICATIONS_QUARANTINE_FAILURES)
        .values_list("delivery__subscriber", "failures")
    )
    for pk, failures in failing:
        quarantined = Subscriber.objects.filter(
            pk=pk, state=SubscriberState.ACTIVE
        ).update(state=SubscriberState.QUARANTINED, quarantined_at=timezone.now())
        if quarantined:
            reason = f"{failures} failed attempts within an hour"
            _record_state(watched[pk], SubscriberState.QUARANTINED, reason)
            transaction.on_commit(partial(_tell_contact, watched[pk], failures))


def _record_state(subscriber: Subscriber, state: str, reason: str) -> None:
    """The audit row of a state changed by a conditional UPDATE (no signal)."""
    record(
        "changed",
        instance=subscriber,
        changes={"state": [subscriber.state, state], "reason": [None, reason]},
    )


def _tell_contact(subscriber: Subscriber, failures: int) -> None:
    if not subscriber.email:
        return
    page = subscriber.page
    send_mail(
        subject=f"[{page.name}] Your webhook was paused after repeated failures",
        message=(
            f"{failures} deliveries to {subscriber.url} failed within an hour, so "
            f"{page.name} has stopped sending to it. Once it works again, ask the "
            "page's staff to reactivate it."
        ),
        from_email=None,
        recipient_list=[subscriber.email],
        fail_silently=True,
    )


def _settle(delivery: Delivery, result: Result, now: dt.datetime) -> None:
    delivery.last_error = result.error[:300]
    if result.ok:
        delivery.state, delivery.delivered_at = DeliveryState.DELIVERED, now
        return
    delay = None if result.permanent else retry_delay(delivery.attempts)
    if delay is None:
        delivery.state = DeliveryState.FAILED
        return
    delivery.state, delivery.next_attempt_at = DeliveryState.PENDING, now + delay


def deliveries_sweep(*, now: dt.datetime | None = None) -> int:
    """Put back what was lost (periodic).

    1. Events committed but never fanned out (the process died after the commit).
    2. Claims whose worker stopped refreshing them (it died) go back to pending,
       their attempts marked interrupted.
    3. Deliveries due and not queued since they became due (retries, lost tasks).
    """
    now = now or timezone.now()
    grace = dt.timedelta(seconds=settings.NOTIFICATIONS_SWEEP_GRACE_SECONDS)
    for event_id in Event.objects.filter(
        fanned_out_at__isnull=True, created_at__lte=now - grace
    ).values_list("pk", flat=True):
        event_fan_out(event_id=event_id)
    _claims_return(now)
    lost = Q(queued_at__isnull=True) | Q(queued_at__lte=now - grace)
    due = Delivery.objects.filter(
        lost | Q(queued_at__lt=F("next_attempt_at")),
        state=DeliveryState.PENDING,
        next_attempt_at__lte=now,
    )
    return deliveries_enqueue(due)


INTERRUPTED = "Interrupted: the worker stopped before the answer was recorded."


@transaction.atomic
def _claims_return(now: dt.datetime) -> int:
    """Return the claims of dead workers: no heartbeat for the claim timeout.

    Their unfinished attempts are marked interrupted (the receiver may have had the
    message; the retry carries the same id). The claim counted as an attempt, so a
    delivery that kills every worker that sends it still runs out of tries.
    """
    stale = now - dt.timedelta(seconds=settings.NOTIFICATIONS_CLAIM_TIMEOUT_SECONDS)
    silent = Q(heartbeat_at__lte=stale) | Q(
        heartbeat_at__isnull=True, claimed_at__lte=stale
    )
    dead = list(
        Delivery.objects.select_for_update(skip_locked=True)
        .filter(silent, state=DeliveryState.SENDING)
        .values_list("pk", "attempts")
    )
    if not dead:
        return 0
    ids = [pk for pk, _ in dead]
    Attempt.objects.filter(delivery_id__in=ids, finished_at__isnull=True).update(
        interrupted=True, finished_at=now, error=INTERRUPTED
    )
    out_of_tries = [pk for pk, attempts in dead if attempts > len(RETRY_DELAYS)]
    Delivery.objects.filter(pk__in=ids).exclude(pk__in=out_of_tries).update(
        state=DeliveryState.PENDING, next_attempt_at=now, last_error=INTERRUPTED
    )
    Delivery.objects.filter(pk__in=out_of_tries).update(
        state=DeliveryState.FAILED, last_error=INTERRUPTED
    )
    logger.warning("returned %d deliveries a dead worker had claimed", len(ids))
    return len(ids)
