"""The beat tick: claim due probes once per slot, and send them to their regions."""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import time_machine
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from probes import clock, runner
from probes.models import DroppedSlots, Probe, ProbeResult
from probes.scheduler import probes_claim_due, probes_dispatch
from probes.services import probe_create, probe_update
from tests.conftest import make_component

NOW = dt.datetime(2026, 1, 5, 12, 0, 30, tzinfo=dt.UTC)
MINUTE = dt.timedelta(seconds=60)


@pytest.fixture
def regions(settings: Any) -> list[str]:
    """Regions of this test only, so no other run's worker takes our messages."""
    names = [f"t{uuid.uuid4().hex[:10]}", f"t{uuid.uuid4().hex[:10]}"]
    settings.PROBE_REGIONS = names
    return names


def make_probe(
    *, due: dt.datetime, name: str = "Web app check", **fields: Any
) -> Probe:
    component = make_component(name=name)
    probe, _ = probe_create(
        name=name,
        kind="http",
        component=component,
        config={"url": "http://127.0.0.1:9/health"},
        **fields,
    )
    Probe.objects.filter(pk=probe.pk).update(next_due_at=due)
    probe.refresh_from_db()
    return probe


def due_at(probe: Probe) -> dt.datetime:
    return Probe.objects.get(pk=probe.pk).next_due_at


def make_probe_created(*, at: dt.datetime, **fields: Any) -> Probe:
    """A probe created at ``at`` (the clock mocked), due from then, as it comes."""
    with time_machine.travel(at, tick=False):
        return make_probe(due=at, **fields)


def dropped(regions: list[str]) -> dict[str, int]:
    counted = dict(DroppedSlots.objects.values_list("region", "count"))
    return {region: counted.get(region, 0) for region in regions}


@pytest.mark.django_db
def test_it_claims_only_due_enabled_probes(regions: list[str]) -> None:
    due = make_probe(due=NOW - dt.timedelta(seconds=5), name="due")
    exactly_due = make_probe(due=NOW, name="exactly due")
    make_probe(due=NOW + dt.timedelta(seconds=1), name="not yet")
    make_probe(due=NOW - MINUTE, name="disabled", enabled=False)

    claims = probes_claim_due(now=NOW, limit=100)

    assert {(probe.pk, slot) for probe, slot in claims} == {
        (due.pk, NOW - dt.timedelta(seconds=5)),
        (exactly_due.pk, NOW),
    }
    assert probes_claim_due(now=NOW, limit=100) == []


@pytest.mark.django_db
def test_it_moves_a_claimed_probe_to_its_next_slot(regions: list[str]) -> None:
    slot = NOW - dt.timedelta(seconds=10)
    probe = make_probe(due=slot, interval_seconds=60)

    probes_claim_due(now=NOW, limit=100)

    assert due_at(probe) == slot + MINUTE
    assert probes_claim_due(now=slot + MINUTE - dt.timedelta(seconds=1), limit=9) == []
    ((claimed, next_slot),) = probes_claim_due(now=slot + MINUTE, limit=100)
    assert (claimed.pk, next_slot) == (probe.pk, slot + MINUTE)


@pytest.mark.django_db
def test_it_skips_missed_slots_after_a_long_stop(regions: list[str]) -> None:
    slot = NOW - dt.timedelta(hours=3, seconds=20)  # workers were stopped
    probe = make_probe(due=slot, interval_seconds=60)

    assert len(probes_claim_due(now=NOW, limit=100)) == 1
    assert probes_claim_due(now=NOW, limit=100) == []  # no burst of missed slots

    next_slot = due_at(probe)
    assert NOW < next_slot <= NOW + MINUTE
    assert (next_slot - slot) % MINUTE == dt.timedelta(0)  # still on its grid


