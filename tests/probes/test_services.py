"""Creating and changing probes through the service, and the heartbeat address."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.forms.models import model_to_dict
from django.test import Client
from django.utils import timezone

from probes.models import Probe
from probes.services import probe_create, probe_update
from tests.conftest import make_component, make_group

pytestmark = pytest.mark.django_db


def journey(*steps: dict[str, Any]) -> dict[str, Any]:
    return {"steps": list(steps) or [{"name": "home", "url": "http://acme.test/"}]}


def create(**overrides: Any) -> tuple[Probe, str | None]:
    fields: dict[str, Any] = {
        "name": "Front page",
        "kind": "http",
        "config": {"url": "http://acme.test/"},
    }
    fields.update(overrides)
    fields.setdefault("component", make_component(name="Web app"))
    return probe_create(**fields)


def config_errors(excinfo: pytest.ExceptionInfo[ValidationError]) -> list[str]:
    return excinfo.value.message_dict["config"]


def test_it_creates_a_probe_with_its_config_normalised() -> None:
    probe, token = create()
    probe.refresh_from_db()
    assert probe.config["url"] == "http://acme.test/"
    assert probe.config["method"] == "GET"  # defaults filled in on save
    assert token is None


def test_it_refuses_an_http_probe_without_url() -> None:
    with pytest.raises(ValidationError) as excinfo:
        create(config={"method": "GET"})
    assert any("url" in message for message in config_errors(excinfo))
    assert not Probe.objects.exists()


def test_it_names_every_bad_field_under_config() -> None:
    with pytest.raises(ValidationError) as excinfo:
        create(config={"url": "http://acme.test/", "expected_status": "teapot"})
    assert any(m.startswith("expected_status") for m in config_errors(excinfo))


def test_it_refuses_a_journey_step_naming_a_missing_component() -> None:
    config = journey(
        {"name": "sign in", "url": "http://acme.test/", "component": "Nope"}
    )
    with pytest.raises(ValidationError) as excinfo:
        create(kind="journey", config=config)
    assert config_errors(excinfo) == ["steps.0.component: no component 'Nope'."]
    assert not Probe.objects.exists()


def test_it_refuses_a_journey_step_naming_a_group() -> None:
    make_group(name="Platform")
    config = journey({"name": "x", "url": "http://acme.test/", "component": "Platform"})
    with pytest.raises(ValidationError) as excinfo:
        create(kind="journey", config=config)
    assert "no component 'Platform'" in config_errors(excinfo)[0]


def test_it_stores_a_step_component_named_by_name_as_its_public_id() -> None:
    api = make_component(name="API")
    config = journey(
        {"name": "token", "url": "http://acme.test/api", "component": "API"},
        {"name": "again", "url": "http://acme.test/api", "component": api.public_id},
    )
    probe, _ = create(kind="journey", config=config)
    probe.refresh_from_db()
    assert [s["component"] for s in probe.config["steps"]] == [api.public_id] * 2


def test_it_refuses_unknown_regions(settings: Any) -> None:
    settings.PROBE_REGIONS = ["eu", "us"]
    with pytest.raises(ValidationError) as excinfo:
        create(regions=["eu", "mars"])
    assert "mars" in excinfo.value.message_dict["regions"][0]
    assert "PROBE_REGIONS" in excinfo.value.message_dict["regions"][0]


def test_it_accepts_known_regions_and_defaults_to_all(settings: Any) -> None:
    settings.PROBE_REGIONS = ["eu", "us", "ap"]
    chosen, _ = create(regions=["eu", "ap"], quorum=2)
    default, _ = create(name="Default", component=chosen.component)
    assert chosen.regions == ["eu", "ap"]
    assert default.regions == ["eu", "us", "ap"]


def test_it_refuses_a_quorum_larger_than_the_regions(settings: Any) -> None:
    settings.PROBE_REGIONS = ["eu", "us", "ap"]
    with pytest.raises(ValidationError) as excinfo:
        create(regions=["eu", "us"], quorum=3)
    assert "quorum" in excinfo.value.message_dict
    assert not Probe.objects.exists()


def test_it_refuses_a_region_listed_twice(settings: Any) -> None:
    settings.PROBE_REGIONS = ["eu", "us", "ap"]
    with pytest.raises(ValidationError) as excinfo:
        create(regions=["eu", "eu", "eu"], quorum=3)
    assert excinfo.value.message_dict["regions"] == [
        "List each region once: eu is repeated."
    ]
    assert not Probe.objects.exists()


def test_it_refuses_a_repeated_region_on_update(settings: Any) -> None:
    settings.PROBE_REGIONS = ["eu", "us"]
    probe, _ = create(regions=["eu", "us"])
    with pytest.raises(ValidationError) as excinfo:
        probe_update(probe=probe, regions=["eu", "us", "us"])
    assert "us is repeated" in excinfo.value.message_dict["regions"][0]
    assert Probe.objects.get(pk=probe.pk).regions == ["eu", "us"]


def test_it_refuses_unknown_fields() -> None:
    with pytest.raises(ValidationError, match="colour"):
        create(colour="red")
    assert not Probe.objects.exists()


def test_it_refuses_an_unknown_kind() -> None:
    with pytest.raises(ValidationError) as excinfo:
        create(kind="ftp")
    assert "ftp" in excinfo.value.message_dict["kind"][0]


def test_it_refuses_field_values_out_of_range() -> None:
    with pytest.raises(ValidationError) as excinfo:
        create(interval_seconds=0)
    assert "interval_seconds" in excinfo.value.message_dict


def test_it_validates_again_on_update() -> None:
    probe, _ = create()
    with pytest.raises(ValidationError) as excinfo:
        probe_update(probe=probe, config={"url": "ftp://acme.test/"})
    assert any(m.startswith("url") for m in config_errors(excinfo))
    probe.refresh_from_db()
    assert probe.config["url"] == "http://acme.test/"


def test_it_refuses_an_unknown_kind_on_update() -> None:
    probe, _ = create()
    with pytest.raises(ValidationError) as excinfo:
        probe_update(probe=probe, kind="ftp")
    assert "kind" in excinfo.value.message_dict


def test_it_refuses_unknown_fields_on_update() -> None:
    probe, _ = create()
    with pytest.raises(ValidationError, match="heartbeat_token_hash"):
        probe_update(probe=probe, heartbeat_token_hash="0" * 64)


def test_it_resolves_step_component_names_on_update() -> None:
    probe, _ = create()
    api = make_component(name="API")
    config = journey({"name": "token", "url": "http://acme.test/", "component": "API"})
    probe_update(probe=probe, kind="journey", config=config)
    probe.refresh_from_db()
    assert probe.config["steps"][0]["component"] == api.public_id


def test_it_accepts_its_own_normalised_config_again() -> None:
    # The console shows the stored (normalised) config and saves it back unchanged.
    api = make_component(name="API")
    config = journey(
        {
            "name": "token",
            "method": "POST",
            "url": "http://acme.test/api",
            "component": "API",
            "expected_status": [200, 201],
            "extract": [{"from": "json", "path": "token"}],
        },
        {"name": "out", "url": "http://acme.test/logout", "cleanup": True},
    )
    probe, _ = create(kind="journey", config=config, component=api)
    stored = json.loads(json.dumps(Probe.objects.get(pk=probe.pk).config))
    probe_update(probe=probe, config=stored)
    probe.refresh_from_db()
    assert probe.config == stored


def heartbeat() -> tuple[Probe, str]:
    probe, token = create(
        name="Nightly backup", kind="heartbeat", config={"period_seconds": 3600}
    )
    assert token
    return probe, token


def test_it_returns_a_heartbeat_token_once_and_stores_only_its_hash() -> None:
    probe, token = heartbeat()
    stored = Probe.objects.get(pk=probe.pk)
    assert stored.heartbeat_token_hash == hashlib.sha256(token.encode()).hexdigest()
    row = json.dumps(model_to_dict(stored), default=str)
    assert token not in row
    assert len(token) >= 24


def test_it_gives_each_heartbeat_probe_its_own_token() -> None:
    first, first_token = heartbeat()
    second, second_token = heartbeat()
    assert first_token != second_token


@pytest.mark.parametrize("method", ["get", "post"])
def test_it_takes_a_heartbeat_at_its_secret_url(method: str) -> None:
    probe, token = heartbeat()
    long_ago = timezone.now() - dt.timedelta(days=1)
    Probe.objects.filter(pk=probe.pk).update(last_heartbeat_at=long_ago)
    response = getattr(Client(), method)(f"/heartbeat/{token}")
    assert response.status_code == 200
    probe.refresh_from_db()
    assert probe.last_heartbeat_at is not None
    assert probe.last_heartbeat_at > long_ago


def test_it_answers_404_to_an_unknown_heartbeat_token() -> None:
    probe, token = heartbeat()
    before = Probe.objects.get(pk=probe.pk).last_heartbeat_at
    response = Client().post(f"/heartbeat/{token}x")
    assert response.status_code == 404
    assert Probe.objects.get(pk=probe.pk).last_heartbeat_at == before


def test_it_does_not_take_a_heartbeat_by_its_hash() -> None:
    probe, _ = heartbeat()
    response = Client().post(f"/heartbeat/{probe.heartbeat_token_hash}")
    assert response.status_code == 404


def test_it_lets_a_script_post_a_heartbeat_without_csrf() -> None:
    _, token = heartbeat()
    response = Client(enforce_csrf_checks=True).post(f"/heartbeat/{token}")
    assert response.status_code == 200
