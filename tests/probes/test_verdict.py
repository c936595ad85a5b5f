"""The verdict rules on unsaved rows: hysteresis, quorum, a feed's status, damping."""

from __future__ import annotations

import datetime as dt

import pytest

from incidents.models import ComponentStatus
from probes import verdict
from probes.kinds.base import Outcome
from probes.models import ComponentVerdict, DownStatus, Probe, RegionState

NOW = dt.datetime(2026, 1, 5, 12, 0, tzinfo=dt.UTC)
REGIONS = ["eu", "us", "ap"]
WINDOW = dt.timedelta(minutes=15)
THRESHOLD = 4


def region(
    name: str = "eu",
    state: str = Outcome.UP,
    observed: str = "",
    last: dt.datetime | None = NOW,
) -> RegionState:
    return RegionState(
        region=name,
        step="main",
        state=state,
        observed_status=observed,
        last_result_at=last,
    )


def record(
    state: RegionState, outcome: str, *, observed: str = "", at: dt.datetime = NOW
) -> bool:
    """One result with the defaults of Gatus: 3 failures down, 2 successes up."""
    return verdict.streak_record(
        state,
        outcome=outcome,
        observed_status=observed,
        failures_to_down=3,
        successes_to_up=2,
        now=at,
    )


def make_down(
    state: RegionState, outcome: str = Outcome.DOWN, observed: str = ""
) -> None:
    for _ in range(3):
        record(state, outcome, observed=observed)
    assert state.state == outcome


def probe(**fields: object) -> Probe:
    values: dict[str, object] = {"name": "Sign-in", "kind": "http", "regions": REGIONS}
    values.update(fields)
    return Probe(**values)


# --- hysteresis per region ---------------------------------------------------------


def test_it_does_not_count_results_taken_back_to_back_after_a_backlog() -> None:
    state = region(last=None)
    spacing = dt.timedelta(seconds=30)  # half of a 60 s interval
    burst = [NOW + dt.timedelta(seconds=0.2 * i) for i in range(3)]

    for at in burst:
        verdict.streak_record(
            state,
            outcome=Outcome.DOWN,
            observed_status="",
            failures_to_down=3,
            successes_to_up=2,
            now=at,
            min_spacing=spacing,
        )

    assert state.failures == 1
    assert state.state == Outcome.UP
    assert state.last_result_at == NOW


def test_it_ignores_a_result_older_than_the_last_one_counted() -> None:
    state = region(last=NOW)

    assert record(state, Outcome.DOWN, at=NOW - dt.timedelta(seconds=5)) is False
    assert state.failures == 0
    assert state.last_result_at == NOW


def test_it_stays_up_through_two_failures_and_goes_down_on_the_third() -> None:
    state = region()
    later = NOW + dt.timedelta(minutes=2)

    assert record(state, Outcome.DOWN) is False
    assert record(state, Outcome.DOWN) is False
    assert state.state == Outcome.UP
    assert record(state, Outcome.DOWN, at=later) is True

    assert state.state == Outcome.DOWN
    assert state.changed_at == later


def test_it_counts_failures_in_a_row_only() -> None:
    state = region()
    for outcome in (Outcome.DOWN, Outcome.DOWN, Outcome.UP, Outcome.DOWN, Outcome.DOWN):
        record(state, outcome)

    assert state.state == Outcome.UP
    assert record(state, Outcome.DOWN) is True


def test_it_stays_down_after_one_success_and_comes_up_on_the_second() -> None:
    state = region()
    make_down(state)

    assert record(state, Outcome.UP) is False
    assert state.state == Outcome.DOWN
    assert record(state, Outcome.UP) is True
    assert state.state == Outcome.UP


def test_it_counts_successes_in_a_row_only() -> None:
    state = region()
    make_down(state)
    for outcome in (Outcome.UP, Outcome.DOWN, Outcome.UP):
        record(state, outcome)

    assert state.state == Outcome.DOWN


def test_it_goes_degraded_on_slow_results_and_down_when_they_fail() -> None:
    state = region()
    record(state, Outcome.DEGRADED)
    record(state, Outcome.DEGRADED)
    assert state.state == Outcome.UP
    record(state, Outcome.DEGRADED)
    assert state.state == Outcome.DEGRADED

    assert record(state, Outcome.DOWN) is True
    assert state.state == Outcome.DOWN


