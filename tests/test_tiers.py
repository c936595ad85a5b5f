"""Every test has exactly one tier, and ``-m <tier>`` selects the tests that
tests/tiers.py gives it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT
from tests.tiers import TIERS

# Between them, these modules hold tests of every tier, each derived in its own way.
MODULES = [
    "tests/probes/test_verdict.py",
    "tests/incidents/test_worker.py",
    "tests/statuspage/test_api.py",
    "tests/notifications/test_crash.py",
    "tests/statuspage/test_outage.py",
]
KNOWN = [
    # nothing but code
    (
        "unit",
        "probes/test_verdict",
        "it_ignores_a_result_older_than_the_last_one_counted",
    ),
    ("unit", "incidents/test_worker", "it_limits_the_time_of_every_task"),
    # the start_worker fixture
    ("worker", "incidents/test_worker", "it_starts_a_due_maintenance_on_a_real_worker"),
    # the browser marker, and page_in_browser through the browser fixture
    ("browser", "statuspage/test_api", "it_renders_the_documentation_in_a_browser"),
    # the schema marker
    (
        "schema",
        "statuspage/test_api",
        "it_publishes_an_openapi_3_schema_of_every_resource",
    ),
    # the django_db marker of the module
    ("database", "statuspage/test_api", "it_answers_unknown_api_addresses_in_json"),
    # the outage marker: it kills the worker it started
    (
        "outage",
        "notifications/test_crash",
        "it_sends_again_within_seconds_what_a_killed_worker_was_sending",
    ),
    # transactional_db, no worker, in the same module
    (
        "database",
        "notifications/test_crash",
        "it_keeps_a_live_worker_s_claim_while_a_receiver_holds_it",
    ),
    # the module's servers, which its tests stop (the site fixture)
    (
        "outage",
        "statuspage/test_outage",
        "it_serves_every_public_url_from_the_snapshot",
    ),
]


def collected_by_tier() -> dict[str, list[str]]:
    """``pytest --collect-only -q`` of MODULES once per tier, and once with none
    (key ""), all at the same time: each run starts Django."""
    runs = {}
    for name in ("", *TIERS):
        selection = ["-m", name] if name else []
        runs[name] = subprocess.Popen(
            [sys.executable, "-m", "pytest", "--collect-only", "-q", *selection]
            + ["-p", "no:cacheprovider", *MODULES],
            cwd=ROOT,
            env=os.environ,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    found = {}
    for name, run in runs.items():
        output, _ = run.communicate(timeout=240)
        assert run.returncode in (0, 5), output  # 5: nothing selected
        found[name] = [line for line in output.splitlines() if "::" in line]
    return found


@pytest.mark.timeout(300)
def test_it_selects_each_test_by_exactly_one_tier() -> None:
    found = collected_by_tier()
    everything = found.pop("")

    assert len(everything) > 20, everything
    for nodeid in everything:
        tiers = [name for name, selected in found.items() if nodeid in selected]
        assert len(tiers) == 1, (nodeid, tiers)
    assert sorted(sum(found.values(), [])) == sorted(everything)
    for name, module, test in KNOWN:
        assert f"tests/{module}.py::test_{test}" in found[name], (name, module, test)


def test_it_gives_every_test_of_this_run_one_tier_marker(
    request: pytest.FixtureRequest,
) -> None:
    for item in request.session.items:
        tiers = {mark.name for mark in item.iter_markers() if mark.name in TIERS}
        assert len(tiers) == 1, (item.nodeid, tiers)