@pytest.mark.django_db
def test_it_claims_no_more_than_the_limit(regions: list[str]) -> None:
    for number in range(5):
        make_probe(due=NOW - dt.timedelta(seconds=number), name=f"probe {number}")

    first = probes_claim_due(now=NOW, limit=3)
    rest = probes_claim_due(now=NOW, limit=3)

    assert (len(first), len(rest)) == (3, 2)
    # The longest-waiting probes go first.
    assert [slot for _, slot in first] == sorted(slot for _, slot in first + rest)[:3]


@pytest.mark.django_db(transaction=True)
def test_it_claims_each_slot_once_with_two_beats(regions: list[str]) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs a server database for concurrent transactions")
    component = make_component(name="Web app")
    Probe.objects.bulk_create(
        Probe(
            name=f"probe {number}",
            kind="http",
            component=component,
            config={"url": "http://127.0.0.1:9/"},
            regions=regions,
            next_due_at=NOW - dt.timedelta(milliseconds=number),
        )
        for number in range(300)
    )
    barrier = threading.Barrier(2)
    claimed: list[list[tuple[int, dt.datetime]]] = [[], []]
    errors: list[BaseException] = []

    def beat(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            while claims := probes_claim_due(now=NOW, limit=20):
                claimed[index] += [(probe.pk, slot) for probe, slot in claims]
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()  # each thread had its own connection

    threads = [threading.Thread(target=beat, args=(i,)) for i in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert not errors, errors
    counts = Counter(claimed[0] + claimed[1])
    assert len(counts) == 300
    assert set(counts.values()) == {1}, "a slot was claimed twice"
    assert not set(claimed[0]) & set(claimed[1])
    assert Probe.objects.filter(next_due_at__lte=NOW).count() == 0


# --- dispatch, against the real broker ---------------------------------------------


@pytest.fixture
def broker(regions: list[str]) -> Iterator[redis.Redis]:
    """The Redis broker, with this test's queues empty before and removed after."""
    url = django_settings.CELERY_BROKER_URL
    if not url.startswith("redis://"):
        pytest.skip("needs CELERY_BROKER_URL=redis://...")
    client = redis.Redis.from_url(url)
    keys = [f"probes.{region}" for region in regions]
    keys += [f"_kombu.binding.{key}" for key in keys]
    client.delete(*keys)
    yield client
    client.delete(*keys)
    client.close()


def queued(broker: redis.Redis, queue: str) -> list[dict[str, Any]]:
    """The task messages waiting in a queue: task name and decoded arguments."""
    messages = []
    for raw in broker.lrange(queue, 0, -1):
        envelope = json.loads(raw)
        args, kwargs, _ = json.loads(base64.b64decode(envelope["body"]))
        messages.append(
            {"task": envelope["headers"]["task"], "args": args, "kwargs": kwargs}
        )
    return messages


@pytest.mark.django_db
def test_it_sends_batches_to_each_regions_queue(
    settings: Any, regions: list[str], broker: redis.Redis
) -> None:
    settings.PROBE_BATCH_SIZE = 3
    first, second = regions
    everywhere = [
        make_probe(due=NOW - dt.timedelta(seconds=n), name=f"both {n}")
        for n in range(7)
    ]
    only_first = make_probe(due=NOW, name="first only", regions=[first])
    make_probe(due=NOW + MINUTE, name="not due")

    assert probes_dispatch(now=NOW) == 8

    expected = {
        first: {
            (p.pk, due.isoformat()) for p, due in claims_of([*everywhere, only_first])
        },
        second: {(p.pk, due.isoformat()) for p, due in claims_of(everywhere)},
    }
    for region in regions:
        messages = queued(broker, f"probes.{region}")
        assert {m["task"] for m in messages} == {"probes.tasks.probes_run_batch"}
        assert {m["args"][0] for m in messages} == {region}
        batches = [m["args"][1] for m in messages]
        assert max(len(batch) for batch in batches) <= 3
        items = [tuple(item) for batch in batches for item in batch]
        assert len(items) == len(set(items)) == len(expected[region])
        assert set(items) == expected[region]
    assert sorted(len(m["args"][1]) for m in queued(broker, f"probes.{first}")) == [
        2,
        3,
        3,
    ]
    assert probes_dispatch(now=NOW) == 0  # the same tick again sends nothing
    assert len(queued(broker, f"probes.{second}")) == 3


def claims_of(probes: list[Probe]) -> list[tuple[Probe, dt.datetime]]:
    """Each probe with the slot it was due at before dispatch."""
    return [(probe, probe.next_due_at) for probe in probes]


@pytest.mark.django_db
def test_it_claims_the_latest_slot_after_a_stop_not_the_first_missed(
    regions: list[str],
) -> None:
    probe = make_probe(due=NOW - dt.timedelta(seconds=35), interval_seconds=10)

    ((claimed, slot),) = probes_claim_due(now=NOW, limit=100)

    # The run means now's slot: the first one missed would be dropped as too late.
    assert (claimed.pk, slot) == (probe.pk, NOW - dt.timedelta(seconds=5))
    assert due_at(probe) == NOW + dt.timedelta(seconds=5)


@pytest.mark.django_db
def test_it_claims_a_slot_a_late_tick_left_at_the_next_tick_one_at_a_time(
    regions: list[str],
) -> None:
    """Every-second probes, ticks half a second apart, one of them 1.3 s late: the
    slot it passed over still runs (in time), and no tick claims two at once."""
    second = dt.timedelta(seconds=1)
    probe = make_probe(due=NOW, interval_seconds=1)
    ticks = [NOW + dt.timedelta(seconds=t) for t in (0.1, 2.3, 2.6, 3.1, 3.6)]

    claimed = [[slot for _, slot in probes_claim_due(now=t, limit=9)] for t in ticks]

    # At 2.3 s the slot of 1 s is claimed (1.3 s late), that of 2 s at the next tick.
    assert claimed == [[NOW + n * second] for n in range(4)] + [[]]
    assert due_at(probe) == NOW + 4 * second
    assert not DroppedSlots.objects.exists()  # each slot was sent, none passed over


@pytest.mark.django_db
def test_it_bounds_a_queued_batchs_life_far_above_any_clock_skew(
    settings: Any, regions: list[str], broker: redis.Redis
) -> None:
    """Celery judges expiry on the region's own clock: a bound on what a region
    without workers piles up, not the slots' lateness (the runner's, on the
    database's clock), or a region whose clock runs ahead would lose every batch."""
    settings.PROBE_BATCH_EXPIRES_SECONDS = 3600
    first, _ = regions
    make_probe(due=NOW, name="fast", regions=[first], interval_seconds=10)
    make_probe(due=NOW, name="slower", regions=[first], interval_seconds=20)

    probes_dispatch(now=NOW)

    expiries = [
        json.loads(raw)["headers"]["expires"]
        for raw in broker.lrange(f"probes.{first}", 0, -1)
    ]
    assert len(expiries) == 1
    sent = dt.datetime.fromisoformat(expiries[0]) - dt.timedelta(hours=1)
    assert abs(sent - timezone.now()) < dt.timedelta(seconds=5)


# --- slots a late tick passed over: due, never sent, counted as dropped ------------


@pytest.mark.django_db
def test_it_counts_the_slots_a_tick_five_intervals_late_passed_over_in_each_region(
    regions: list[str], broker: redis.Redis
) -> None:
    """Due at -53 s, every 10 s, and the dispatch stopped until now: the slots of
    -53, -43, -33, -23 and -13 s never ran, that of -3 s runs (in time). Each region
    counts the five, and the runner, finding its slot in time, adds none."""
    now = clock.database_now()
    probe = make_probe_created(at=now - dt.timedelta(seconds=53), interval_seconds=10)

    assert probes_dispatch(now=now) == 1

    assert dropped(regions) == {region: 5 for region in regions}
    for region in regions:
        ((task,),) = [m["args"][1] for m in queued(broker, f"probes.{region}")]
        assert len(runner.probes_run_batch(region=region, items=[task])) == 1
    assert ProbeResult.objects.filter(probe=probe).count() == 2  # one per region
    assert dropped(regions) == {region: 5 for region in regions}
    # Neither the same tick again nor a clock set back counts anything more.
    assert probes_dispatch(now=now) == 0
    assert probes_claim_due(now=now - dt.timedelta(minutes=5), limit=9) == []
    assert dropped(regions) == {region: 5 for region in regions}


@pytest.mark.django_db
def test_it_counts_the_slots_of_a_long_stop_only_where_the_probe_runs(
    regions: list[str],
) -> None:
    first, second = regions
    make_probe_created(at=NOW - dt.timedelta(hours=3), regions=[first], name="first")

    ((_, slot),) = probes_claim_due(now=NOW + dt.timedelta(seconds=30), limit=9)

    # 09:00:30 to 11:59:30, a minute apart: 180 passed over; 12:00:30 claimed.
    assert slot == NOW
    assert dropped(regions) == {first: 180, second: 0}


@pytest.mark.django_db
def test_it_counts_no_slot_of_a_disabled_probe_nor_of_its_time_off(
    regions: list[str],
) -> None:
    probe = make_probe_created(at=NOW - dt.timedelta(hours=3), enabled=False)

    assert probes_claim_due(now=NOW, limit=9) == []
    with time_machine.travel(NOW, tick=False):
        probe_update(probe=probe, enabled=True)  # its slots start again now
    ((_, slot),) = probes_claim_due(now=NOW + dt.timedelta(seconds=1), limit=9)

    assert slot == NOW
    assert not DroppedSlots.objects.exists()


@pytest.mark.django_db
def test_it_counts_no_slot_from_before_a_probe_existed(regions: list[str]) -> None:
    """Created at 11:57:30 while the dispatch was stopped: its own three slots were
    missed, none of the hour its next due time was set back by."""
    first, _ = regions
    probe = make_probe_created(
        at=NOW - dt.timedelta(minutes=3), regions=[first], name="new"
    )
    Probe.objects.filter(pk=probe.pk).update(next_due_at=NOW - dt.timedelta(hours=1))

    ((_, slot),) = probes_claim_due(now=NOW, limit=9)

    assert slot == NOW
    assert dropped([first]) == {first: 3}


@pytest.mark.django_db
def test_it_counts_a_new_probes_very_first_slot_when_it_is_missed(
    regions: list[str],
) -> None:
    """Its first slot is the moment it was created, not the instant before."""
    first, _ = regions
    with time_machine.travel(NOW - 3 * MINUTE, tick=True):  # the clock moves on
        probe, _ = probe_create(
            name="new",
            kind="http",
            component=make_component(name="new"),
            config={"url": "http://127.0.0.1:9/health"},
            regions=[first],
        )
    assert probe.next_due_at == probe.created_at

    assert len(probes_claim_due(now=NOW + dt.timedelta(seconds=1), limit=9)) == 1

    assert dropped([first]) == {first: 3}


@pytest.mark.django_db
def test_it_counts_no_slot_of_an_alert_probe_made_one_that_runs(
    regions: list[str],
) -> None:
    """An alert probe has no slots: made an HTTP check, its slots start then."""
    with time_machine.travel(NOW - dt.timedelta(hours=3), tick=False):
        probe, _ = probe_create(
            name="pushed",
            kind="alert",
            component=make_component(name="pushed"),
            config={"matchers": {"job": "auth"}},
        )
    assert probes_claim_due(now=NOW, limit=9) == []
    with time_machine.travel(NOW, tick=False):
        probe_update(probe=probe, kind="http", config={"url": "http://127.0.0.1:9/"})

    ((_, slot),) = probes_claim_due(now=NOW + dt.timedelta(seconds=1), limit=9)

    assert slot == NOW
    assert not DroppedSlots.objects.exists()