def test_it_keeps_the_streaks_while_a_step_is_skipped() -> None:
    state = region()
    record(state, Outcome.DOWN)
    record(state, Outcome.DOWN)

    assert record(state, Outcome.SKIPPED) is True  # the region abstains now
    for _ in range(4):
        assert record(state, Outcome.SKIPPED) is False
    assert (state.state, state.failures) == (Outcome.UP, 2)
    assert state.skipped_since == NOW and state.last_result_at == NOW
    assert record(state, Outcome.DOWN) is True  # it votes again, and is down
    assert state.skipped_since is None


def test_it_has_no_verdict_but_no_missing_monitoring_when_regions_skip_a_step() -> None:
    check = probe()
    skipping = [region(name) for name in REGIONS]
    for state in skipping:
        record(state, Outcome.SKIPPED)
    silent = [region(name, last=NOW - dt.timedelta(hours=1)) for name in REGIONS]

    abstained = verdict.regions_agree(skipping, check, now=NOW)
    assert (abstained.known, abstained.votes) == (True, False)
    unknown = verdict.regions_agree(silent, check, now=NOW)
    assert (unknown.known, unknown.votes) == (False, False)
    # One skips, one is silent, one votes: the silent one could have made the
    # quorum, so the monitoring is short (not merely a skipped step).
    mixed = [skipping[0], silent[1], region("ap")]
    assert not verdict.regions_agree(mixed, check, now=NOW).known
    # Two regions vote, one skips: the two decide.
    record(skipping[0], Outcome.UP)
    record(skipping[1], Outcome.UP)
    assert verdict.regions_agree(skipping, check, now=NOW).outcome == Outcome.UP


def test_it_keeps_the_mirrored_status_while_the_region_stays_down() -> None:
    state = region()
    make_down(state, observed=ComponentStatus.PARTIAL_OUTAGE)
    assert state.observed_status == ComponentStatus.PARTIAL_OUTAGE

    # One good reading does not bring the region up, so it still reports what it saw
    # when it went down, not the probe's harsher default.
    record(state, Outcome.UP, observed=ComponentStatus.OPERATIONAL)

    assert state.state == Outcome.DOWN
    assert state.observed_status == ComponentStatus.PARTIAL_OUTAGE
    agreement = verdict.Agreement(Outcome.DOWN, 2, 3)
    assert verdict.feed_status(agreement, probe(), [state]) == "partial_outage"


def test_it_drops_the_mirrored_outage_once_the_region_is_up() -> None:
    state = region()
    make_down(state, observed=ComponentStatus.MAJOR_OUTAGE)
    record(state, Outcome.UP, observed=ComponentStatus.OPERATIONAL)
    record(state, Outcome.UP, observed=ComponentStatus.OPERATIONAL)

    assert state.state == Outcome.UP
    assert state.observed_status not in (
        ComponentStatus.MAJOR_OUTAGE,
        ComponentStatus.PARTIAL_OUTAGE,
    )


def test_it_reports_a_change_of_the_mirrored_outage_while_down() -> None:
    state = region()
    make_down(state, observed=ComponentStatus.PARTIAL_OUTAGE)

    # Still down, but the third party now reports a major outage: decide again.
    assert record(state, Outcome.DOWN, observed=ComponentStatus.MAJOR_OUTAGE) is True
    assert state.observed_status == ComponentStatus.MAJOR_OUTAGE
    assert record(state, Outcome.DOWN, observed=ComponentStatus.MAJOR_OUTAGE) is False


# --- quorum across regions ---------------------------------------------------------


def test_it_needs_a_majority_of_regions_by_default() -> None:
    assert probe().required_agreement == 2
    assert probe(regions=["eu", "us"]).required_agreement == 2
    assert probe(regions=["eu", "us", "ap", "sa"]).required_agreement == 3


@pytest.mark.parametrize("flaky", REGIONS)
def test_it_never_lets_one_flaky_region_move_the_outcome(flaky: str) -> None:
    states = [
        region(name, Outcome.DOWN if name == flaky else Outcome.UP) for name in REGIONS
    ]

    assert verdict.regions_agree(states, probe(), now=NOW) == verdict.Agreement(
        Outcome.UP, 2, 3, 3
    )


def test_it_goes_down_when_two_regions_agree() -> None:
    states = [region("eu", Outcome.DOWN), region("us", Outcome.DOWN), region("ap")]

    assert verdict.regions_agree(states, probe(), now=NOW) == verdict.Agreement(
        Outcome.DOWN, 2, 3, 3
    )


