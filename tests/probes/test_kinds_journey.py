"""The journey kind against Acme, a real sign-in flow with CSRF, cookies and tokens."""

from __future__ import annotations

from probes.kinds import Outcome
from tests.probes.conftest import (
    API,
    LOGIN,
    WEB,
    acme_journey,
    acme_secrets,
    run_probe,
)


def outcomes(result):
    return {step.step: step.outcome for step in result.steps}


def test_it_passes_a_whole_login_journey(acme):
    result = run_probe("journey", acme_journey(acme), secrets=acme_secrets(acme))

    assert set(outcomes(result).values()) == {Outcome.UP}, result
    assert [s.status_code for s in result.steps] == [200, 302, 200, 200, 200, 200]
    assert all(s.latency_ms is not None for s in result.steps)
    assert acme.logouts == 1
    assert acme.sessions == set()  # signed out again


def test_it_attributes_each_step_to_its_component(acme):
    result = run_probe("journey", acme_journey(acme), secrets=acme_secrets(acme))

    assert [s.component for s in result.steps] == [LOGIN, LOGIN, WEB, API, API, LOGIN]


def test_it_skips_the_steps_after_a_failed_sign_in_but_still_signs_out(acme):
    secrets = {**acme_secrets(acme), "password": "wrong password"}

    result = run_probe("journey", acme_journey(acme), secrets=secrets)

    sign_in = result.steps[1]
    assert sign_in.outcome is Outcome.DOWN
    assert sign_in.component == LOGIN
    assert sign_in.error == "expected status 302, got 403"
    for skipped in result.steps[2:5]:
        assert skipped.outcome is Outcome.SKIPPED
        assert skipped.latency_ms is None
        assert skipped.error == "skipped: sign in failed"
    assert result.steps[5].outcome is Outcome.UP
    assert acme.logouts == 1
    assert "GET /app" not in acme.hits
    assert result.outcome is Outcome.DOWN


def test_it_fails_a_step_whose_html_extraction_finds_nothing(acme):
    config = acme_journey(acme)
    config["steps"][0]["extract"][0]["pattern"] = r'name="csrf_token" value="(\w+)"'

    result = run_probe("journey", config, secrets=acme_secrets(acme))

    first = result.steps[0]
    assert first.outcome is Outcome.DOWN
    assert first.status_code == 200
    assert first.error == "extract csrf: pattern found no match in the response"
    assert result.steps[1].error == "skipped: open sign-in failed"


def test_it_fails_a_step_whose_cookie_is_missing(acme):
    config = acme_journey(acme)
    config["steps"][0]["extract"][1]["name"] = "csrf"
    config["steps"][1]["headers"] = {"X-CSRFToken": "{{csrf}}"}

    result = run_probe("journey", config, secrets=acme_secrets(acme))

    assert result.steps[0].error == "extract csrf: no cookie named 'csrf'"
    assert outcomes(result)["sign out"] is Outcome.UP


def test_it_fails_a_step_whose_json_extraction_path_is_absent(acme):
    config = acme_journey(acme)
    config["steps"][3]["extract"] = [
        {"from": "json", "path": "data.token", "var": "token"}
    ]

    result = run_probe("journey", config, secrets=acme_secrets(acme))

    get_token = result.steps[3]
    assert get_token.outcome is Outcome.DOWN
    assert get_token.error == "extract token: data.token not found in the JSON response"
    assert result.steps[4].outcome is Outcome.SKIPPED


def test_it_extracts_a_header(acme):
    config = acme_journey(acme)
    config["steps"][3]["extract"] = [
        {"from": "header", "name": "X-Token", "var": "token"}
    ]

    result = run_probe("journey", config, secrets=acme_secrets(acme))

    assert outcomes(result)["who am I"] is Outcome.UP


def test_it_never_shows_the_password_even_when_the_server_echoes_it(acme):
    config = acme_journey(acme)
    # Judge the sign-in by its JSON answer, the one place a body reaches an error.
    config["steps"][1].update(
        expected_status="200-499", json_path="error", json_equals=None
    )
    secrets = {**acme_secrets(acme), "password": "hunter2-wrong"}

    result = run_probe("journey", config, secrets=secrets)

    sign_in = result.steps[1]
    assert sign_in.outcome is Outcome.DOWN
    # The user name is a declared secret too, so it goes as well.
    # Described, not quoted: the echo could be in a spelling no redactor knows.
    assert sign_in.error == "error was a string of 38 characters, expected null"
    for step in result.steps:
        assert "hunter2" not in step.error


def test_it_never_shows_an_extracted_token(acme):
    acme.broken.add("me-echo")

    result = run_probe("journey", acme_journey(acme), secrets=acme_secrets(acme))

    me = result.steps[4]
    assert me.outcome is Outcome.DOWN
    # "alice" is the declared username secret, hence redacted in the expectation.
    assert me.error == 'user.name was a string of 46 characters, expected "[redacted]"'
    assert not any(token in s.error for s in result.steps for token in acme.tokens)


def test_it_reports_a_secret_the_worker_does_not_have(acme):
    result = run_probe("journey", acme_journey(acme), secrets={"username": "alice"})

    assert result.steps[1].error == "secret 'password' is not set (ACME_PASSWORD)"
    assert "POST /login" not in acme.hits


def test_it_keeps_time_for_the_cleanup_when_a_step_hangs(acme):
    acme.broken.add("slow-app")

    result = run_probe(
        "journey", acme_journey(acme), secrets=acme_secrets(acme), timeout=2
    )

    assert result.steps[2].outcome is Outcome.DOWN
    # A quarter of the 2 s is kept for the sign-out.
    assert result.steps[2].error.startswith("timed out after 1.")
    assert result.steps[5].outcome is Outcome.UP
    assert acme.logouts == 1


def test_it_is_degraded_when_a_step_is_slow(acme):
    config = acme_journey(acme)
    config["steps"][2]["degraded_after_ms"] = 0.001

    result = run_probe("journey", config, secrets=acme_secrets(acme))

    assert outcomes(result)["signed-in page"] is Outcome.DEGRADED
    assert outcomes(result)["get token"] is Outcome.UP  # slow is not failed
    assert result.outcome is Outcome.DEGRADED