def test_it_calls_one_down_and_one_degraded_region_degraded() -> None:
    states = [region("eu", Outcome.DOWN), region("us", Outcome.DEGRADED), region("ap")]

    assert verdict.regions_agree(states, probe(), now=NOW) == verdict.Agreement(
        Outcome.DEGRADED, 2, 3, 3
    )


def test_it_follows_an_explicit_quorum() -> None:
    one_down = [region("eu", Outcome.DOWN), region("us"), region("ap")]
    two_down = [region("eu", Outcome.DOWN), region("us", Outcome.DOWN), region("ap")]

    assert (
        verdict.regions_agree(one_down, probe(quorum=1), now=NOW).outcome
        == Outcome.DOWN
    )
    assert (
        verdict.regions_agree(two_down, probe(quorum=3), now=NOW).outcome == Outcome.UP
    )
    # A quorum above the number of regions means all of them.
    assert probe(quorum=5).required_agreement == 3


def test_it_ignores_regions_the_probe_no_longer_runs_in() -> None:
    states = [
        region("old-1", Outcome.DOWN),
        region("old-2", Outcome.DOWN),
        region("eu", Outcome.DOWN),
        region("us"),
        region("ap"),
    ]

    assert verdict.regions_agree(states, probe(), now=NOW) == verdict.Agreement(
        Outcome.UP, 2, 3, 3
    )


# --- silent regions ----------------------------------------------------------------

SILENT = NOW - dt.timedelta(seconds=3 * 60 + 10 + 1)  # 3 intervals and the timeout


def test_it_calls_a_region_silent_after_three_intervals_and_the_timeout() -> None:
    assert probe().silent_after == dt.timedelta(seconds=190)
    assert verdict.speaks(region(last=SILENT + dt.timedelta(seconds=2)), probe(), NOW)
    assert not verdict.speaks(region(last=SILENT), probe(), NOW)
    assert not verdict.speaks(region(last=None), probe(), NOW)


def test_it_keeps_a_floor_under_the_silence_of_fast_probes() -> None:
    assert probe(interval_seconds=1, timeout_seconds=1).silent_after == (
        dt.timedelta(seconds=30)
    )


def test_it_never_counts_a_silent_region_as_up() -> None:
    # The reported outage: two regions' workers stopped while all was well, the
    # third sees the target down. The two last said "up" and must not outvote it.
    states = [
        region("eu", Outcome.DOWN),
        region("us", Outcome.UP, last=SILENT),
        region("ap", Outcome.UP, last=SILENT),
    ]

    agreement = verdict.regions_agree(states, probe(), now=NOW)

    assert agreement == verdict.Agreement(verdict.UNKNOWN, 0, 3, 1)
    assert not agreement.known


def test_it_never_counts_a_region_that_has_not_reported_as_up() -> None:
    assert not verdict.regions_agree(
        [region("eu", Outcome.DOWN)], probe(), now=NOW
    ).known
    assert not verdict.regions_agree([], probe(), now=NOW).known


def test_it_decides_among_the_regions_that_speak_when_they_reach_the_quorum() -> None:
    both_down = [
        region("eu", Outcome.DOWN),
        region("us", Outcome.DOWN),
        region("ap", Outcome.UP, last=SILENT),
    ]
    split = [
        region("eu", Outcome.DOWN),
        region("us", Outcome.UP),
        region("ap", Outcome.DOWN, last=SILENT),
    ]

    assert verdict.regions_agree(both_down, probe(), now=NOW) == verdict.Agreement(
        Outcome.DOWN, 2, 3, 2
    )
    assert verdict.regions_agree(split, probe(), now=NOW) == verdict.Agreement(
        Outcome.UP, 1, 3, 2
    )


def test_it_lets_alert_probes_speak_without_new_results() -> None:
    states = [region(name, Outcome.DOWN, last=SILENT) for name in REGIONS]

    agreement = verdict.regions_agree(states, probe(kind="alert"), now=NOW)

    assert agreement.outcome == Outcome.DOWN


def test_it_says_when_the_evidence_of_a_feed_runs_out() -> None:
    states = [
        region("eu", last=NOW),
        region("us", last=NOW - dt.timedelta(seconds=50)),
        region("ap", last=NOW - dt.timedelta(seconds=100)),
    ]

    # Two of three must speak: the second-freshest region's deadline.
    assert verdict.evidence_until(states, probe()) == (
        NOW - dt.timedelta(seconds=50) + dt.timedelta(seconds=190)
    )
    assert verdict.evidence_until(states[:1], probe()) is None


# --- the status one feed asks for --------------------------------------------------


@pytest.mark.parametrize("down_status", DownStatus.values)
def test_it_maps_down_to_the_probes_down_status(down_status: str) -> None:
    states = [region("eu", Outcome.DOWN), region("us", Outcome.DOWN)]
    agreement = verdict.regions_agree(states, probe(), now=NOW)

    assert verdict.feed_status(agreement, probe(down_status=down_status), states) == (
        down_status
    )


def test_it_mirrors_the_outage_a_third_party_reports() -> None:
    states = [
        region("eu", Outcome.DOWN, ComponentStatus.PARTIAL_OUTAGE),
        region("us", Outcome.DOWN, ComponentStatus.PARTIAL_OUTAGE),
        region("ap", Outcome.UP, ComponentStatus.OPERATIONAL),
    ]
    agreement = verdict.regions_agree(states, probe(), now=NOW)

    assert verdict.feed_status(agreement, probe(), states) == "partial_outage"


def test_it_never_calls_an_agreed_outage_operational() -> None:
    # Two regions cannot reach the third party's page (no status read); the third
    # reads "operational". Down was agreed, so the probe's own down status applies.
    states = [
        region("eu", Outcome.DOWN),
        region("us", Outcome.DOWN),
        region("ap", Outcome.UP, ComponentStatus.OPERATIONAL),
    ]
    agreement = verdict.regions_agree(states, probe(), now=NOW)

    assert verdict.feed_status(agreement, probe(), states) == "major_outage"


def test_it_maps_degraded_to_degraded_performance() -> None:
    states = [region("eu", Outcome.DEGRADED), region("us", Outcome.DEGRADED)]
    agreement = verdict.regions_agree(states, probe(), now=NOW)

    assert verdict.feed_status(agreement, probe(), states) == "degraded_performance"


def test_it_mirrors_a_third_partys_maintenance() -> None:
    states = [region(name, Outcome.UP, "under_maintenance") for name in REGIONS]
    agreement = verdict.regions_agree(states, probe(), now=NOW)

    assert verdict.feed_status(agreement, probe(), states) == "under_maintenance"


def test_it_calls_agreed_up_operational() -> None:
    states = [
        region("eu", Outcome.DOWN),
        region("us", Outcome.UP, "operational"),
        region("ap"),
    ]
    agreement = verdict.regions_agree(states, probe(), now=NOW)

    assert verdict.feed_status(agreement, probe(), states) == "operational"


# --- flap damping ------------------------------------------------------------------


def damp(current: ComponentVerdict, proposed: str, at: dt.datetime = NOW) -> str:
    return verdict.damp(current, proposed, now=at, window=WINDOW, threshold=THRESHOLD)


def changed(*minutes_ago: int) -> list[str]:
    return [(NOW - dt.timedelta(minutes=m)).isoformat() for m in minutes_ago]


def test_it_takes_a_change_and_remembers_when() -> None:
    current = ComponentVerdict(status="operational")

    assert damp(current, "major_outage") == "major_outage"
    assert current.status == "major_outage"
    assert current.changes == [NOW.isoformat()]
    assert current.flapping is False


def test_it_holds_the_worse_state_while_flapping() -> None:
    current = ComponentVerdict(status="major_outage", changes=changed(8, 6, 4, 2))

    assert damp(current, "operational") == "major_outage"
    assert current.status == "major_outage"
    assert current.flapping is True
    assert len(current.changes) == 4  # a held proposal is no change


def test_it_takes_a_worse_state_while_flapping() -> None:
    current = ComponentVerdict(
        status="degraded_performance", changes=changed(8, 6, 4, 2)
    )

    assert damp(current, "major_outage") == "major_outage"
    assert current.flapping is True


def test_it_lets_a_component_improve_below_the_threshold() -> None:
    current = ComponentVerdict(status="major_outage", changes=changed(6, 4, 2))

    assert damp(current, "operational") == "operational"


def test_it_releases_a_flapping_component_after_a_quiet_window() -> None:
    current = ComponentVerdict(
        status="major_outage", changes=changed(8, 6, 4, 2), flapping=True
    )
    quiet = NOW + WINDOW

    assert damp(current, "operational", at=quiet) == "operational"
    assert current.changes == [quiet.isoformat()]


def test_it_prunes_changes_older_than_the_window() -> None:
    current = ComponentVerdict(status="major_outage", changes=changed(40, 20, 3))

    assert damp(current, "major_outage") == "major_outage"
    assert current.changes == changed(3)
